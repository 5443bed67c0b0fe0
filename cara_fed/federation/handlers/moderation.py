"""Block, Flag (a report from another server) and Move (an account moving to a new actor)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError
from activitypub.parsing import as_list, ref
from cara_fed.federation.actors import ActorUnavailable
from cara_fed.federation.handlers.follows import local_target
from cara_fed.federation.handlers.notes import local_status
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.federation.outgoing_follows import send_follow, send_unfollow
from cara_fed.federation.remote_actors import plain_text
from cara_fed.models import Account, Block, Follow, FollowRequest, Report

MAX_REPORTED_STATUSES = 100


@handles("Block")
async def on_block(incoming: Incoming) -> None:
    """A remote account blocks one of ours: the block is kept and follows are severed both ways."""
    target = await local_target(incoming, ref(incoming.activity.get("object")))
    if target is None:
        return
    actor = incoming.actor
    async with in_transaction() as conn:
        await Block.get_or_create(account_id=actor.id, target_account_id=target.id,
                                  defaults={"uri": ref(incoming.activity)}, using_db=conn)
        for model in (Follow, FollowRequest):
            await model.filter(account_id=actor.id, target_account_id=target.id).using_db(conn).delete()
            await model.filter(account_id=target.id, target_account_id=actor.id).using_db(conn).delete()


async def undo_block(incoming: Incoming, block_id: str | None, target_uri: str | None) -> None:
    target = await local_target(incoming, target_uri)
    query = Block.filter(account_id=incoming.actor.id)
    if target is not None:
        await query.filter(target_account_id=target.id).delete()
    elif block_id:
        await query.filter(uri=block_id).delete()


@handles("Flag")
async def on_flag(incoming: Incoming) -> None:
    """A report for our admins (Mastodon forwards them from its instance actor): the reported local
    account and which of its posts, with the comment as plain text."""
    objects = [ref(o) for o in as_list(incoming.activity.get("object"))]
    accounts: list[Account] = []
    status_ids: list[int] = []
    for uri in (o for o in objects[:MAX_REPORTED_STATUSES] if o):
        account = await local_target(incoming, uri)
        if account is not None:
            accounts.append(account)
            continue
        status = await local_status(incoming, uri)
        if status is not None:
            status_ids.append(status.id)
            accounts.append(status.account)
    if not accounts:
        return
    target = accounts[0]
    if any(a.id != target.id for a in accounts):
        return  # one report is about one account (as Mastodon files them)
    await Report.get_or_create(
        uri=ref(incoming.activity), account_id=incoming.actor.id,
        defaults={"target_account_id": target.id, "status_ids": status_ids,
                  "comment": plain_text(incoming.activity.get("content"), 5000)})


@handles("Move")
async def on_move(incoming: Incoming) -> None:
    """The actor moved: if the new actor confirms (lists the old one in ``alsoKnownAs``), our local
    followers follow the new account and leave the old one, as Mastodon does."""
    old = incoming.actor
    if ref(incoming.activity.get("object")) != old.uri:
        return
    new_uri = ref(incoming.activity.get("target"))
    if new_uri is None or new_uri == old.uri or incoming.federation.urls.is_local(new_uri):
        return  # a remote account cannot move onto one of ours
    
    try:
        document = await incoming.federation.actors.fetch_document(new_uri)
    except FetchError as exc:  # an unreachable target: the job is retried later
        raise ActorUnavailable(f"move target {new_uri}: {exc}") from exc
    try:
        new = await incoming.federation.actors.actor_from_document(document)
    except ActorUnavailable:
        return  # not an actor we can use: no move
    if old.uri not in {ref(a) for a in as_list(document.get("alsoKnownAs"))}:
        return  # the new account does not vouch for the old one
    old.moved_to = new
    await old.save(update_fields=["moved_to_id"])
    followers = await Follow.filter(target_account_id=old.id, account__domain=None).select_related("account")
    for follow in followers:
        await send_follow(incoming.federation.urls, follow.account, new)
        await send_unfollow(incoming.federation.urls, follow.account, old)
