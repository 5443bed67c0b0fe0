"""The stored ``Account`` of a remote actor by its URI, for the inbox job (every incoming activity needs its
sender's row), in one raw query instead of the ORM's (bench/inbox_handler.py: the ORM's select and model
construction were a few hundred microseconds of the handler's CPU).

The row is always read (so a suspension, a refetch or a deletion by any process is seen at once); only
turning it into an ``Account`` is cached: when the row read is exactly the row the cached object was built
from, the object is reused (also by concurrent jobs of the same sender: a handler that changes the actor
saves it at once, as a refetch would). A handler that changes the object saves it (the row then differs,
``updated_at`` at least) or fails, and process_incoming drops the entry on failure (:func:`forget`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from weakref import WeakKeyDictionary

from cara_fed.federation import sqlite_batches
from cara_fed.federation.actors import ACTOR_REFRESH_AFTER, RemoteActors
from cara_fed.models import Account

MAX_CACHED = 4096  # actors; past it the cache starts again (a burst comes from few actors)

# One cache per RemoteActors, i.e. per app or worker: two instances in one process (the federation tests)
# each have their own rows for the same URI.
_CACHES: WeakKeyDictionary[RemoteActors, dict[str, tuple[dict[str, Any], Account]]] = WeakKeyDictionary()


def row_query(uri: str) -> sqlite_batches.Statement:
    """The read :func:`stored_actor` needs, for a caller that sends it along with reads of its own."""
    return "SELECT * FROM accounts WHERE uri = ?", [uri]


async def stored_actor(actors: RemoteActors, uri: str, rows: list[dict[str, Any]] | None = None) -> Account:
    """``actors.get_actor(uri)`` (the stored actor, refetched when older than a day; ActorUnavailable when it
    is neither stored nor fetchable), with the stored, fresh case answered by one raw query (``rows``: its
    answer, when the caller read it already)."""
    if rows is None:  # (with other jobs' reads in one trip on SQLite: federation/sqlite_batches.py)
        rows, = await sqlite_batches.run(Account._meta.db, [row_query(uri)], write=False)
    if not rows:
        return await actors.get_actor(uri)
    row = rows[0]
    cache = _CACHES.setdefault(actors, {})
    cached = cache.get(uri)
    if cached is not None and cached[0] == row:
        account = cached[1]
    else:
        account = Account._init_from_db(**row)
        if len(cache) >= MAX_CACHED:
            cache.clear()
        cache[uri] = (row, account)
    if account.last_fetched_at is None or datetime.now(UTC) - account.last_fetched_at >= ACTOR_REFRESH_AFTER:
        forget(actors, uri)
        return await actors.get_actor(uri)  # stale: refetched (or kept as it is while its server is away)
    return account


def forget(actors: RemoteActors, uri: str | None) -> None:
    """Drop the cached object (its handler failed: it may have changed the object without saving)."""
    cache = _CACHES.get(actors)
    if cache is not None and uri is not None:
        cache.pop(uri, None)
