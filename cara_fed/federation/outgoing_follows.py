"""Our side of following a remote account: the request row and its ``Follow`` (or ``Undo``) activity are
written in one transaction. Used by the follow service and by the Move handler."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.federation.contexts import AS_CONTEXT
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Follow, FollowRequest


async def send_follow(urls: LocalUrls, follower: Account, target: Account) -> FollowRequest | Follow:
    existing = await Follow.filter(account_id=follower.id, target_account_id=target.id).first()
    if existing is not None:
        return existing
    pending = await FollowRequest.filter(account_id=follower.id, target_account_id=target.id).first()
    if pending is not None:
        return pending
    async with in_transaction() as conn:
        request = await FollowRequest.create(account_id=follower.id, target_account_id=target.id, using_db=conn)
        request.uri = urls.follow_activity(request.id)
        await request.save(update_fields=["uri"], using_db=conn)
        activity = {"@context": AS_CONTEXT, "id": request.uri, "type": "Follow",
                    "actor": urls.actor(follower.username), "object": target.uri}
        await enqueue_deliveries(activity, follower, [target.inbox_url or ""], using_db=conn)
    return request


async def send_unfollow(urls: LocalUrls, follower: Account, target: Account) -> None:
    async with in_transaction() as conn:
        uris = [f.uri for f in await Follow.filter(account_id=follower.id, target_account_id=target.id)
                .using_db(conn)] + [r.uri for r in await FollowRequest.filter(
                    account_id=follower.id, target_account_id=target.id).using_db(conn)]
        await Follow.filter(account_id=follower.id, target_account_id=target.id).using_db(conn).delete()
        await FollowRequest.filter(account_id=follower.id, target_account_id=target.id).using_db(conn).delete()
        if target.domain is None or not target.inbox_url:
            return
        for uri in uris:
            undo: dict[str, Any] = {
                "@context": AS_CONTEXT, "id": f"{uri}/undo", "type": "Undo", "actor": urls.actor(follower.username),
                "object": {"id": uri, "type": "Follow", "actor": urls.actor(follower.username), "object": target.uri}}
            await enqueue_deliveries(undo, follower, [target.inbox_url], using_db=conn)
