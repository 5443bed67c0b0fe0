"""Following remote accounts: the request and its ``Follow`` activity are written together, so a crash
never leaves one without the other; the remote's Accept turns the request into a follow."""

from __future__ import annotations

from cara_fed.errors import ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.outgoing_follows import send_follow, send_unfollow
from cara_fed.models import Account, Follow, FollowRequest


async def follow(federation: Federation, follower: Account, target: Account) -> FollowRequest | Follow:
    """``follower`` (local) asks to follow ``target`` (remote). Returns the existing follow if any."""
    if target.domain is None or not target.inbox_url:
        raise ValidationFailed("only remote accounts are followed through ActivityPub")
    return await send_follow(federation.urls, follower, target)


async def unfollow(federation: Federation, follower: Account, target: Account) -> None:
    """Stop following (or asking to follow) ``target`` and tell its server with ``Undo{Follow}``."""
    await send_unfollow(federation.urls, follower, target)
