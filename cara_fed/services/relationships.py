"""Follow, unfollow, block, mute and follow-request decisions between a local account and any other
account, local or remote. Each decision's rows, notifications and outgoing activities are written in one
transaction (nothing is left half-done).

Mastodon's services are the model (app/services/follow_service.rb, unfollow_service.rb, block_service.rb,
mute_service.rb, authorize_follow_service.rb, reject_follow_service.rb,
remove_from_followers_service.rb): a notification belongs to its follow or request and goes with it
(``has_one :notification, as: :activity, dependent: :destroy``); authorizing a request notifies nobody;
a remote follower that is blocked or removed gets a ``Reject`` of its follow.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cara_fed.errors import Forbidden, NotFound, ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.federation.handlers.follows import accept_activity, follow_object
from cara_fed.federation.inbox import Incoming
from cara_fed.federation.outgoing_follows import send_unfollow
from cara_fed.models import Account, Block, Follow, FollowRequest, Mute, Notification
from cara_fed.services import following as remote_following

NOT_ALLOWED = "This action is not allowed"
MAX_MUTE_SECONDS = 10 * 365 * 24 * 3600


async def _blocked_either_way(a: Account, b: Account) -> bool:
    return await Block.filter(account_id=a.id, target_account_id=b.id).exists() or \
        await Block.filter(account_id=b.id, target_account_id=a.id).exists()


def _options(reblogs: bool | None, notify: bool | None) -> dict[str, bool]:
    changes: dict[str, bool] = {}
    if reblogs is not None:
        changes["show_reblogs"] = reblogs
    if notify is not None:
        changes["notify"] = notify
    return changes


async def follow(federation: Federation, follower: Account, target: Account, *, reblogs: bool | None = None,
                 notify: bool | None = None) -> None:
    """Follow ``target``: at once for an open local account (``follow`` notification), as a request for a
    locked one (``follow_request`` notification), and as a request answered by its server's ``Accept`` for
    a remote one. Following again changes the options only."""
    if follower.id == target.id:
        raise ValidationFailed("Validation failed: You cannot follow yourself")
    if await _blocked_either_way(follower, target):
        raise Forbidden(NOT_ALLOWED)
    options = _options(reblogs, notify)
    existing = await Follow.filter(account_id=follower.id, target_account_id=target.id).first()
    if existing is not None:
        if options:
            await Follow.filter(id=existing.id).update(**options)
        return
    if target.domain is not None:
        async with in_transaction():  # the request, its options and its Follow activity together
            pending = await remote_following.follow(federation, follower, target)
            if options:
                await type(pending).filter(id=pending.id).update(**options)
        return
    try:
        async with in_transaction() as conn:
            if target.locked or follower.silenced_at is not None:  # silenced: asks (Mastodon's FollowService)
                request = await FollowRequest.filter(account_id=follower.id, target_account_id=target.id
                                                     ).using_db(conn).first()
                if request is not None:
                    if options:
                        await FollowRequest.filter(id=request.id).using_db(conn).update(**options)
                    return
                await FollowRequest.create(account_id=follower.id, target_account_id=target.id, **options,
                                           using_db=conn)
                await Notification.create(account_id=target.id, from_account_id=follower.id, type="follow_request",
                                          using_db=conn)
                return
            await Follow.create(account_id=follower.id, target_account_id=target.id, **options, using_db=conn)
            await _forget_request(follower, target, conn)
            await Notification.create(account_id=target.id, from_account_id=follower.id, type="follow",
                                      using_db=conn)
    except IntegrityError:
        pass  # a concurrent request made the same follow: it exists, which is what was asked


async def _forget_request(requester: Account, target: Account, conn: BaseDBAsyncClient) -> None:
    await FollowRequest.filter(account_id=requester.id, target_account_id=target.id).using_db(conn).delete()
    await Notification.filter(account_id=target.id, from_account_id=requester.id, type="follow_request"
                              ).using_db(conn).delete()


async def _forget_follow(follower: Account, target: Account, conn: BaseDBAsyncClient) -> None:
    await Follow.filter(account_id=follower.id, target_account_id=target.id).using_db(conn).delete()
    await Notification.filter(account_id=target.id, from_account_id=follower.id, type="follow"
                              ).using_db(conn).delete()


async def unfollow(federation: Federation, follower: Account, target: Account) -> None:
    """Stop following (or withdraw the request); a remote account's server gets ``Undo{Follow}``."""
    if target.domain is not None:
        await remote_following.unfollow(federation, follower, target)
        return
    async with in_transaction() as conn:
        await _forget_follow(follower, target, conn)
        await _forget_request(follower, target, conn)


# -- answers to remote followers -------------------------------------------------------------------------

def _answer(federation: Federation, kind: str, local: Account, remote: Account, row: Follow | FollowRequest
            ) -> dict[str, Any]:
    """``Accept`` or ``Reject`` of ``remote``'s Follow of ``local``, built as the inbox handler builds its
    Accept (federation/handlers/follows.py), echoing the remote's own Follow id."""
    incoming = Incoming(federation=federation, activity={}, actor=remote, recipient=None)
    echoed = follow_object({"id": row.uri}, remote, federation.urls.actor(local.username))
    activity = accept_activity(incoming, local, row, echoed)  # type: ignore[arg-type]
    if kind == "Reject":
        activity["type"] = "Reject"
        activity["id"] = f"{federation.urls.actor(local.username)}#rejects/follows/{row.id}"
    return activity


async def _tell(federation: Federation, kind: str, local: Account, remote: Account, row: Follow | FollowRequest,
                conn: BaseDBAsyncClient) -> None:
    if remote.domain is not None and remote.inbox_url:
        await enqueue_deliveries(_answer(federation, kind, local, remote, row), local, [remote.inbox_url],
                                 using_db=conn)


# -- follow requests ----------------------------------------------------------------------------------------

async def _request_from(account: Account, requester_id: int) -> tuple[FollowRequest, Account]:
    request = await FollowRequest.filter(account_id=requester_id, target_account_id=account.id
                                         ).select_related("account").first()
    if request is None:
        raise NotFound("Record not found")
    return request, request.account


async def authorize_follow_request(federation: Federation, account: Account, requester_id: int) -> None:
    """``account`` accepts the request: the follow starts (a remote requester's server gets ``Accept``)."""
    request, requester = await _request_from(account, requester_id)
    async with in_transaction() as conn:
        follow_row = await Follow.filter(account_id=requester.id, target_account_id=account.id).using_db(conn).first()
        if follow_row is None:
            follow_row = await Follow.create(account_id=requester.id, target_account_id=account.id, uri=request.uri,
                                             show_reblogs=request.show_reblogs, notify=request.notify, using_db=conn)
        await _forget_request(requester, account, conn)
        await _tell(federation, "Accept", account, requester, _with_uri(follow_row, request.uri), conn)


def _with_uri(row: Follow, uri: str | None) -> Follow:
    """The follow as the Accept echoes it: the requester's Follow id."""
    if row.uri is None:
        row.uri = uri
    return row


async def reject_follow_request(federation: Federation, account: Account, requester_id: int) -> None:
    """``account`` declines the request (a remote requester's server gets ``Reject``)."""
    request, requester = await _request_from(account, requester_id)
    async with in_transaction() as conn:
        await _forget_request(requester, account, conn)
        await _tell(federation, "Reject", account, requester, request, conn)


async def remove_from_followers(federation: Federation, account: Account, follower: Account) -> None:
    """``follower`` no longer follows ``account`` (a remote follower's server gets ``Reject``)."""
    async with in_transaction() as conn:
        row = await Follow.filter(account_id=follower.id, target_account_id=account.id).using_db(conn).first()
        if row is None:
            return
        await _forget_follow(follower, account, conn)
        await _tell(federation, "Reject", account, follower, row, conn)


# -- blocks and mutes ---------------------------------------------------------------------------------------

async def block(federation: Federation, account: Account, target: Account) -> None:
    """Block ``target``: follows and requests end both ways. A remote target's server is told what it can
    be told with the activities we send today: ``Undo{Follow}`` for our follow, ``Reject`` for theirs.
    (No ``Block`` activity yet: the federation package has no sender for it.)"""
    if account.id == target.id:
        return  # Mastodon ignores a block of oneself
    async with in_transaction() as conn:
        if target.domain is not None and await _follows_or_requests(account, target):
            await send_unfollow(federation.urls, account, target)  # our rows go, the Undo is queued (nested)
        await Block.get_or_create(account_id=account.id, target_account_id=target.id, using_db=conn)
        await _forget_follow(account, target, conn)
        await _forget_request(account, target, conn)
        theirs = await Follow.filter(account_id=target.id, target_account_id=account.id).using_db(conn).first()
        request = await FollowRequest.filter(account_id=target.id, target_account_id=account.id).using_db(conn).first()
        await _forget_follow(target, account, conn)
        await _forget_request(target, account, conn)
        for row in (theirs, request):
            if row is not None:
                await _tell(federation, "Reject", account, target, row, conn)


async def _follows_or_requests(account: Account, target: Account) -> bool:
    return await Follow.filter(account_id=account.id, target_account_id=target.id).exists() or \
        await FollowRequest.filter(account_id=account.id, target_account_id=target.id).exists()


async def unblock(account: Account, target: Account) -> None:
    await Block.filter(account_id=account.id, target_account_id=target.id).delete()


async def mute(account: Account, target: Account, *, notifications: bool = True, duration: int = 0) -> None:
    """Mute ``target`` (and its notifications unless ``notifications`` is False) for ``duration`` seconds,
    0 meaning until unmuted. Muting again replaces the options."""
    if account.id == target.id:
        return
    if duration < 0 or duration > MAX_MUTE_SECONDS:
        raise ValidationFailed("Validation failed: duration is out of range")
    expires_at = datetime.now(UTC) + timedelta(seconds=duration) if duration else None
    async with in_transaction() as conn:
        updated = await Mute.filter(account_id=account.id, target_account_id=target.id).using_db(conn).update(
            hide_notifications=notifications, expires_at=expires_at)
        if not updated:
            await Mute.create(account_id=account.id, target_account_id=target.id, hide_notifications=notifications,
                              expires_at=expires_at, using_db=conn)


async def unmute(account: Account, target: Account) -> None:
    await Mute.filter(account_id=account.id, target_account_id=target.id).delete()
