"""Reading what the public web pages show (issue 6 points 4 and 5): an artist's profile and portfolio, a
work, the instance's recent works and rules. Raw queries into light read-only views, a fixed number per
page whatever the number of works or images (the ORM's per-row model building is what made the API slow,
see status_views.py). Nothing here knows about requests or HTML.

Each profile view starts with :func:`profile_account`, one query that also returns the figures the page's
ETag is made of (counts, newest ids and timestamps of the works and posts), so a repeat view is answered 304
after one or two cheap queries (web/page_cache.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from cara_fed.db import in_list, raw_rows
from cara_fed.models.accounts import acct_key

PUBLIC = ("public", "unlisted")  # what a profile and an artist's feed show (as the outbox does)
PUBLIC_SQL = "('public', 'unlisted')"


def public(column: str = "s.visibility") -> str:
    """The "public or unlisted" test, written so that SQLite never starts a page's query from the statuses
    (visibility, id) index: without ANALYZE statistics its planner prefers it, and then reads every public
    post of the instance to find one artist's (EXPLAIN QUERY PLAN). LOWER() of the already lower-case
    column changes no result and makes that index unusable for the test."""
    return f"LOWER({column}) IN {PUBLIC_SQL}"
# Reordering may be a bulk UPDATE that leaves updated_at alone: an order checksum notices it anyway.
_ORDER_PRIME = 1000003


async def rows_of(sql: str, values: list[object]) -> list[dict[str, Any]]:
    """db.raw_rows, typed for reading: every column is whatever the driver gives."""
    return await raw_rows(sql, values)


async def tuples_of(sql: str, values: list[object]) -> list[Sequence[Any]]:
    """Rows read by position, for the queries that return a row per work or image: the driver's own row
    objects (sqlite3.Row, asyncpg.Record) without the copy into a dict, and looked up by index rather than
    by name (sqlite3.Row compares names one by one). Written with ``?`` placeholders, as raw_rows."""
    from cara_fed.models import Account  # any model: they share one connection

    conn = Account._meta.db
    if conn.capabilities.dialect == "postgres":
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    return list((await conn.execute_query(sql, values))[1])


def when(value: Any) -> datetime | None:
    """A timestamp column as an aware datetime (SQLite gives ISO text, PostgreSQL datetimes)."""
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value))
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, (str, bytes)):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return default
    return value


# -- accounts ---------------------------------------------------------------------------------------------

_ACCOUNT_COLUMNS = ("id", "username", "domain", "display_name", "note", "avatar_path", "avatar_remote_url",
                    "header_path", "header_remote_url", "profile_fields", "locked", "bot", "uri", "url",
                    "indexable", "suspended_at", "updated_at", "created_at")


@dataclass(frozen=True, slots=True)
class PageAccount:
    id: int
    username: str
    domain: str | None
    display_name: str
    note: str
    avatar_path: str | None
    avatar_remote_url: str | None
    header_path: str | None
    header_remote_url: str | None
    profile_fields: list[dict[str, Any]]
    locked: bool
    bot: bool
    uri: str | None
    url: str | None
    indexable: bool
    updated_at: datetime | None
    created_at: datetime | None
    commissions: str | None  # open | closed | waitlist (local artists only)

    @property
    def is_local(self) -> bool:
        return self.domain is None

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def shown(self) -> tuple[object, ...]:
        """Everything about the account a page shows (for the ETag: updated_at is not bumped by bulk
        updates)."""
        return (self.id, self.username, self.display_name, self.note, self.avatar_path,
                self.avatar_remote_url, self.header_path, self.header_remote_url,
                orjson.dumps(self.profile_fields), self.locked,
                self.bot, self.commissions, self.url)


@dataclass(frozen=True, slots=True)
class ProfileFigures:
    """What the profile's ETag and Last-Modified are made of, read with the account."""
    works: int
    works_updated: datetime | None
    works_order: int
    posts: int
    newest_status: int
    statuses_edited: datetime | None
    statuses_deleted: datetime | None
    newest_created: datetime | None

    def last_modified(self, account: PageAccount) -> datetime | None:
        times = [t for t in (self.works_updated, self.statuses_edited, self.statuses_deleted,
                             self.newest_created, account.updated_at, account.created_at) if t is not None]
        return max(times) if times else None


def _account(row: dict[str, Any]) -> PageAccount:
    if row.get("suspended_at") is not None:
        raise LookupError("suspended")
    return PageAccount(
        id=int(row["id"]), username=str(row["username"]), domain=row["domain"],
        display_name=str(row["display_name"] or ""), note=str(row["note"] or ""),
        avatar_path=row["avatar_path"], avatar_remote_url=row["avatar_remote_url"],
        header_path=row["header_path"],
        header_remote_url=row["header_remote_url"], profile_fields=_json(row["profile_fields"], []),
        locked=bool(row["locked"]), bot=bool(row["bot"]), uri=row["uri"], url=row["url"],
        indexable=bool(row["indexable"]), updated_at=when(row["updated_at"]),
        created_at=when(row["created_at"]),
        commissions=row.get("commissions"))


_FIGURES_SQL = f"""
 (SELECT COUNT(*) FROM works w JOIN statuses s ON s.id = w.status_id
   WHERE w.account_id = a.id AND s.deleted_at IS NULL AND {public()}) AS f_works,
 (SELECT MAX(w.updated_at) FROM works w WHERE w.account_id = a.id) AS f_works_updated,
 (SELECT SUM((w.position + 1) * (w.id % {_ORDER_PRIME}) + COALESCE(w.series_id % {_ORDER_PRIME}, 0)
          * (w.series_position + 3)) FROM works w WHERE w.account_id = a.id) AS f_works_order,
 (SELECT COUNT(*) FROM statuses s WHERE s.account_id = a.id AND s.deleted_at IS NULL
   AND {public()} AND s.reblog_of_id IS NULL) AS f_posts,
 (SELECT MAX(s.id) FROM statuses s WHERE s.account_id = a.id) AS f_newest,
 (SELECT MAX(s.created_at) FROM statuses s WHERE s.account_id = a.id) AS f_newest_created,
 (SELECT MAX(s.edited_at) FROM statuses s WHERE s.account_id = a.id) AS f_edited,
 (SELECT MAX(s.deleted_at) FROM statuses s WHERE s.account_id = a.id) AS f_deleted"""


def _account_sql(figures: bool) -> str:
    columns = ", ".join(f"a.{c}" for c in _ACCOUNT_COLUMNS)
    extra = f", {_FIGURES_SQL}" if figures else ""
    return (f"SELECT {columns}, u.commissions AS commissions, u.id AS user_id{extra} FROM accounts a "
            f"LEFT JOIN users u ON u.account_id = a.id WHERE a.acct_key = ?")


async def _find(username: str, domain: str | None, figures: bool) -> dict[str, Any] | None:
    rows = await rows_of(_account_sql(figures), [acct_key(username, domain)])
    if not rows:
        return None
    row = rows[0]
    if domain is None and row["user_id"] is None:
        return None  # the instance actor: an account row without a login, not a person to show
    return row


async def page_account(username: str, domain: str | None = None) -> PageAccount | None:
    """A local artist (or a known remote account) by handle; None when unknown. Raises LookupError when
    suspended (the page answers 410, as the actor document does)."""
    row = await _find(username, domain, figures=False)
    return None if row is None else _account(row)


async def page_account_by_id(account_id: int) -> PageAccount | None:
    """A visible account by id (a local one only with a login); None when unknown or suspended."""
    columns = ", ".join(f"a.{c}" for c in _ACCOUNT_COLUMNS)
    rows = await rows_of(f"SELECT {columns}, u.commissions AS commissions, u.id AS user_id FROM accounts a "
                         f"LEFT JOIN users u ON u.account_id = a.id WHERE a.id = ?", [account_id])
    if not rows or (rows[0]["domain"] is None and rows[0]["user_id"] is None) or rows[0]["suspended_at"]:
        return None
    return _account(rows[0])


async def profile_account(username: str, domain: str | None = None
                          ) -> tuple[PageAccount, ProfileFigures] | None:
    """:func:`page_account` with the figures of its profile page, in the same query."""
    row = await _find(username, domain, figures=True)
    if row is None:
        return None
    figures = ProfileFigures(
        works=int(row["f_works"] or 0), works_updated=when(row["f_works_updated"]),
        works_order=int(row["f_works_order"] or 0), posts=int(row["f_posts"] or 0),
        newest_status=int(row["f_newest"] or 0), statuses_edited=when(row["f_edited"]),
        statuses_deleted=when(row["f_deleted"]), newest_created=when(row["f_newest_created"]))
    return _account(row), figures


# -- images -----------------------------------------------------------------------------------------------

MEDIA_COLUMNS = ("id", "status_id", "position", "type", "file_path", "remote_url", "description", "meta", "files")


@dataclass(slots=True)  # not frozen, as page_works.WorkCard: built once per work of a profile
class PageImage:
    """One attachment as a page shows it: its stored copies by role (full, preview, thumbnail, their
    *_federation JPEG/PNG twins, untouched), the original size and the alt text."""
    id: int
    status_id: int
    position: int
    type: str
    file_path: str | None
    remote_url: str | None
    description: str
    files: dict[str, str]
    width: int | None
    height: int | None
    preview_width: int | None
    preview_height: int | None

    def shown(self) -> tuple[object, ...]:
        return (self.id, self.position, self.description, self.file_path, tuple(sorted(self.files.items())))


def _size(meta: dict[str, Any], key: str) -> tuple[int | None, int | None]:
    part = meta.get(key)
    if not isinstance(part, dict):
        return None, None
    width, height = part.get("width"), part.get("height")
    if type(width) is int and type(height) is int and width > 0 and height > 0:
        return width, height
    return None, None


def image_row(row: Sequence[Any]) -> PageImage:
    """A row of MEDIA_COLUMNS, in that order. (Called once per work of a profile: kept short.)"""
    meta = row[7]
    if type(meta) is not dict:
        meta = _json(meta, {})
        meta = meta if type(meta) is dict else {}
    files = row[8]
    if type(files) is not dict:
        files = _json(files, {})
        files = files if type(files) is dict else {}
    width, height = _size(meta, "original")
    preview_width, preview_height = _size(meta, "small")
    return PageImage(row[0], row[1], row[2] or 0, row[3] or "image", row[4], row[5], row[6] or "", files,
                     width, height, preview_width, preview_height)


async def images_of(status_ids: list[int]) -> dict[int, list[PageImage]]:
    """Every image of these statuses, in order (one query)."""
    if not status_ids:
        return {}
    values: list[object] = list(status_ids)
    rows = await tuples_of(f"SELECT {', '.join(MEDIA_COLUMNS)} FROM media_attachments "
                           f"WHERE status_id IN ({in_list(values)}) ORDER BY status_id, position, id", values)
    found: dict[int, list[PageImage]] = {}
    for row in rows:
        image = image_row(row)
        found.setdefault(image.status_id, []).append(image)
    return found


# -- the instance -----------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class RuleView:
    id: int
    text: str
    hint: str


async def rules() -> list[RuleView]:
    rows = await rows_of("SELECT id, text, hint FROM rules ORDER BY position, id", [])
    return [RuleView(int(r["id"]), str(r["text"]), str(r["hint"] or "")) for r in rows]
