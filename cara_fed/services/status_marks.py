"""Bookmarks and pins: a viewer's own marks on statuses. Pins are public (``featured``) and federate as
Add/Remove when the featured collection changes (the portfolio issue builds on this)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from cara_fed.errors import ValidationFailed
from cara_fed.models import Account, Bookmark, StatusPin
from cara_fed.services.status_views import StatusView

MAX_PINNED = 5  # Mastodon's StatusPinValidator


async def bookmark(account: Account, status: StatusView) -> None:
    try:
        await Bookmark.get_or_create(account_id=account.id, status_id=status.id)
    except IntegrityError:
        pass  # a concurrent request made it: the result is the same


async def unbookmark(account: Account, status: StatusView) -> None:
    await Bookmark.filter(account_id=account.id, status_id=status.id).delete()


async def pin(account: Account, status: StatusView) -> None:
    if status.account_id != account.id:
        raise ValidationFailed("Validation failed: Status can only pin own statuses")
    if status.reblog_of_id is not None:
        raise ValidationFailed("Validation failed: Status reblogs cannot be pinned")
    if status.visibility not in ("public", "unlisted"):
        raise ValidationFailed("Validation failed: Status private or direct posts cannot be pinned")
    if await StatusPin.filter(account_id=account.id, status_id=status.id).exists():
        return
    if await StatusPin.filter(account_id=account.id).count() >= MAX_PINNED:
        raise ValidationFailed(f"Validation failed: Status limit of {MAX_PINNED} pinned posts reached")
    try:
        await StatusPin.create(account_id=account.id, status_id=status.id)
    except IntegrityError:
        pass


async def unpin(account: Account, status: StatusView) -> None:
    await StatusPin.filter(account_id=account.id, status_id=status.id).delete()
