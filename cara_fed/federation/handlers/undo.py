"""Undo of a Follow, Like, Announce or Block. Only the sender's own rows are touched (security.md item 4):
an Undo whose inner activity names another actor is ignored, and rows are matched with the sender."""

from __future__ import annotations

from activitypub.parsing import ref, types
from cara_fed.federation.handlers.follows import undo_follow
from cara_fed.federation.handlers.moderation import undo_block
from cara_fed.federation.handlers.notes import local_status
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.models import Favourite, Status


@handles("Undo")
async def on_undo(incoming: Incoming) -> None:
    inner = incoming.activity.get("object")
    inner_types = types(inner)
    actor = incoming.actor
    if isinstance(inner, dict) and ref(inner.get("actor")) not in (None, actor.uri):
        return  # undoing someone else's activity (security.md item 4)
    if "Follow" in inner_types or not inner_types and ref(inner):
        await undo_follow(incoming, inner)
    if "Like" in inner_types or not inner_types:
        like_id = ref(inner)
        status = await local_status(incoming, ref(inner.get("object")) if isinstance(inner, dict) else None)
        query = Favourite.filter(account_id=actor.id)
        if status is not None:
            await query.filter(status_id=status.id).delete()
        elif like_id:
            await query.filter(uri=like_id).delete()
    if "Block" in inner_types:
        await undo_block(incoming, ref(inner), ref(inner.get("object")) if isinstance(inner, dict) else None)
    if "Announce" in inner_types or not inner_types:
        boost_id = ref(inner)
        if boost_id:
            await Status.filter(uri=boost_id, account_id=actor.id, reblog_of_id__not_isnull=True).delete()
