"""The portfolio's writes, each inside the caller's transaction together with the activities that tell
followers (DESIGN.md section 3, transactional outbox): attach a post as a work, detach it, reorder, move a
work between series, and keep ``featured`` mirroring the top works.

Order: ``Work.position`` is dense (0 first) per account and ``series_position`` dense per series. A new
work goes to the top (position 0): the newest work is shown first and featured, as an artist posting a new
piece expects; the studio and the API reorder from there.

Featured (``StatusPin``): the top ``settings.portfolio.featured_works`` works are pinned ("mirrored pins"),
in portfolio order; every change of that set sends ``Add``/``Remove`` on the featured collection, as
Mastodon does for pins. Pins of posts that are not works are the artist's own ("manual pins",
services/portfolio_pins.py) and are never touched here: featured holds the mirrored pins plus the manual
ones. A pin is told apart by its post: a work's post is the portfolio's to pin or unpin.

Concurrency: every write first locks the account's row (PostgreSQL ``FOR NO KEY UPDATE``; SQLite transactions
already begin IMMEDIATE, one writer at a time: cara_fed/sqlite_backend.py), so two changes of one portfolio
never interleave their renumbering.

Also here: the hooks services/posts.py calls (``join_new_post`` when a post is made, ``post_deleted`` when
one is deleted), since the hashtag rule and an explicitly added work both make the work in the post's own
transaction (posts.py stays unaware of what a work is beyond passing ``WorkFields`` along).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F
from tortoise.queryset import QuerySet

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.delivery import enqueue_fanout
from cara_fed.federation.portfolio import DEFAULT_LICENCE, collection_change, collection_update, portfolio_collection, \
    series_collection
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, MediaAttachment, Series, Status, StatusPin, Tag, Work
from cara_fed.services.portfolio_text import fields_from_text
from cara_fed.services.portfolio_views import list_series
from cara_fed.settings import Settings

PUBLIC_VISIBILITIES = ("public", "unlisted")


@dataclass(frozen=True)
class WorkFields:
    """What a work says beyond its post (checked by services/portfolio.py before it gets here)."""
    title: str = ""
    description: str = ""
    medium: str = ""
    year: int | None = None
    licence: str = DEFAULT_LICENCE
    series_id: int | None = None


def now() -> datetime:
    return datetime.now(UTC)


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Final[Any] = _Unset()  # "leave as it is" (services.portfolio.update_work, portfolio_series.update_series)


async def lock_portfolio(account: Account, conn: BaseDBAsyncClient) -> None:
    """Serialise the changes of one portfolio (see the module docstring). NO KEY UPDATE: the transaction may
    already hold the KEY SHARE lock its own inserts (a post) took on the account row, as may a concurrent
    one; FOR UPDATE would wait for the other's KEY SHARE while it waits for ours (a deadlock)."""
    if conn.capabilities.dialect == "postgres":
        await conn.execute_query("SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE", [account.id])


async def _send(activity: dict[str, object], account: Account, conn: BaseDBAsyncClient) -> None:
    await enqueue_fanout(activity, account, using_db=conn)  # type: ignore[arg-type]


def _note(urls: LocalUrls, account: Account, status_id: int) -> str:
    return urls.status(account.username, status_id)


def public_works(account: Account, conn: BaseDBAsyncClient | None = None) -> QuerySet[Work]:
    """The works anyone may see (their posts public or unlisted, not deleted), as a query."""
    return Work.filter(account_id=account.id, status__deleted_at=None,
                       status__visibility__in=PUBLIC_VISIBILITIES).using_db(conn)


async def send_portfolio_update(settings: Settings, account: Account, conn: BaseDBAsyncClient) -> None:
    """``Update`` of the portfolio collection (its order or its list of series changed)."""
    urls = LocalUrls(settings)
    total = await public_works(account, conn).count()
    series = await list_series(account)  # raw queries on the current connection: this transaction's
    document = portfolio_collection(account, total, [(s, s.work_count) for s in series], urls)
    await _send(collection_update(account, document, urls), account, conn)


async def send_series_update(settings: Settings, account: Account, series: Series,
                             conn: BaseDBAsyncClient) -> None:
    urls = LocalUrls(settings)
    total = await public_works(account, conn).filter(series_id=series.id).count()
    await _send(collection_update(account, series_collection(account, series, total, urls), urls), account, conn)


# -- featured ---------------------------------------------------------------------------------------------

async def send_featured(settings: Settings, account: Account, kind: str, status_id: int,
                        conn: BaseDBAsyncClient) -> None:
    """``Add``/``Remove`` of a post on the featured collection (a pin or an unpin)."""
    urls = LocalUrls(settings)
    await _send(collection_change(kind, account, _note(urls, account, status_id), urls.featured(account.username),
                                  urls), account, conn)


async def sync_featured(settings: Settings, account: Account, conn: BaseDBAsyncClient, *,
                        dropped_status_ids: Sequence[int] = ()) -> None:
    """Make the mirrored pins the top works, in portfolio order, telling followers what entered and what
    left. ``dropped_status_ids``: posts that just stopped being works (their pins were mirrored ones)."""
    ordered = list(await public_works(account, conn).order_by("position", "id").values_list("status_id", flat=True))
    top = [int(s) for s in ordered[:settings.portfolio.featured_works]]  # type: ignore[arg-type]
    work_posts = {int(s) for s in await Work.filter(account_id=account.id).using_db(conn).values_list(
        "status_id", flat=True)} | set(dropped_status_ids)  # type: ignore[arg-type]
    pins = await StatusPin.filter(account_id=account.id).using_db(conn).order_by("-id")
    mirrored = [p.status_id for p in pins if p.status_id in work_posts]
    if mirrored == top:
        return
    # Re-made newest last-first, so that featured (served newest pin first) lists them in portfolio order.
    await StatusPin.filter(account_id=account.id, status_id__in=mirrored or [0]).using_db(conn).delete()
    for status_id in reversed(top):
        await StatusPin.create(account_id=account.id, status_id=status_id, using_db=conn)
    for status_id in (s for s in mirrored if s not in top):
        await send_featured(settings, account, "Remove", status_id, conn)
    for status_id in (s for s in top if s not in mirrored):
        await send_featured(settings, account, "Add", status_id, conn)


# -- works ------------------------------------------------------------------------------------------------

async def _series_end(series_id: int, conn: BaseDBAsyncClient) -> int:
    last = await Work.filter(series_id=series_id).using_db(conn).order_by("-series_position").first()
    return last.series_position + 1 if last is not None else 0


async def own_series(account: Account, series_id: int, conn: BaseDBAsyncClient | None = None) -> Series:
    series = await Series.filter(id=series_id, account_id=account.id).using_db(conn).first()
    if series is None:
        raise NotFound("Record not found")
    return series


async def locked_work(account: Account, work_id: int, conn: BaseDBAsyncClient) -> Work:
    """The portfolio locked, and the work as it is now (a change that ran meanwhile may have moved it)."""
    await lock_portfolio(account, conn)
    work = await Work.filter(id=work_id, account_id=account.id).using_db(conn).first()
    if work is None:
        raise NotFound("Record not found")
    return work


async def attach_work(settings: Settings, account: Account, status: Status, fields: WorkFields,
                      conn: BaseDBAsyncClient) -> Work:
    """Make ``status`` (the account's own public or unlisted post) a work at the top of the portfolio."""
    await lock_portfolio(account, conn)
    if await Work.filter(status_id=status.id).using_db(conn).exists():
        raise ValidationFailed("Validation failed: this post is already in the portfolio")
    urls = LocalUrls(settings)
    series_position = 0
    if fields.series_id is not None:
        await own_series(account, fields.series_id, conn)
        series_position = await _series_end(fields.series_id, conn)
    await Work.filter(account_id=account.id).using_db(conn).update(position=F("position") + 1, updated_at=now())
    work = await Work.create(account=account, status_id=status.id, title=fields.title,
                             description=fields.description, medium=fields.medium, year=fields.year,
                             licence=fields.licence, series_id=fields.series_id, position=0,
                             series_position=series_position, using_db=conn)
    note = _note(urls, account, status.id)
    await _send(collection_change("Add", account, note, urls.portfolio(account.username), urls), account, conn)
    if fields.series_id is not None:
        await _send(collection_change("Add", account, note, urls.portfolio_series(account.username,
                                                                                  fields.series_id), urls),
                    account, conn)
    await sync_featured(settings, account, conn)
    return work


async def leave_series(settings: Settings, account: Account, work: Work, conn: BaseDBAsyncClient) -> None:
    """Take the work out of its series (closing the gap), telling followers."""
    if work.series_id is None:
        return
    urls = LocalUrls(settings)
    await Work.filter(series_id=work.series_id, series_position__gt=work.series_position).using_db(conn).update(
        series_position=F("series_position") - 1, updated_at=now())
    await _send(collection_change("Remove", account, _note(urls, account, work.status_id),
                                  urls.portfolio_series(account.username, work.series_id), urls), account, conn)
    work.series_id, work.series_position = None, 0
    await Work.filter(id=work.id).using_db(conn).update(series_id=None, series_position=0, updated_at=now())


async def join_series(settings: Settings, account: Account, work: Work, series_id: int,
                      conn: BaseDBAsyncClient) -> None:
    """Put the work at the end of a series of the account's (leaving its current one)."""
    await own_series(account, series_id, conn)
    if work.series_id == series_id:
        return
    await leave_series(settings, account, work, conn)
    urls = LocalUrls(settings)
    position = await _series_end(series_id, conn)
    await Work.filter(id=work.id).using_db(conn).update(series_id=series_id, series_position=position,
                                                        updated_at=now())
    work.series_id, work.series_position = series_id, position
    await _send(collection_change("Add", account, _note(urls, account, work.status_id),
                                  urls.portfolio_series(account.username, series_id), urls), account, conn)


async def detach_work(settings: Settings, account: Account, work: Work, conn: BaseDBAsyncClient) -> None:
    """Take the work out of the portfolio (its post stays unless the caller deletes it)."""
    work = await locked_work(account, work.id, conn)
    urls = LocalUrls(settings)
    await leave_series(settings, account, work, conn)
    await Work.filter(id=work.id).using_db(conn).delete()
    await Work.filter(account_id=account.id, position__gt=work.position).using_db(conn).update(
        position=F("position") - 1, updated_at=now())
    await _send(collection_change("Remove", account, _note(urls, account, work.status_id),
                                  urls.portfolio(account.username), urls), account, conn)
    await sync_featured(settings, account, conn, dropped_status_ids=[work.status_id])


def new_order(current: list[int], wanted: Sequence[int]) -> list[int]:
    """``wanted`` first, in its order, then every other id in its current order. Unknown ids (another
    artist's works among them) are 404, repeats 422."""
    if len(set(wanted)) != len(wanted):
        raise ValidationFailed("Validation failed: an id is listed twice")
    known = set(current)
    if any(i not in known for i in wanted):
        raise NotFound("Record not found")
    chosen = set(wanted)
    return [*wanted, *(i for i in current if i not in chosen)]


async def place_works(settings: Settings, account: Account, wanted: Sequence[int], conn: BaseDBAsyncClient
                      ) -> bool:
    """Reorder the portfolio (see ``_new_order``); tells followers with an ``Update`` of the collection and
    keeps featured in step. True when the order changed."""
    await lock_portfolio(account, conn)
    works = await Work.filter(account_id=account.id).using_db(conn).order_by("position", "id")
    order = new_order([w.id for w in works], wanted)
    changed = False
    stamp = now()
    by_id = {w.id: w for w in works}
    for position, work_id in enumerate(order):
        if by_id[work_id].position != position:
            await Work.filter(id=work_id).using_db(conn).update(position=position, updated_at=stamp)
            changed = True
    if changed:
        await send_portfolio_update(settings, account, conn)
        await sync_featured(settings, account, conn)
    return changed


async def place_series_works(settings: Settings, account: Account, series: Series, wanted: Sequence[int],
                             conn: BaseDBAsyncClient) -> bool:
    """Reorder the works of one series (same rules as ``place_works``); ``Update`` of the series."""
    await lock_portfolio(account, conn)
    works = await Work.filter(account_id=account.id, series_id=series.id).using_db(conn).order_by(
        "series_position", "id")
    order = new_order([w.id for w in works], wanted)
    changed = False
    stamp = now()
    by_id = {w.id: w for w in works}
    for position, work_id in enumerate(order):
        if by_id[work_id].series_position != position:
            await Work.filter(id=work_id).using_db(conn).update(series_position=position, updated_at=stamp)
            changed = True
    if changed:
        await send_series_update(settings, account, series, conn)
    return changed


async def move_work(settings: Settings, account: Account, work: Work, position: int,
                    conn: BaseDBAsyncClient) -> bool:
    """Put one work at ``position`` (clamped), the others keeping their order."""
    ids = [int(i) for i in await Work.filter(account_id=account.id).using_db(conn).order_by(
        "position", "id").values_list("id", flat=True)]  # type: ignore[arg-type]
    ids.remove(work.id)
    ids.insert(max(0, min(position, len(ids))), work.id)
    return await place_works(settings, account, ids, conn)


# -- hooks for services/posts.py ------------------------------------------------------------------------

def joins_by_hashtag(settings: Settings, account: Account, status: Status, tags: Sequence[Tag],
                     media: Sequence[MediaAttachment]) -> bool:
    """Issue 6 point 2: a post with images and the portfolio hashtag joins its author's portfolio, if
    anyone may see it (public or unlisted) and it is not a reply to someone else."""
    hashtag = settings.portfolio.hashtag.lstrip("#").lower()
    return (any(t.name == hashtag for t in tags) and any(m.type == "image" for m in media)
            and status.visibility in PUBLIC_VISIBILITIES
            and status.in_reply_to_account_id in (None, account.id))


async def join_new_post(settings: Settings, account: Account, status: Status, tags: Sequence[Tag],
                        media: Sequence[MediaAttachment], work: WorkFields | None,
                        conn: BaseDBAsyncClient) -> Work | None:
    """Called by services.posts.create_post inside its transaction, before the Create is built (so the
    Note carries the work's fields): ``work`` given (services.portfolio.add_work) or the hashtag rule."""
    if work is None:
        if not joins_by_hashtag(settings, account, status, tags, media):
            return None
        title, description = fields_from_text(status.text, settings.portfolio.hashtag.lstrip("#"))
        work = WorkFields(title=title, description=description)
    return await attach_work(settings, account, status, work, conn)


async def post_deleted(settings: Settings, account: Account, status_id: int, conn: BaseDBAsyncClient) -> None:
    """Called by services.posts.delete_post inside its transaction: a deleted post leaves the portfolio
    (and featured, whose next work moves in)."""
    work = await Work.filter(status_id=status_id, account_id=account.id).using_db(conn).first()
    if work is not None:
        await detach_work(settings, account, work, conn)
