"""Update (of a post or of the actor itself) and Add/Remove (pins in the actor's ``featured``); changes to
another cara_fed's portfolio (Add/Remove/Update of its collections) go to federation/portfolio_remote.py.

Only the owner may update (security.md item 3): a post is matched by its uri AND the sender's account; an
actor update must be the sender's own actor document. The audience of an existing post never widens.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.parsing import ref, types
from cara_fed.federation.handlers.notes import NOTE_TYPES, MAX_CONTENT_CHARS, known_status, object_from_origin, store_note
from cara_fed.federation import portfolio_remote
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.federation.remote_actors import InvalidActor, ap_to_account_fields, origin, plain_text
from cara_fed.models import Status, StatusPin
from cara_fed.sanitize import sanitize_html


@handles("Update")
async def on_update(incoming: Incoming) -> None:
    value = incoming.activity.get("object")
    object_types = types(value)
    if ref(value) == incoming.actor.uri and isinstance(value, dict):
        await _update_actor(incoming, value)
    elif object_types & NOTE_TYPES:
        await _update_note(incoming, value)
    elif object_types & portfolio_remote.COLLECTION_TYPES:  # a portfolio or series of theirs changed order
        await portfolio_remote.collection_changed(incoming, ref(value))


async def _update_actor(incoming: Incoming, document: dict[str, Any]) -> None:
    """The actor sent its new profile, signed: take it as is (including a rotated key, which is how a
    legitimate key change arrives: security.md item 11)."""
    try:
        fields = ap_to_account_fields(document, incoming.federation.urls.base)
    except InvalidActor:
        return
    actor = incoming.actor
    old_key = actor.key_id
    for name in ("uri", "domain", "username"):  # identity never changes through an Update
        fields.pop(name, None)
    actor.update_from_dict({**fields, "last_fetched_at": datetime.now(UTC)})
    await actor.save()
    if old_key and old_key != actor.key_id:
        incoming.federation.actors.keys.invalidate(old_key)
    await portfolio_remote.actor_seen(actor, document, reason=ref(incoming.activity) or "update")


async def _update_note(incoming: Incoming, value: Any) -> None:
    document = await object_from_origin(incoming, value)
    uri = ref(document)
    if document is None or uri is None:
        return
    status = await Status.filter(uri=uri, account_id=incoming.actor.id, deleted_at=None).first()
    if status is None:
        return  # not ours to update, or unknown (Mastodon ignores an Update before its Create)
    content = document.get("content") if isinstance(document.get("content"), str) else ""
    status.content = sanitize_html(content[:MAX_CONTENT_CHARS])
    status.spoiler_text = plain_text(document.get("summary"), 500)
    status.sensitive = document.get("sensitive") is True
    status.edited_at = datetime.now(UTC)
    await status.save(update_fields=["content", "spoiler_text", "sensitive", "edited_at"])
    await portfolio_remote.note_updated(status, document)  # a work's title, medium, licence...


def _is_featured_collection(incoming: Incoming) -> bool:
    target = ref(incoming.activity.get("target"))
    return target is not None and target == incoming.actor.featured_url


@handles("Add")
async def on_add(incoming: Incoming) -> None:
    if not _is_featured_collection(incoming):
        await portfolio_remote.collection_changed(incoming, ref(incoming.activity.get("target")))
        return
    object_id = ref(incoming.activity.get("object"))
    if object_id is None or origin(object_id) != origin(incoming.actor.uri or ""):
        return
    status = await known_status(incoming, object_id)
    if status is None:
        document = await object_from_origin(incoming, object_id)
        status = await store_note(incoming, document) if document else None
    if status is not None and status.account_id == incoming.actor.id:
        async with in_transaction() as conn:
            await StatusPin.get_or_create(account_id=incoming.actor.id, status_id=status.id, using_db=conn)


@handles("Remove")
async def on_remove(incoming: Incoming) -> None:
    if not _is_featured_collection(incoming):
        await portfolio_remote.collection_changed(incoming, ref(incoming.activity.get("target")))
        return
    object_id = ref(incoming.activity.get("object"))
    if object_id is not None:
        await StatusPin.filter(account_id=incoming.actor.id, status__uri=object_id).delete()
