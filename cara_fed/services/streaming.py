"""Streaming (Mastodon's streaming API) by watching the database: one poller per process reads new statuses,
notifications, edits and deletions every ``api.streaming_poll_seconds`` and offers them to each open stream,
which keeps what its viewer would see. The database is the source of truth, so posts stored by separate
`cara-fed worker` processes (or another web process) reach every stream, on SQLite and PostgreSQL alike, at
a cost of a few queries per interval whatever the number of listeners.

Snowflake ids from several processes can commit slightly out of order, so each poll re-reads a short
window below its cursor and skips ids it has already offered."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cara_fed.db import raw_rows
from cara_fed.ids import id_floor_for
from cara_fed.models import Account, Notification
from cara_fed.services.status_views import StatusView, load_status_views

log = logging.getLogger(__name__)

REPLAY_WINDOW_MS = 5_000  # how far below the cursor each poll looks again for late commits
BATCH = 200  # rows per kind per poll (a burst larger than this is delivered over the next polls)
SCOPE_REFRESH_SECONDS = 10.0  # how often a stream re-reads whom its viewer follows, mutes and blocks
STATUS_STREAMS = frozenset({"user", "public", "public:local", "public:remote", "public:media",
                            "public:local:media", "public:remote:media", "hashtag", "hashtag:local"})
KNOWN_STREAMS = STATUS_STREAMS | {"user:notification"}


@dataclass(frozen=True)
class Batch:
    statuses: list[StatusView]
    edited: list[StatusView]
    deleted: list[int]
    notifications: list[Notification]


@dataclass(eq=False)  # compared and hashed by identity: each open stream is its own
class Subscriber:
    """One open stream: its viewer, what it subscribed to, and where its events go."""
    viewer: Account
    send: Callable[[list[str], str, Any], Awaitable[None]]  # (stream names, event, payload)
    subscriptions: set[tuple[str, str | None]] = field(default_factory=set)
    following: dict[int, bool] = field(default_factory=dict)  # followed account id -> shows their boosts
    hidden: set[int] = field(default_factory=set)  # muted or blocked accounts
    scope_read_at: float = 0.0

    async def refresh_scope(self) -> None:
        if time.monotonic() - self.scope_read_at < SCOPE_REFRESH_SECONDS:
            return
        me = self.viewer.id
        rows = await raw_rows("SELECT target_account_id AS id, show_reblogs AS r FROM follows WHERE account_id = ?",
                              [me])
        self.following = {int(r["id"]): bool(r["r"]) for r in rows}  # type: ignore[arg-type]
        rows = await raw_rows("SELECT target_account_id AS id FROM mutes WHERE account_id = ? UNION "
                              "SELECT target_account_id FROM blocks WHERE account_id = ? UNION "
                              "SELECT account_id FROM blocks WHERE target_account_id = ?", [me, me, me])
        self.hidden = {int(r["id"]) for r in rows}  # type: ignore[arg-type]
        self.scope_read_at = time.monotonic()

    def in_home(self, status: StatusView) -> bool:
        me = self.viewer.id
        author = status.account_id
        if author != me and author not in self.following:
            return False
        if status.reblog_of_id is not None and author != me and not self.following.get(author, False):
            return False
        replied = status.in_reply_to_account_id
        if replied is not None and replied not in (author, me) and replied not in self.following:
            return False
        if status.visibility == "direct" and author != me and not any(
                m.account.id == me for m in status.mentions):
            return False
        return True

    def streams_for(self, status: StatusView) -> list[list[str]]:
        """The subscribed streams this status belongs on, for this viewer, as Mastodon names them in
        events (``["user"]``, ``["hashtag", "art"]``)."""
        if status.account_id in self.hidden or status.account.suspended_at is not None:
            return []
        names: list[list[str]] = []
        public = (status.visibility == "public" and status.reblog_of_id is None
                  and status.account.silenced_at is None)
        has_media = bool(status.media_attachments)
        tags = {t.name for t in status.tags}
        for name, tag in self.subscriptions:
            if name == "user":
                matched = self.in_home(status)
            elif name.startswith("public"):
                matched = public and (":local" not in name or status.local) and (
                    ":remote" not in name or not status.local) and (":media" not in name or has_media)
            elif name.startswith("hashtag"):
                matched = public and tag is not None and tag.lower() in tags and (
                    name != "hashtag:local" or status.local)
            else:
                matched = False
            if matched:
                names.append([name] if tag is None else [name, tag])
        return names


class StreamHub:
    """The process's poller and its subscribers. Starts polling with the first subscriber."""

    def __init__(self, poll_seconds: float, render: Callable[[Subscriber, Batch], Awaitable[None]]) -> None:
        self.poll_seconds = poll_seconds
        self.render = render
        self.subscribers: set[Subscriber] = set()
        self._task: asyncio.Task[None] | None = None
        self._status_cursor = 0
        self._notification_cursor = 0
        self._seen: dict[tuple[str, int], float] = {}  # (kind, id) -> when offered
        self._changes_since = datetime.now(UTC)

    def subscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.add(subscriber)
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="stream-poller")

    def unsubscribe(self, subscriber: Subscriber) -> None:
        self.subscribers.discard(subscriber)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        self._status_cursor = self._notification_cursor = id_floor_for(time.time_ns() // 1_000_000)
        self._changes_since = datetime.now(UTC)
        while self.subscribers:
            await asyncio.sleep(self.poll_seconds)
            try:
                batch = await self.poll()
            except asyncio.CancelledError:
                raise
            except Exception:  # a failed poll (database busy) is retried at the next interval
                log.warning("stream poll failed", exc_info=True)
                continue
            if batch.statuses or batch.edited or batch.deleted or batch.notifications:
                for subscriber in list(self.subscribers):
                    try:
                        await self.render(subscriber, batch)
                    except asyncio.CancelledError:
                        raise
                    except Exception:  # one broken stream never stops the others
                        log.warning("stream render failed", exc_info=True)
                        self.unsubscribe(subscriber)

    def _fresh(self, kind: str, ids: list[int]) -> list[int]:
        now = time.monotonic()
        fresh = [i for i in ids if (kind, i) not in self._seen]
        for i in fresh:
            self._seen[(kind, i)] = now
        if len(self._seen) > 10_000:  # forget what is far behind the replay window
            horizon = now - 60
            self._seen = {k: t for k, t in self._seen.items() if t > horizon}
        return fresh

    async def poll(self) -> Batch:
        window = REPLAY_WINDOW_MS << 16
        since_status = max(0, self._status_cursor - window)
        rows = await raw_rows("SELECT id FROM statuses WHERE id > ? AND deleted_at IS NULL ORDER BY id LIMIT ?",
                              [since_status, BATCH])
        status_ids = self._fresh("status", [int(r["id"]) for r in rows])  # type: ignore[arg-type]
        if rows:
            self._status_cursor = max(self._status_cursor, int(rows[-1]["id"]))  # type: ignore[arg-type]
        since_notification = max(0, self._notification_cursor - window)
        notifications = list(await Notification.filter(id__gt=since_notification).order_by("id").limit(BATCH)
                             .select_related("from_account"))
        if notifications:
            self._notification_cursor = max(self._notification_cursor, notifications[-1].id)
        fresh_notifications = set(self._fresh("notification", [n.id for n in notifications]))
        notifications = [n for n in notifications if n.id in fresh_notifications]
        since = self._changes_since - timedelta(milliseconds=REPLAY_WINDOW_MS)
        polled_at = datetime.now(UTC)
        edited_rows = await raw_rows("SELECT id, edited_at FROM statuses WHERE edited_at > ? AND deleted_at IS NULL "
                                     "LIMIT ?", [since, BATCH])
        edited_ids = [int(r["id"]) for r in edited_rows  # type: ignore[arg-type]
                      if self._fresh_edit(int(r["id"]), r["edited_at"])]  # type: ignore[arg-type]
        deleted_rows = await raw_rows("SELECT id FROM statuses WHERE deleted_at > ? LIMIT ?", [since, BATCH])
        deleted = self._fresh("delete", [int(r["id"]) for r in deleted_rows])  # type: ignore[arg-type]
        self._changes_since = polled_at
        views = await load_status_views(status_ids + edited_ids)
        return Batch(statuses=[views[i] for i in status_ids if i in views],
                     edited=[views[i] for i in edited_ids if i in views],
                     deleted=deleted, notifications=notifications)

    def _fresh_edit(self, status_id: int, edited_at: object) -> bool:
        key = ("edit:" + str(edited_at), status_id)
        if key in self._seen:
            return False
        self._seen[key] = time.monotonic()
        return True
