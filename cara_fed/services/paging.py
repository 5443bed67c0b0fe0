"""A page of a list, as Mastodon pages them (app/models/concerns/paginable.rb): ``max_id`` (older than),
``since_id`` (newer than, newest first), ``min_id`` (the page just newer than) and ``limit``. The API reads
it from the request; services turn it into SQL."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None
    limit: int = 20

    @property
    def ascending(self) -> bool:
        """A min_id page is read oldest-first from the database (then reversed to newest-first)."""
        return self.min_id is not None

    def where(self, column: str) -> tuple[str, list[object]]:
        """SQL conditions on ``column`` for this page (``?`` placeholders) and their values."""
        clauses: list[str] = []
        values: list[object] = []
        for bound, op in ((self.max_id, "<"), (self.since_id, ">"), (self.min_id, ">")):
            if bound is not None:
                clauses.append(f"{column} {op} ?")
                values.append(bound)
        return (" AND ".join(clauses) or "1=1"), values

    def order(self, column: str) -> str:
        return f"{column} {'ASC' if self.ascending else 'DESC'}"

    def newest_first(self, rows: list[T]) -> list[T]:
        return list(reversed(rows)) if self.ascending else rows
