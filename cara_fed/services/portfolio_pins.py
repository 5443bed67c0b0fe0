"""Pin and unpin from a Mastodon client (``POST /api/v1/statuses/:id/pin``), beside the portfolio's mirrored
pins (services/portfolio_store.py, "Featured").

- A post that is not a work: pinned and unpinned as Mastodon does, at most ``MAX_MANUAL_PINS`` of them
  (Mastodon's StatusPinValidator; mirrored pins do not count), and followers get ``Add``/``Remove`` on the
  featured collection (Mastodon's StatusPinsController#distribute_add_activity!).
- A work: featured means "among the top works", so pinning a work moves it to the top of the portfolio, and
  unpinning a featured work moves it to just below the featured ones (the next work takes its pin). With
  fewer works than ``portfolio.featured_works`` every work stays featured, and unpinning one changes
  nothing.
"""

from __future__ import annotations

from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cara_fed.errors import ValidationFailed
from cara_fed.models import Account, StatusPin, Work
from cara_fed.services import portfolio_store
from cara_fed.settings import Settings

MAX_MANUAL_PINS = 5  # Mastodon's StatusPinValidator


def _check_pinnable(account: Account, status: Any) -> None:
    if status.account_id != account.id:
        raise ValidationFailed("Validation failed: Status can only pin own statuses")
    if status.reblog_of_id is not None:
        raise ValidationFailed("Validation failed: Status reblogs cannot be pinned")
    if status.visibility not in ("public", "unlisted"):
        raise ValidationFailed("Validation failed: Status private or direct posts cannot be pinned")


async def _manual_pin_count(account: Account, conn: BaseDBAsyncClient) -> int:
    work_posts = list(await Work.filter(account_id=account.id).using_db(conn).values_list("status_id", flat=True))
    return await StatusPin.filter(account_id=account.id).exclude(status_id__in=work_posts or [0]).using_db(
        conn).count()


async def pin(settings: Settings, account: Account, status: Any) -> None:
    """``status``: a Status or a StatusView (anything with id, account_id, reblog_of_id, visibility)."""
    _check_pinnable(account, status)
    async with in_transaction() as conn:
        await portfolio_store.lock_portfolio(account, conn)
        work = await Work.filter(status_id=status.id, account_id=account.id).using_db(conn).first()
        if work is not None:
            await portfolio_store.move_work(settings, account, work, 0, conn)
            return
        if await StatusPin.filter(account_id=account.id, status_id=status.id).using_db(conn).exists():
            return
        if await _manual_pin_count(account, conn) >= MAX_MANUAL_PINS:
            raise ValidationFailed(f"Validation failed: Status limit of {MAX_MANUAL_PINS} pinned posts reached")
        try:
            async with in_transaction() as inner:
                await StatusPin.create(account_id=account.id, status_id=status.id, using_db=inner)
        except IntegrityError:
            return  # pinned meanwhile: the result is the same
        await portfolio_store.send_featured(settings, account, "Add", status.id, conn)


async def unpin(settings: Settings, account: Account, status: Any) -> None:
    async with in_transaction() as conn:
        await portfolio_store.lock_portfolio(account, conn)
        work = await Work.filter(status_id=status.id, account_id=account.id).using_db(conn).first()
        if work is not None:
            featured = settings.portfolio.featured_works
            top = [int(i) for i in await portfolio_store.public_works(account, conn).order_by(
                "position", "id").limit(featured).values_list("id", flat=True)]  # type: ignore[arg-type]
            if work.id in top:
                await portfolio_store.move_work(settings, account, work, featured, conn)
            return
        if await StatusPin.filter(account_id=account.id, status_id=status.id).using_db(conn).delete():
            await portfolio_store.send_featured(settings, account, "Remove", status.id, conn)
