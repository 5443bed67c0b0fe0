"""An in-memory cache of remote signing keys, meant to be passed as ``resolve_key`` to
``activitypub.signatures.verify_request`` (``resolve_key=cache.get``).

- Fresh entries are served for ``ttl_seconds``; "no such key" answers (a fetch returning None: 404/410) for
  ``negative_ttl_seconds``, so a deleted actor's requests do not refetch every time (security.md item 19).
- Concurrent lookups of one key share one fetch (a burst of deliveries from a new server costs one GET).
- ``refresh=True`` (verification failed: maybe the key rotated) refetches at most once per key per
  ``refresh_cooloff_seconds``, counted from the key's last fetch. Mastodon guards its refetch
  (signature_verification.rb, ``actor_refresh_key!``) with a Stoplight: threshold 1, cool-off 5 minutes. So
  100 forged requests for one keyId cost at most one outbound fetch (security.md item 18), and a key fetched
  moments ago is not fetched again (the refetch would return the same key).
- A failing fetch raises :class:`KeyUnavailable` (503 for the sender, who retries) and is not retried for
  ``failure_backoff_seconds``; meanwhile a cached copy younger than ``stale_if_error_seconds`` is served to
  plain lookups (the key probably did not change), never to a refresh (the cached key just failed).
"""

from __future__ import annotations

import asyncio
import enum
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from activitypub.signatures import KeyUnavailable, PublicKeyRecord

class NotCached(enum.Enum):
    NOT_CACHED = "not cached"


NOT_CACHED = NotCached.NOT_CACHED  # ``peek``: no fresh entry (None would mean "the key does not exist")

Fetch = Callable[[str], Awaitable["PublicKeyRecord | None"]]
_V = TypeVar("_V")


@dataclass(frozen=True)
class _Entry:
    record: PublicKeyRecord | None
    fetched_at: float


def _put(table: OrderedDict[str, _V], key: str, value: _V, limit: int) -> None:
    """Insert as most recent; drop the least recently used beyond ``limit`` (memory stays bounded)."""
    table[key] = value
    table.move_to_end(key)
    while len(table) > limit:
        table.popitem(last=False)


class KeyCache:
    def __init__(self, fetch: Fetch, *, ttl_seconds: float = 3600.0, negative_ttl_seconds: float = 600.0,
                 refresh_cooloff_seconds: float = 300.0, failure_backoff_seconds: float = 30.0,
                 stale_if_error_seconds: float = 86400.0, max_entries: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if min(ttl_seconds, negative_ttl_seconds, refresh_cooloff_seconds, failure_backoff_seconds,
               stale_if_error_seconds) < 0 or max_entries < 1:
            raise ValueError("durations must be >= 0 and max_entries >= 1")
        self._fetch = fetch
        self._ttl, self._negative_ttl = ttl_seconds, negative_ttl_seconds
        self._cooloff, self._backoff = refresh_cooloff_seconds, failure_backoff_seconds
        self._stale_limit = stale_if_error_seconds
        self._max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._failures: OrderedDict[str, float] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[PublicKeyRecord | None]] = {}
        self.fetches = 0  # how many times ``fetch`` was called (for tests and metrics)

    async def get(self, key_id: str, refresh: bool = False) -> PublicKeyRecord | None:
        """The key record (None: the key does not exist). Raises :class:`KeyUnavailable` when it cannot be
        fetched now and no usable copy is cached."""
        now = self._clock()
        entry = self._entries.get(key_id)
        if entry is not None:
            age = now - entry.fetched_at
            fresh_for = self._ttl if entry.record is not None else self._negative_ttl
            if age < (self._cooloff if refresh else fresh_for):
                self._entries.move_to_end(key_id)
                return entry.record
        failed_at = self._failures.get(key_id)
        if failed_at is not None and now - failed_at < self._backoff:
            stale = None if refresh else self._stale_copy(entry, now)
            if stale is None:
                raise KeyUnavailable("key fetch failed recently")
            return stale
        task = self._inflight.get(key_id)
        if task is None:
            task = asyncio.ensure_future(self._fetch_and_store(key_id))
            self._inflight[key_id] = task
            task.add_done_callback(partial(self._finished, key_id))
        try:
            # shield: one waiter being cancelled (its client went away) must not cancel everybody's fetch
            return await asyncio.shield(task)
        except KeyUnavailable:
            # a refresh means the cached key just failed: only a fresh copy can help, so 503 (retry later)
            stale = None if refresh else self._stale_copy(entry, self._clock())
            if stale is None:
                raise
            return stale

    def peek(self, key_id: str) -> PublicKeyRecord | None | NotCached:
        """The fresh entry ``get(key_id)`` would answer without fetching, or :data:`NOT_CACHED` (absent or
        past its TTL). Never fetches and changes nothing: for a caller that must not cause a fetch before
        other checks have passed (the inbox drops suspended domains before any fetch)."""
        entry = self._entries.get(key_id)
        if entry is None:
            return NOT_CACHED
        fresh_for = self._ttl if entry.record is not None else self._negative_ttl
        return entry.record if self._clock() - entry.fetched_at < fresh_for else NOT_CACHED

    def invalidate(self, key_id: str) -> None:
        """Forget a key (the application learnt it changed, e.g. from a signed ``Update`` of the actor)."""
        self._entries.pop(key_id, None)
        self._failures.pop(key_id, None)

    def _stale_copy(self, entry: _Entry | None, now: float) -> PublicKeyRecord | None:
        """A known key young enough to keep using while its server cannot be reached."""
        if entry is not None and entry.record is not None and now - entry.fetched_at < self._stale_limit:
            return entry.record
        return None

    async def _fetch_and_store(self, key_id: str) -> PublicKeyRecord | None:
        self.fetches += 1
        try:
            record = await self._fetch(key_id)
            if record is not None and not isinstance(record, PublicKeyRecord):
                raise TypeError("fetch must return a PublicKeyRecord or None")
        except Exception as exc:  # CancelledError is a BaseException: shutdown passes through
            _put(self._failures, key_id, self._clock(), self._max_entries)
            if isinstance(exc, KeyUnavailable):
                raise
            raise KeyUnavailable(f"key fetch failed: {type(exc).__name__}") from exc
        self._failures.pop(key_id, None)
        _put(self._entries, key_id, _Entry(record, self._clock()), self._max_entries)
        return record

    def _finished(self, key_id: str, task: asyncio.Task[PublicKeyRecord | None]) -> None:
        if self._inflight.get(key_id) is task:
            del self._inflight[key_id]
        if not task.cancelled():
            task.exception()  # retrieved here, so a failure nobody awaited any more is not logged as lost
