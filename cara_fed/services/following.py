"""Following remote accounts: the request and its ``Follow`` activity are written together, so a crash
never leaves one without the other; the remote's Accept turns the request into a follow."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.errors import ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.contexts import AS_CONTEXT
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.models import Account, Follow, FollowRequest


async def follow(federation: Federation, follower: Account, target: Account) -> FollowRequest | Follow:
    """``follower`` (local) asks to follow ``target`` (remote). Returns the existing follow if any."""
    if target.domain is None or not target.inbox_url:
        raise ValidationFailed("only remote accounts are followed through ActivityPub")
    existing = await Follow.filter(account_id=follower.id, target_account_id=target.id).first()
    if existing is not None:
        return existing
    pending = await FollowRequest.filter(account_id=follower.id, target_account_id=target.id).first()
    if pending is not None:
        return pending
    urls = federation.urls
    async with in_transaction() as conn:
        request = await FollowRequest.create(account_id=follower.id, target_account_id=target.id, using_db=conn)
        request.uri = urls.follow_activity(request.id)
        await request.save(update_fields=["uri"], using_db=conn)
        activity = {"@context": AS_CONTEXT, "id": request.uri, "type": "Follow",
                    "actor": urls.actor(follower.username), "object": target.uri}
        await enqueue_deliveries(activity, follower, [target.inbox_url], using_db=conn)
    return request


async def unfollow(federation: Federation, follower: Account, target: Account) -> None:
    """Stop following (or asking to follow) ``target`` and tell its server with ``Undo{Follow}``."""
    urls = federation.urls
    async with in_transaction() as conn:
        follow_uris = [r.uri for r in await Follow.filter(account_id=follower.id, target_account_id=target.id)
                       .using_db(conn)] + [r.uri for r in await FollowRequest.filter(
                           account_id=follower.id, target_account_id=target.id).using_db(conn)]
        await Follow.filter(account_id=follower.id, target_account_id=target.id).using_db(conn).delete()
        await FollowRequest.filter(account_id=follower.id, target_account_id=target.id).using_db(conn).delete()
        if target.domain is None or not target.inbox_url:
            return
        for uri in follow_uris:
            undo: dict[str, Any] = {
                "@context": AS_CONTEXT, "id": f"{uri}/undo", "type": "Undo", "actor": urls.actor(follower.username),
                "object": {"id": uri, "type": "Follow", "actor": urls.actor(follower.username), "object": target.uri}}
            await enqueue_deliveries(undo, follower, [target.inbox_url], using_db=conn)
