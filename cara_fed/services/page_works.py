"""Reading works for the public pages: an artist's portfolio grid (every work with its cover image, two
queries whatever their number), the instance's recent works, a work's neighbours. One work is read with
the portfolio service (portfolio_views.get_work); its whole-portfolio list_portfolio loads every image and
tag of every work, about four times the CPU of the grid's two queries here, which only need covers."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from cara_fed.db import in_list
from cara_fed.services.portfolio_views import WorkView
from cara_fed.services.pages import (
    MEDIA_COLUMNS,
    PageImage,
    image_row,
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


def _neighbour(compare: str, direction: str) -> str:
    return (f"(SELECT w2.id FROM works w2 JOIN statuses s2 ON s2.id = w2.status_id "
            f"WHERE w2.account_id = w.account_id AND s2.deleted_at IS NULL AND {public('s2.visibility')} "
            f"AND (w2.position {compare} w.position OR "
            f"(w2.position = w.position AND w2.id {compare} w.id)) ORDER BY w2.position {direction}, "
            f"w2.id {direction} LIMIT 1)")


async def neighbours(work_id: int) -> tuple[int | None, int | None]:
    """The works before and after this one in its artist's portfolio (public ones), in one query."""
    rows = await rows_of(f"SELECT {_neighbour('<', 'DESC')} AS previous_id, {_neighbour('>', 'ASC')} AS next_id "
                         f"FROM works w WHERE w.id = ?", [work_id])
    return (rows[0]["previous_id"], rows[0]["next_id"]) if rows else (None, None)


def work_images(work: WorkView) -> list[PageImage]:
    """A work's images (portfolio_views.WorkImage) as the pages draw them."""
    images = []
    for image in work.images:
        small = image.meta.get("small") if isinstance(image.meta, Mapping) else None
        preview_width = small.get("width") if isinstance(small, Mapping) else None
        preview_height = small.get("height") if isinstance(small, Mapping) else None
        images.append(PageImage(image.id, work.status_id, image.position, image.type, image.file_path,
                                image.remote_url, image.description,
                                {k: v for k, v in image.files.items() if type(v) is str}, image.width, image.height,
                                preview_width if type(preview_width) is int else None,
                                preview_height if type(preview_height) is int else None))
    return images


async def works_of_statuses(status_ids: list[int]) -> dict[int, tuple[int, str]]:
    """status id -> (work id, title) for the statuses that are works (one query)."""
    if not status_ids:
        return {}
    values: list[object] = list(status_ids)
    rows = await rows_of(f"SELECT id, status_id, title FROM works WHERE status_id IN ({in_list(values)})",
                         values)
    return {int(r["status_id"]): (int(r["id"]), str(r["title"] or "")) for r in rows}
