"""Reading and dismissing a local account's notifications (Mastodon's Api::V1::NotificationsController and
Notification.browserable): type filters, one sender, paging by id, and what is never shown: notifications
from accounts the reader muted with notifications hidden (until the mute expires) or blocked, from
suspended accounts, and about posts deleted since."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from cara_fed.db import in_list, raw_rows
from cara_fed.errors import NotFound
from cara_fed.models import Account, Marker, Notification

# Mastodon's types (docs: entities/Notification#type); a filter naming anything else matches nothing.
TYPES = ("mention", "status", "reblog", "follow", "follow_request", "favourite", "poll", "update",
         "admin.sign_up", "admin.report", "severed_relationships", "moderation_warning", "quote",
         "quoted_update")
UNREAD_DEFAULT_LIMIT = 100  # Mastodon's DEFAULT_NOTIFICATIONS_COUNT_LIMIT
UNREAD_MAX_LIMIT = 1000  # MAX_NOTIFICATIONS_COUNT_LIMIT


@dataclass(frozen=True)
class NotificationFilter:
    """``types``: only these (empty: all); ``exclude_types``: none of these; ``from_account_id``: one sender."""
    types: tuple[str, ...] = ()
    exclude_types: tuple[str, ...] = ()
    from_account_id: int | None = None


@dataclass(frozen=True)
class Window:
    """A page: ``max_id`` older than, ``since_id``/``min_id`` newer than; ``min_id`` pages are the ones
    just newer than it (read oldest first, answered newest first)."""
    limit: int
    max_id: int | None = None
    since_id: int | None = None
    min_id: int | None = None


@dataclass
class _Sql:
    clauses: list[str] = field(default_factory=list)
    values: list[object] = field(default_factory=list)

    def add(self, clause: str, *values: object) -> None:
        self.clauses.append(clause)
        self.values.extend(values)


def _dialect() -> str:
    return str(Notification._meta.db.capabilities.dialect)


def _db_now() -> object:
    """Now, as the database compares it: SQLite keeps tortoise datetimes as ``isoformat(" ")`` text in UTC."""
    now = datetime.now(UTC)
    return now if _dialect() == "postgres" else now.isoformat(" ")


def _visible(account_id: int, wanted: NotificationFilter) -> _Sql:
    """The conditions (on ``n``, the notifications table) for what ``account_id`` may see."""
    sql = _Sql()
    sql.add("n.account_id = ?", account_id)
    if wanted.types:
        types: list[object] = [t for t in dict.fromkeys(wanted.types) if t in TYPES]
        sql.add(f"n.type IN ({in_list(types)})", *types)
    if wanted.exclude_types:
        excluded: list[object] = list(dict.fromkeys(wanted.exclude_types))
        sql.add(f"n.type NOT IN ({in_list(excluded)})", *excluded)
    if wanted.from_account_id is not None:
        sql.add("n.from_account_id = ?", wanted.from_account_id)
    sql.add("NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = n.account_id "
            "AND m.target_account_id = n.from_account_id AND m.hide_notifications = ? "
            "AND (m.expires_at IS NULL OR m.expires_at > ?))", True, _db_now())
    sql.add("NOT EXISTS (SELECT 1 FROM blocks b WHERE b.account_id = n.account_id "
            "AND b.target_account_id = n.from_account_id)")
    sql.add("EXISTS (SELECT 1 FROM accounts a WHERE a.id = n.from_account_id AND a.suspended_at IS NULL)")
    sql.add("(n.status_id IS NULL OR EXISTS (SELECT 1 FROM statuses s WHERE s.id = n.status_id "
            "AND s.deleted_at IS NULL))")
    return sql


async def _load(ids: list[int]) -> list[Notification]:
    """The rows with their sender, in the order of ``ids``."""
    if not ids:
        return []
    rows = {n.id: n for n in await Notification.filter(id__in=ids).select_related("from_account")}
    return [rows[i] for i in ids if i in rows]


async def list_notifications(account: Account, wanted: NotificationFilter, window: Window) -> list[Notification]:
    """One page of ``account``'s visible notifications, newest first, senders loaded."""
    sql = _visible(account.id, wanted)
    for bound, op in ((window.max_id, "<"), (window.since_id, ">"), (window.min_id, ">")):
        if bound is not None:
            sql.add(f"n.id {op} ?", bound)
    order = "ASC" if window.min_id is not None else "DESC"
    rows = await raw_rows(f"SELECT n.id AS id FROM notifications n WHERE {' AND '.join(sql.clauses)} "
                          f"ORDER BY n.id {order} LIMIT ?", [*sql.values, window.limit])
    ids = [int(row["id"]) for row in rows]  # type: ignore[call-overload]
    if window.min_id is not None:
        ids.reverse()
    return await _load(ids)


async def get_notification(account: Account, notification_id: int) -> Notification:
    """One of ``account``'s notifications (404 for anyone else's, and for one no longer shown)."""
    sql = _visible(account.id, NotificationFilter())
    sql.add("n.id = ?", notification_id)
    rows = await raw_rows(f"SELECT n.id AS id FROM notifications n WHERE {' AND '.join(sql.clauses)}",
                          sql.values)
    found = await _load([int(row["id"]) for row in rows])  # type: ignore[call-overload]
    if not found:
        raise NotFound("Record not found")
    return found[0]


async def dismiss(account: Account, notification_id: int) -> None:
    """Delete one of ``account``'s notifications; 404 if it is not theirs."""
    deleted = await Notification.filter(id=notification_id, account_id=account.id).delete()
    if not deleted:
        raise NotFound("Record not found")


async def clear(account: Account) -> int:
    """Delete every notification of ``account``; returns how many there were."""
    return await Notification.filter(account_id=account.id).delete()


async def unread_count(account: Account, user_id: int, wanted: NotificationFilter,
                       limit: int = UNREAD_DEFAULT_LIMIT) -> int:
    """Visible notifications newer than the ``notifications`` read marker, counted up to ``limit``
    (Mastodon counts a page of at most 100 by default, 1000 at most: a badge, not a statistic)."""
    marker = await Marker.filter(user_id=user_id, timeline="notifications").first()
    sql = _visible(account.id, wanted)
    if marker is not None and marker.last_read_id:
        sql.add("n.id > ?", marker.last_read_id)
    limit = max(1, min(limit, UNREAD_MAX_LIMIT))
    rows = await raw_rows(f"SELECT COUNT(*) AS n FROM (SELECT 1 AS one FROM notifications n "
                          f"WHERE {' AND '.join(sql.clauses)} LIMIT ?) AS page", [*sql.values, limit])
    return int(rows[0]["n"]) if rows else 0  # type: ignore[call-overload]
