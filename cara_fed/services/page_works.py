"""Reading works for the public pages: an artist's portfolio grid (every work with its cover image, two
queries whatever their number), one work with all its images, the instance's recent works."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cara_fed.db import in_list
from cara_fed.services.pages import (
    MEDIA_COLUMNS,
    PageImage,
    image_row,
    images_of,
    public,
    rows_of,
    tuples_of,
    when,
)

RECENT_WORKS = 24  # on the home page


async def _covers(where: str, values: list[object]) -> dict[int, tuple[PageImage, int]]:
    """The first image of each work selected by ``where`` (over ``works w``) and its number of images, in
    one query. The rows come unordered and the first is picked here: SQLite sorted them (or numbered them
    with a window function) several times slower than it reads them (bench/pages.py)."""
    columns = ", ".join(f"m.{c}" for c in MEDIA_COLUMNS)
    rows = await tuples_of(f"SELECT {columns} FROM media_attachments m JOIN works w ON w.status_id = m.status_id "
                           f"WHERE {where}", values)
    first: dict[int, Sequence[Any]] = {}
    counts: dict[int, int] = {}
    for row in rows:  # MEDIA_COLUMNS: id, status_id, position first
        status_id = row[1]
        counts[status_id] = counts.get(status_id, 0) + 1
        best = first.get(status_id)
        if best is None or (row[2], row[0]) < (best[2], best[0]):
            first[status_id] = row
    return {int(status_id): (image_row(row), counts[status_id]) for status_id, row in first.items()}


@dataclass(slots=True)  # not frozen: a frozen init sets each field through object.__setattr__, 3x slower
class WorkCard:
    """A work in a grid: its cover image (the first), how many images it has, and what the caption says.
    Read-only by convention (a profile builds hundreds per view)."""
    id: int
    status_id: int
    title: str
    medium: str
    year: int | None
    series_id: int | None
    position: int
    sensitive: bool
    spoiler_text: str
    updated_raw: Any  # the column as the driver gives it (parsed only when asked: see updated_at)
    cover: PageImage | None
    image_count: int
    username: str  # the artist's (the home page mixes artists)
    display_name: str

    @property
    def updated_at(self) -> datetime | None:
        return when(self.updated_raw)

    def shown(self) -> tuple[object, ...]:
        return (self.id, self.title, self.medium, self.year, self.series_id, self.sensitive,
                self.spoiler_text, self.updated_raw, self.image_count,
                self.cover.shown() if self.cover else None,
                self.display_name)


@dataclass(frozen=True, slots=True)
class SeriesView:
    id: int
    name: str
    description: str
    position: int


_CARD_SQL = (f"SELECT w.id, w.status_id, w.title, w.medium, w.year, w.series_id, w.position, w.updated_at, "
             f"s.sensitive, s.spoiler_text, a.username, a.display_name FROM works w "
             f"JOIN statuses s ON s.id = w.status_id JOIN accounts a ON a.id = w.account_id "
             f"WHERE s.deleted_at IS NULL AND ")


def _cards(rows: list[Sequence[Any]], covers: dict[int, tuple[PageImage, int]]) -> list[WorkCard]:
    """Rows of _CARD_SQL, by position."""
    cards = []
    for row in rows:
        cover, count = covers.get(row[1], (None, 0))
        cards.append(WorkCard(row[0], row[1], row[2] or "", row[3] or "", row[4], row[5], row[6] or 0,
                              bool(row[8]), row[9] or "", row[7], cover, count, row[10], row[11] or ""))
    return cards


async def portfolio(account_id: int, series_id: int | None = None) -> list[WorkCard]:
    """The artist's public works in portfolio order (or one series, in its own order), each with its cover:
    two queries whatever the number of works."""
    visible = f"w.account_id = ? AND {public()}"
    values: list[object] = [account_id]
    order = "w.position, w.id"
    if series_id is not None:
        visible += " AND w.series_id = ?"
        values.append(series_id)
        order = "w.series_position, w.position, w.id"
    rows = await tuples_of(f"{_CARD_SQL}{visible} ORDER BY {order}", values)
    if not rows:
        return []
    return _cards(rows, await _covers("w.account_id = ?", [account_id]))


async def series_of(account_id: int) -> list[SeriesView]:
    rows = await rows_of("SELECT id, name, description, position FROM series WHERE account_id = ? "
                         "ORDER BY position, id", [account_id])
    return [SeriesView(int(r["id"]), str(r["name"]), str(r["description"] or ""), int(r["position"] or 0))
            for r in rows]


async def recent_works(limit: int = RECENT_WORKS) -> list[WorkCard]:
    """The instance's newest public works by local, listed, active artists (the home page)."""
    rows = await tuples_of(
        # Conditions written so that the newest works are read first (the works' id index, backwards) and
        # reading stops after `limit`: as plain `a.domain IS NULL` SQLite started from every local account's
        # works and sorted them all (EXPLAIN QUERY PLAN).
        f"{_CARD_SQL}LOWER(s.visibility) = 'public' AND COALESCE(a.domain, '') = '' AND a.suspended_at IS NULL "
        f"AND a.discoverable = ? ORDER BY w.id DESC LIMIT ?", [True, limit])
    if not rows:
        return []
    ids: list[object] = [int(r[0]) for r in rows]
    return _cards(rows, await _covers(f"w.id IN ({in_list(ids)})", ids))


@dataclass(frozen=True, slots=True)
class WorkDetail:
    id: int
    status_id: int
    title: str
    description: str
    medium: str
    year: int | None
    licence: str
    series: SeriesView | None
    updated_at: datetime | None
    content: str
    spoiler_text: str
    sensitive: bool
    language: str | None
    created_at: datetime | None
    edited_at: datetime | None
    previous_id: int | None  # the neighbours in portfolio order
    next_id: int | None
    images: list[PageImage]
    tags: list[str]

    def shown(self) -> tuple[object, ...]:
        return (self.id, self.title, self.description, self.medium, self.year, self.licence,
                (self.series.id, self.series.name) if self.series else None, self.updated_at, self.content,
                self.spoiler_text, self.sensitive, self.edited_at, self.previous_id, self.next_id,
                tuple(i.shown() for i in self.images), tuple(self.tags))

    def last_modified(self) -> datetime | None:
        times = [t for t in (self.updated_at, self.edited_at, self.created_at) if t is not None]
        return max(times) if times else None


def _neighbour(compare: str, direction: str) -> str:
    return (f"(SELECT w2.id FROM works w2 JOIN statuses s2 ON s2.id = w2.status_id "
            f"WHERE w2.account_id = w.account_id AND s2.deleted_at IS NULL AND {public('s2.visibility')} "
            f"AND (w2.position {compare} w.position OR "
            f"(w2.position = w.position AND w2.id {compare} w.id)) ORDER BY w2.position {direction}, "
            f"w2.id {direction} LIMIT 1)")


async def work_detail(account_id: int, work_id: int) -> WorkDetail | None:
    """One public work of the account with its images and tags (three queries)."""
    rows = await rows_of(
        f"SELECT w.id, w.status_id, w.title, w.description, w.medium, w.year, w.licence, w.updated_at, "
        f"w.series_id, se.name AS series_name, se.description AS series_description, "
        f"se.position AS series_position, s.content, s.spoiler_text, s.sensitive, s.language, s.created_at, "
        f"s.edited_at, {_neighbour('<', 'DESC')} AS previous_id, {_neighbour('>', 'ASC')} AS next_id "
        f"FROM works w JOIN statuses s ON s.id = w.status_id LEFT JOIN series se ON se.id = w.series_id "
        f"WHERE w.id = ? AND w.account_id = ? AND s.deleted_at IS NULL AND {public()}",
        [work_id, account_id])
    if not rows:
        return None
    row = rows[0]
    status_id = int(row["status_id"])
    images = (await images_of([status_id])).get(status_id, [])
    series = None if row["series_id"] is None else SeriesView(
        int(row["series_id"]), str(row["series_name"]), str(row["series_description"] or ""),
        int(row["series_position"] or 0))
    return WorkDetail(
        id=int(row["id"]), status_id=status_id, title=str(row["title"] or ""),
        description=str(row["description"] or ""), medium=str(row["medium"] or ""),
        year=row["year"], licence=str(row["licence"] or "all-rights-reserved"), series=series,
        updated_at=when(row["updated_at"]), content=str(row["content"] or ""),
        spoiler_text=str(row["spoiler_text"] or ""), sensitive=bool(row["sensitive"]),
        language=row["language"], created_at=when(row["created_at"]), edited_at=when(row["edited_at"]),
        previous_id=row["previous_id"], next_id=row["next_id"], images=images,
        tags=await tags_of(status_id))


async def tags_of(status_id: int) -> list[str]:
    rows = await rows_of("SELECT t.name AS name FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
                         "WHERE st.statuses_id = ? ORDER BY t.name", [status_id])
    return [str(r["name"]) for r in rows]


async def works_of_statuses(status_ids: list[int]) -> dict[int, tuple[int, str]]:
    """status id -> (work id, title) for the statuses that are works (one query)."""
    if not status_ids:
        return {}
    values: list[object] = list(status_ids)
    rows = await rows_of(f"SELECT id, status_id, title FROM works WHERE status_id IN ({in_list(values)})",
                         values)
    return {int(r["status_id"]): (int(r["id"]), str(r["title"] or "")) for r in rows}
