"""Reading portfolios: frozen values loaded with a fixed number of raw queries, whatever the number of
works or images (the ORM's model building is the slow part of a page: services/status_views.py).

- ``list_portfolio(account, series_id=None, limit=None, offset=0)`` -> ``PortfolioView``: five queries
  (works with their posts, the count, images, tags, series).
- ``get_work(work_id, account_id=None)`` -> ``WorkView``: four queries.
- ``list_series(account)`` -> list of ``SeriesView``; ``find_series(series_id, account_id=None)``: one query.

Only works anyone may see are returned (their posts public or unlisted and not deleted), local or remote
(a remote artist's works, fetched from their server: federation/portfolio_remote.py). The shapes are
documented on each class; other modules render pages and API entities from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from cara_fed.db import in_list, raw_rows
from cara_fed.errors import NotFound
from cara_fed.models import Account


@dataclass(frozen=True, slots=True)
class WorkImage:
    """One image of a work, in order. The attribute names are MediaAttachment's, so the API's and the
    ActivityStreams renderers take it as they take a row."""
    id: int
    position: int
    type: str  # "image" for every image; remote attachments may be "unknown"
    description: str  # the alt text
    file_path: str | None  # storage name of the main local file (None: remote, not cached)
    files: Mapping[str, str]  # storage names by role: full, preview, thumbnail, full_federation, untouched...
    remote_url: str | None  # the original on another server (remote works)
    content_type: str | None
    blurhash: str | None
    focus_x: float
    focus_y: float
    meta: Mapping[str, Any]  # Mastodon's `meta` (original/small: width, height, aspect)
    width: int | None  # of the original
    height: int | None

    @property
    def aspect(self) -> float | None:
        return self.width / self.height if self.width and self.height else None


@dataclass(frozen=True, slots=True)
class WorkView:
    """A work and its post. ``uri``/``url`` are None for local works (build them with LocalUrls:
    ``status(username, status_id)`` is the Note, ``work_page(username, id)`` the page)."""
    id: int
    account_id: int
    username: str
    domain: str | None  # None: a local artist
    status_id: int
    uri: str | None  # the Note's id, remote works only
    url: str | None  # the post's page on its server, remote works only
    title: str
    description: str  # local works; "" for remote ones (their text is in ``content``)
    medium: str
    year: int | None
    licence: str  # one of models.portfolio.LICENCES
    series_id: int | None
    series_name: str | None
    position: int  # in the portfolio, 0 first
    series_position: int  # in its series
    tags: tuple[str, ...]  # the post's hashtags, lower-case, sorted
    images: tuple[WorkImage, ...]
    content: str  # the post as sanitised HTML
    spoiler_text: str  # a content warning ("" for none)
    sensitive: bool
    visibility: str  # public or unlisted
    language: str | None
    created_at: datetime  # when the work was made
    updated_at: datetime  # its last change (fields, order)
    posted_at: datetime  # when its post was made
    edited_at: datetime | None  # the post's last edit

    @property
    def local(self) -> bool:
        return self.domain is None

    @property
    def last_modified(self) -> datetime:
        return max(t for t in (self.updated_at, self.edited_at, self.posted_at) if t is not None)


@dataclass(frozen=True, slots=True)
class SeriesView:
    id: int
    account_id: int
    name: str
    description: str
    position: int
    uri: str | None  # the series collection of a remote artist; None for local series
    work_count: int  # its works anyone may see


@dataclass(frozen=True, slots=True)
class PortfolioView:
    account_id: int
    total: int  # works anyone may see (in the series, when one was asked for)
    works: tuple[WorkView, ...]  # in portfolio order (series order for a series), the page asked for
    series: tuple[SeriesView, ...]  # every series of the account, in order


PUBLIC_SQL = "('public', 'unlisted')"
_WORK_SQL = (
    "SELECT w.id, w.account_id, w.status_id, w.title, w.description, w.medium, w.year, w.licence, w.series_id, "
    "w.position, w.series_position, w.created_at, w.updated_at, s.uri, s.url, s.content, s.spoiler_text, "
    "s.sensitive, s.visibility, s.language, s.created_at AS posted_at, s.edited_at, a.username, a.domain, "
    "se.name AS series_name FROM works w JOIN statuses s ON s.id = w.status_id "
    "JOIN accounts a ON a.id = w.account_id LEFT JOIN series se ON se.id = w.series_id "
    f"WHERE s.deleted_at IS NULL AND s.visibility IN {PUBLIC_SQL} AND a.suspended_at IS NULL")
_MEDIA_COLUMNS = ("id", "status_id", "position", "type", "file_path", "remote_url", "content_type", "description",
                  "blurhash", "focus_x", "focus_y", "meta", "files")


def _when(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))  # SQLite keeps ISO text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _image(row: dict[str, Any]) -> WorkImage:
    meta = _json(row["meta"], {})
    original = meta.get("original", {}) if isinstance(meta, dict) else {}
    files = _json(row["files"], None)
    return WorkImage(
        id=int(row["id"]), position=int(row["position"] or 0), type=str(row["type"]),
        description=str(row["description"] or ""), file_path=row["file_path"],
        files=dict(files) if isinstance(files, dict) else {}, remote_url=row["remote_url"],
        content_type=row["content_type"], blurhash=row["blurhash"], focus_x=float(row["focus_x"] or 0.0),
        focus_y=float(row["focus_y"] or 0.0), meta=meta if isinstance(meta, dict) else {},
        width=original.get("width") if isinstance(original.get("width"), int) else None,
        height=original.get("height") if isinstance(original.get("height"), int) else None)


async def _works(where: str, values: list[object], tail: str = "") -> list[WorkView]:
    rows = await raw_rows(f"{_WORK_SQL} AND {where} {tail}", values)
    if not rows:
        return []
    status_ids: list[object] = [int(r["status_id"]) for r in rows]
    marks = in_list(status_ids)
    images: dict[int, list[WorkImage]] = {}
    for row in await raw_rows(f"SELECT {', '.join(_MEDIA_COLUMNS)} FROM media_attachments "
                              f"WHERE status_id IN ({marks}) ORDER BY position, id", status_ids):
        images.setdefault(int(row["status_id"]), []).append(_image(row))
    tags: dict[int, list[str]] = {}
    for row in await raw_rows(f"SELECT st.statuses_id AS status_id, t.name AS name FROM statuses_tags st "
                              f"JOIN tags t ON t.id = st.tag_id WHERE st.statuses_id IN ({marks}) ORDER BY t.name",
                              status_ids):
        tags.setdefault(int(row["status_id"]), []).append(str(row["name"]))
    works = []
    for row in rows:
        status_id = int(row["status_id"])
        local = row["domain"] is None
        works.append(WorkView(
            id=int(row["id"]), account_id=int(row["account_id"]), username=str(row["username"]),
            domain=row["domain"], status_id=status_id, uri=None if local else row["uri"],
            url=None if local else row["url"], title=str(row["title"] or ""),
            description=str(row["description"] or ""), medium=str(row["medium"] or ""),
            year=int(row["year"]) if row["year"] is not None else None, licence=str(row["licence"]),
            series_id=int(row["series_id"]) if row["series_id"] is not None else None,
            series_name=row["series_name"], position=int(row["position"] or 0),
            series_position=int(row["series_position"] or 0), tags=tuple(tags.get(status_id, ())),
            images=tuple(images.get(status_id, ())), content=str(row["content"] or ""),
            spoiler_text=str(row["spoiler_text"] or ""), sensitive=bool(row["sensitive"]),
            visibility=str(row["visibility"]), language=row["language"],
            created_at=_when(row["created_at"]), updated_at=_when(row["updated_at"]),  # type: ignore[arg-type]
            posted_at=_when(row["posted_at"]), edited_at=_when(row["edited_at"])))  # type: ignore[arg-type]
    return works


async def _series(where: str, values: list[object]) -> list[SeriesView]:
    rows = await raw_rows(
        "SELECT se.id, se.account_id, se.name, se.description, se.position, se.uri, "
        "(SELECT COUNT(*) FROM works w JOIN statuses s ON s.id = w.status_id WHERE w.series_id = se.id "
        f"AND s.deleted_at IS NULL AND s.visibility IN {PUBLIC_SQL}) AS work_count "
        f"FROM series se JOIN accounts a ON a.id = se.account_id WHERE a.suspended_at IS NULL AND {where} "
        "ORDER BY se.position, se.id", values)
    return [SeriesView(id=int(r["id"]), account_id=int(r["account_id"]), name=str(r["name"]),
                       description=str(r["description"] or ""), position=int(r["position"] or 0), uri=r["uri"],
                       work_count=int(r["work_count"] or 0)) for r in rows]


async def list_series(account: Account | int) -> list[SeriesView]:
    """Every series of the account, in order, with how many of its works anyone may see."""
    return await _series("se.account_id = ?", [account if isinstance(account, int) else account.id])


async def find_series(series_id: int, *, account_id: int | None = None) -> SeriesView:
    """One series (of ``account_id``, when given); NotFound otherwise."""
    where, values = "se.id = ?", [series_id]
    if account_id is not None:
        where += " AND se.account_id = ?"
        values.append(account_id)
    found = await _series(where, values)
    if not found:
        raise NotFound("Record not found")
    return found[0]


async def list_portfolio(account: Account | int, *, series_id: int | None = None, limit: int | None = None,
                         offset: int = 0) -> PortfolioView:
    """The account's works in portfolio order (``series_id``: one series, in its order), ``limit`` of
    them from ``offset`` (all by default), with the total and the account's series."""
    account_id = account if isinstance(account, int) else account.id
    where, values = "w.account_id = ?", [account_id]
    order = "ORDER BY w.position, w.id"
    if series_id is not None:
        where += " AND w.series_id = ?"
        values.append(series_id)
        order = "ORDER BY w.series_position, w.position, w.id"
    tail = order
    paged: list[object] = list(values)
    if limit is not None:
        tail += " LIMIT ? OFFSET ?"
        paged += [limit, max(0, offset)]
    works = await _works(where, paged, tail)
    if limit is None and offset == 0:
        total = len(works)
    else:
        counted = await raw_rows(f"SELECT COUNT(*) AS n FROM ({_WORK_SQL} AND {where}) counted", list(values))
        total = int(counted[0]["n"])
    return PortfolioView(account_id=account_id, total=total, works=tuple(works),
                         series=tuple(await list_series(account_id)))


async def get_work(work_id: int, *, account_id: int | None = None) -> WorkView:
    """One work anyone may see (of ``account_id``, when given); NotFound otherwise."""
    where, values = "w.id = ?", [work_id]
    if account_id is not None:
        where += " AND w.account_id = ?"
        values.append(account_id)
    works = await _works(where, values)
    if not works:
        raise NotFound("Record not found")
    return works[0]


async def get_works(work_ids: list[int]) -> list[WorkView]:
    """Works by id (those anyone may see), in the order asked."""
    if not work_ids:
        return []
    ids: list[object] = list(dict.fromkeys(work_ids))
    by_id = {w.id: w for w in await _works(f"w.id IN ({in_list(ids)})", ids)}
    return [by_id[i] for i in work_ids if i in by_id]


async def collection_items(account_id: int, *, series_id: int | None = None, limit: int, offset: int = 0
                           ) -> tuple[int, list[int]]:
    """(total, post ids of the works from ``offset``) for the ActivityStreams collections: two queries."""
    where, values = "w.account_id = ?", [account_id]
    order = "ORDER BY w.position, w.id"
    if series_id is not None:
        where += " AND w.series_id = ?"
        values.append(series_id)
        order = "ORDER BY w.series_position, w.position, w.id"
    counted = await raw_rows(f"SELECT COUNT(*) AS n FROM ({_WORK_SQL} AND {where}) counted", list(values))
    rows = await raw_rows(f"SELECT w.status_id FROM works w JOIN statuses s ON s.id = w.status_id "
                          f"WHERE s.deleted_at IS NULL AND s.visibility IN {PUBLIC_SQL} AND {where} {order} "
                          f"LIMIT ? OFFSET ?", [*values, limit, max(0, offset)])
    return int(counted[0]["n"]), [int(r["status_id"]) for r in rows]
