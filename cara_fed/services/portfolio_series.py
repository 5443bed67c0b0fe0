"""Series: named, ordered groups of an artist's works (a work is in at most one). Each is an
``OrderedCollection`` (federation/portfolio.py) listed by the portfolio collection; creating, renaming,
reordering and deleting one tells followers with an ``Update`` (of the portfolio when its list of series
changes, of the series when its name or order does), in the same transaction.

Works join and leave series through services.portfolio.add_work/update_work (``series_id``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F
from tortoise.transactions import in_transaction

from cara_fed.errors import ValidationFailed
from cara_fed.models import Account, Series, Work
from cara_fed.services import portfolio_store
from cara_fed.services.portfolio_store import UNSET, own_series
from cara_fed.services.portfolio_views import SeriesView, find_series, list_series
from cara_fed.settings import Settings

NAME_MAX = 255
DESCRIPTION_MAX = 2000
SERIES_MAX = 200  # per artist


def _name(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValidationFailed("Validation failed: Name can't be blank")
    name = " ".join(value.split())
    if len(name) > NAME_MAX:
        raise ValidationFailed(f"Validation failed: Name is too long (maximum is {NAME_MAX} characters)")
    return name


def _description(value: Any) -> str:
    if not isinstance(value, str):
        raise ValidationFailed("Validation failed: description must be a string")
    if len(value) > DESCRIPTION_MAX:
        raise ValidationFailed(f"Validation failed: description is too long (maximum is {DESCRIPTION_MAX} "
                               "characters)")
    return value.strip()


async def _view(account: Account, series_id: int) -> SeriesView:
    return await find_series(series_id, account_id=account.id)


async def get_series(account: Account | int, series_id: int) -> SeriesView:
    """A series of the account (anyone may read it); NotFound otherwise."""
    return await find_series(series_id, account_id=account if isinstance(account, int) else account.id)


async def _taken(account: Account, name: str, conn: Any, except_id: int | None = None) -> bool:
    query = Series.filter(account_id=account.id, name=name).using_db(conn)
    if except_id is not None:
        query = query.exclude(id=except_id)
    return await query.exists()


async def create_series(settings: Settings, account: Account, name: str, description: str = "") -> SeriesView:
    name, description = _name(name), _description(description)
    try:
        async with in_transaction() as conn:
            await portfolio_store.lock_portfolio(account, conn)
            if await _taken(account, name, conn):
                raise ValidationFailed("Validation failed: Name has already been taken")
            count = await Series.filter(account_id=account.id).using_db(conn).count()
            if count >= SERIES_MAX:
                raise ValidationFailed(f"Validation failed: an artist has at most {SERIES_MAX} series")
            last = await Series.filter(account_id=account.id).using_db(conn).order_by("-position").first()
            series = await Series.create(account=account, name=name, description=description,
                                         position=last.position + 1 if last else 0, using_db=conn)
            await portfolio_store.send_portfolio_update(settings, account, conn)
    except IntegrityError:  # the same name, made concurrently
        raise ValidationFailed("Validation failed: Name has already been taken") from None
    return await _view(account, series.id)


async def update_series(settings: Settings, account: Account, series_id: int, *, name: Any = UNSET,
                        description: Any = UNSET) -> SeriesView:
    series = await own_series(account, series_id)
    changes: dict[str, str] = {}
    if name is not UNSET:
        changes["name"] = _name(name)
    if description is not UNSET:
        changes["description"] = _description(description)
    if changes:
        try:
            async with in_transaction() as conn:
                await portfolio_store.lock_portfolio(account, conn)
                if "name" in changes and await _taken(account, changes["name"], conn, series.id):
                    raise ValidationFailed("Validation failed: Name has already been taken")
                await Series.filter(id=series.id).using_db(conn).update(**changes)
                series.update_from_dict(changes)
                await portfolio_store.send_series_update(settings, account, series, conn)
        except IntegrityError:
            raise ValidationFailed("Validation failed: Name has already been taken") from None
    return await _view(account, series.id)


async def reorder_series(settings: Settings, account: Account, series_ids: Sequence[int]) -> list[SeriesView]:
    """The listed series first, in that order, then the others as they were; Update of the portfolio."""
    async with in_transaction() as conn:
        await portfolio_store.lock_portfolio(account, conn)
        rows = await Series.filter(account_id=account.id).using_db(conn).order_by("position", "id")
        order = portfolio_store.new_order([s.id for s in rows], list(series_ids))
        by_id = {s.id: s for s in rows}
        changed = False
        for position, series_id in enumerate(order):
            if by_id[series_id].position != position:
                await Series.filter(id=series_id).using_db(conn).update(position=position)
                changed = True
        if changed:
            await portfolio_store.send_portfolio_update(settings, account, conn)
    return await list_series(account)


async def delete_series(settings: Settings, account: Account, series_id: int) -> None:
    """The series goes; its works stay in the portfolio, in no series. Update of the portfolio."""
    await own_series(account, series_id)
    async with in_transaction() as conn:
        await portfolio_store.lock_portfolio(account, conn)
        series = await own_series(account, series_id, conn)  # as it is now: the order may have changed
        await Work.filter(series_id=series.id).using_db(conn).update(series_id=None, series_position=0,
                                                                     updated_at=portfolio_store.now())
        await Series.filter(id=series.id).using_db(conn).delete()
        await Series.filter(account_id=account.id, position__gt=series.position).using_db(conn).update(
            position=F("position") - 1)
        await portfolio_store.send_portfolio_update(settings, account, conn)
