"""Which remote hosts are worth delivering to. Mastodon (app/lib/delivery_failure_tracker.rb) gives up on a
host after failures on 7 distinct days and resumes as soon as the host shows life: a successful delivery or
any activity it sends us. Deliveries to an unreachable host fail at once, visibly (a dead job with the
reason), instead of retrying for two more days.

Every delivery and every incoming activity asks about its host, so the answer is kept in memory for
``CACHE_SECONDS`` per database and host. This process's own writes (here) drop it at once; a failure that
another process (a second worker) records is seen here up to ``CACHE_SECONDS`` late, which matters nothing
for a count of failing days: at worst a few more deliveries go to a host that has just been marked
unreachable, or one success does not clear a failure recorded seconds before (the next one will)."""

from __future__ import annotations

import time
import weakref
from datetime import UTC, datetime
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient

from cara_fed.models import DeliveryHost

UNREACHABLE_AFTER_DAYS = 7
CACHE_SECONDS = 30.0
CACHE_MAX_HOSTS = 10_000  # per database; past it the cache starts over (a bound, not an LRU)

Failing = dict[str, object]  # failure_days, unreachable_since

# Per database client (weakly: a closed database's entries go with it, so tests' databases never share
# answers), per host: (monotonic expiry, the failures() answer).
_cache: weakref.WeakKeyDictionary[BaseDBAsyncClient, dict[str, tuple[float, Failing | None]]] = \
    weakref.WeakKeyDictionary()
_writes = 0  # host rows this process has changed: a read that overlapped one is not kept


def host_of(url: str) -> str:
    return (urlsplit(url).netloc or "").lower()


async def failures(url: str) -> Failing | None:
    """The host's row if it has failures (``failure_days``, ``unreachable_since``), else None (a healthy
    host has no such row). From the cache when asked in the last ``CACHE_SECONDS``, else one raw read
    (bench/deliver.py). A delivery reads it once, before its POST, and hands it to :func:`reset_failures`."""
    conn = DeliveryHost._meta.db
    host = host_of(url)
    # Inside a transaction the answer may be one that is rolled back: read it, and keep nothing.
    hosts = None if isinstance(conn, TransactionalDBClient) else _cache.setdefault(conn, {})
    now, writes = time.monotonic(), _writes
    if hosts is not None:
        cached = hosts.get(host)
        if cached is not None and cached[0] > now:
            return cached[1]
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(
        f"SELECT failure_days, unreachable_since FROM delivery_hosts WHERE domain = {mark} AND failure_days > 0",
        [host])
    row = rows[0] if rows else None
    if hosts is not None and writes == _writes:
        if len(hosts) >= CACHE_MAX_HOSTS:
            hosts.clear()
        hosts[host] = (now + CACHE_SECONDS, row)
    return row


def _forget(host: str) -> None:
    """This process has changed the host's row: no database's cached answer about it holds any more, nor
    does the answer of a read that was under way meanwhile."""
    global _writes
    _writes += 1
    for hosts in list(_cache.values()):
        hosts.pop(host, None)


def unreachable(row: Failing | None) -> bool:
    """Whether a row from :func:`failures` marks the host unreachable."""
    return row is not None and row["unreachable_since"] is not None


async def is_unreachable(url: str) -> bool:
    return unreachable(await failures(url))


async def record_success(url: str) -> None:
    await reset_failures(url, await failures(url))


async def reset_failures(url: str, failing: Failing | None) -> None:
    """The host answered: clear its failures. ``failing`` is what :func:`failures` said (a delivery read it
    before its POST, so a healthy host costs no second read). A failure another process records in between
    is cleared at the host's next success instead: the count is of failing days, and the host is alive."""
    if failing is None:
        return  # the usual case: nothing to reset, and no write (SQLite's write lock is shared)
    await DeliveryHost.filter(domain=host_of(url)).update(
        failure_days=0, unreachable_since=None, last_success_at=datetime.now(UTC))
    _forget(host_of(url))


async def record_failure(url: str, error: str) -> None:
    now = datetime.now(UTC)
    today = now.date().isoformat()
    host, _ = await DeliveryHost.get_or_create(domain=host_of(url))
    if host.last_failure_day != today:
        host.failure_days += 1
        host.last_failure_day = today
    host.last_error = error[:500]
    if host.failure_days >= UNREACHABLE_AFTER_DAYS and host.unreachable_since is None:
        host.unreachable_since = now
    await host.save()
    _forget(host.domain)


async def host_is_alive(url: str) -> None:
    """The host sent us something: it is reachable again."""
    await record_success(url)
