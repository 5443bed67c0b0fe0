"""Bookmarks and pins: a viewer's own marks on statuses. Pins are public (``featured``) and federate as
Add/Remove when the featured collection changes; they live beside the portfolio's mirrored pins of the top
works (services/portfolio_pins.py says how the two coexist)."""

from __future__ import annotations

from tortoise.exceptions import IntegrityError

from cara_fed.models import Account, Bookmark
from cara_fed.services import portfolio_pins
from cara_fed.services.status_views import StatusView
from cara_fed.settings import Settings

MAX_PINNED = portfolio_pins.MAX_MANUAL_PINS  # Mastodon's StatusPinValidator (the artist's own pins)


async def bookmark(account: Account, status: StatusView) -> None:
    try:
        await Bookmark.get_or_create(account_id=account.id, status_id=status.id)
    except IntegrityError:
        pass  # a concurrent request made it: the result is the same


async def unbookmark(account: Account, status: StatusView) -> None:
    await Bookmark.filter(account_id=account.id, status_id=status.id).delete()


async def pin(account: Account, status: StatusView, settings: Settings) -> None:
    """As Mastodon, with ``Add`` to followers; a work's pin is the portfolio's (services/portfolio_pins.py)."""
    await portfolio_pins.pin(settings, account, status)


async def unpin(account: Account, status: StatusView, settings: Settings) -> None:
    await portfolio_pins.unpin(settings, account, status)
