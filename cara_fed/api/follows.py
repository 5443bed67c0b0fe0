"""Follow, unfollow, block, mute, remove from followers and private notes (docs: methods/accounts), and the
signed-in account's follow requests (docs: methods/follow_requests). Every action answers the
Relationship as it now stands."""

from __future__ import annotations

from quart import Blueprint, Response

from cara_fed.api.accounts import ACCOUNTS_LIMIT, ACCOUNTS_MAX, federation, path_id, relationship, target, urls
from cara_fed.api.auth import authorized, me
from cara_fed.api.entities.accounts import accounts_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params
from cara_fed.models import Account
from cara_fed.services import account_views, relationships
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_follows", __name__)


@bp.post("/api/v1/accounts/<account_id>/follow")
@authorized("write:follows")
async def follow(account_id: str) -> Response:
    """``reblogs`` and ``notify`` set the follow's options (also when already following); ``languages[]``
    is accepted and not used."""
    other = await target(account_id)
    p = await params()
    await relationships.follow(federation(), me(), other, reblogs=p.bool("reblogs"), notify=p.bool("notify"))
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/unfollow")
@authorized("write:follows")
async def unfollow(account_id: str) -> Response:
    other = await target(account_id)
    await relationships.unfollow(federation(), me(), other)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/remove_from_followers")
@authorized("write:follows")
async def remove_from_followers(account_id: str) -> Response:
    other = await target(account_id)
    await relationships.remove_from_followers(federation(), me(), other)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/block")
@authorized("write:blocks")
async def block(account_id: str) -> Response:
    other = await target(account_id)
    await relationships.block(federation(), me(), other)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/unblock")
@authorized("write:blocks")
async def unblock(account_id: str) -> Response:
    other = await target(account_id)
    await relationships.unblock(me(), other)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/mute")
@authorized("write:mutes")
async def mute(account_id: str) -> Response:
    """``notifications`` (default true): mute their notifications too; ``duration`` seconds, 0 = forever."""
    other = await target(account_id)
    p = await params()
    notifications = p.bool("notifications", True)
    duration = p.int("duration", 0, minimum=0) or 0
    await relationships.mute(me(), other, notifications=notifications is not False, duration=duration)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/unmute")
@authorized("write:mutes")
async def unmute(account_id: str) -> Response:
    other = await target(account_id)
    await relationships.unmute(me(), other)
    return await relationship(me(), other)


@bp.post("/api/v1/accounts/<account_id>/note")
@authorized("write:accounts")
async def note(account_id: str) -> Response:
    """Private notes on accounts are not kept yet: the comment is accepted and the relationship returned."""
    return await relationship(me(), await target(account_id))


# -- follow requests ------------------------------------------------------------------------------------------

@bp.get("/api/v1/follow_requests")
@authorized("read:follows")
async def follow_requests() -> Response:
    rows = await account_views.follow_requests(me(), page_params(ACCOUNTS_LIMIT, ACCOUNTS_MAX))
    entities = await accounts_to_api([r.account for r in rows], urls())
    return with_link(json_response(entities), [r.cursor for r in rows])


async def _requester_relationship(requester_id: int) -> Response:
    requester = await Account.get(id=requester_id)
    return await relationship(me(), requester)


@bp.post("/api/v1/follow_requests/<account_id>/authorize")
@authorized("write:follows")
async def authorize(account_id: str) -> Response:
    requester_id = path_id(account_id)
    await relationships.authorize_follow_request(federation(), me(), requester_id)
    return await _requester_relationship(requester_id)


@bp.post("/api/v1/follow_requests/<account_id>/reject")
@authorized("write:follows")
async def reject(account_id: str) -> Response:
    requester_id = path_id(account_id)
    await relationships.reject_follow_request(federation(), me(), requester_id)
    return await _requester_relationship(requester_id)
