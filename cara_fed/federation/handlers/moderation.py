"""Block, Flag (a report from another server) and Move (an account moving to a new actor)."""

from __future__ import annotations

from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError
from activitypub.parsing import as_list, ref
from cara_fed.federation.actors import ActorUnavailable
from cara_fed.federation.domains import domain_policy
from cara_fed.federation.handlers.follows import local_target
from cara_fed.federation.handlers.notes import local_status
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.federation.outgoing_follows import send_follow, send_unfollow
from cara_fed.federation.remote_actors import plain_text
from cara_fed.models import Account, Block, Follow, FollowRequest, Mention, Report, Status

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
    """A report for our admins, as Mastodon's ActivityPub::Activity::Flag: ignored when the sender's domain
    rejects reports (or is suspended); one report per reported local account, with those of its posts
    the object lists (an account named only through its posts counts as named); suspended accounts are not
    reported; the comment is kept as plain text (5000 characters at most).

    Remote reporters are usually an instance actor (Mastodon anonymises), so posts are attached under
    Mastodon's relaxed rule: public or unlisted, private when the account has followers on the reporter's
    domain, or any post mentioning someone of that domain (ReportService#reported_status_ids)."""
    actor = incoming.actor
    policy = await domain_policy(actor.domain)
    if policy is not None and policy.reports_rejected:
        return
    objects = [ref(o) for o in as_list(incoming.activity.get("object"))]
    accounts: dict[int, Account] = {}
    statuses: dict[int, list[Status]] = {}
    for uri in (o for o in objects[:MAX_REPORTED_STATUSES] if o):
        account = await local_target(incoming, uri)
        if account is not None:
            accounts.setdefault(account.id, account)
            continue
        status = await local_status(incoming, uri)
        if status is not None and status.account.suspended_at is None and \
                await _reporter_may_see(status, actor):
            accounts.setdefault(status.account_id, status.account)
            statuses.setdefault(status.account_id, []).append(status)
    flag_id = ref(incoming.activity)
    comment = plain_text(incoming.activity.get("content"), 5000)
    for n, target in enumerate(accounts.values()):
        # Report.uri is unique: a Flag naming several accounts files one report each, told apart.
        uri = flag_id if n == 0 or flag_id is None else f"{flag_id}#account-{target.id}"
        values = {"target_account_id": target.id, "status_ids": [s.id for s in statuses.get(target.id, [])],
                  "comment": comment}
        if uri is None:
            await Report.create(account_id=actor.id, **values)
        else:
            await Report.get_or_create(uri=uri, account_id=actor.id, defaults=values)


async def _reporter_may_see(status: Status, reporter: Account) -> bool:
    if status.visibility in ("public", "unlisted"):
        return True
    domain = reporter.domain or ""
    if await Mention.filter(status_id=status.id, account__domain=domain).exists():
        return True
    return status.visibility == "private" and await Follow.filter(
        target_account_id=status.account_id, account__domain=domain).exists()


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
