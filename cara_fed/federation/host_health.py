"""Which remote hosts are worth delivering to. Mastodon (app/lib/delivery_failure_tracker.rb) gives up on a
host after failures on 7 distinct days and resumes as soon as the host shows life: a successful delivery or
any activity it sends us. Deliveries to an unreachable host fail at once, visibly (a dead job with the
reason), instead of retrying for two more days."""

from __future__ import annotations

from datetime import UTC, datetime
from urllib.parse import urlsplit

from cara_fed.models import DeliveryHost

UNREACHABLE_AFTER_DAYS = 7


def host_of(url: str) -> str:
    return (urlsplit(url).netloc or "").lower()


async def failures(url: str) -> dict[str, object] | None:
    """The host's row if it has failures (``failure_days``, ``unreachable_since``), else None. One raw read:
    this runs for every delivery and every incoming activity, and a healthy host has no such row
    (bench/deliver.py). A delivery reads it once, before its POST, and hands it to :func:`reset_failures`."""
    conn = DeliveryHost._meta.db
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(
        f"SELECT failure_days, unreachable_since FROM delivery_hosts WHERE domain = {mark} AND failure_days > 0",
        [host_of(url)])
    return rows[0] if rows else None


def unreachable(row: dict[str, object] | None) -> bool:
    """Whether a row from :func:`failures` marks the host unreachable."""
    return row is not None and row["unreachable_since"] is not None


async def is_unreachable(url: str) -> bool:
    return unreachable(await failures(url))


async def record_success(url: str) -> None:
    await reset_failures(url, await failures(url))


async def reset_failures(url: str, failing: dict[str, object] | None) -> None:
    """The host answered: clear its failures. ``failing`` is what :func:`failures` said (a delivery read it
    before its POST, so a healthy host costs no second read). A failure another process records in between
    is cleared at the host's next success instead: the count is of failing days, and the host is alive."""
    if failing is None:
        return  # the usual case: nothing to reset, and no write (SQLite's write lock is shared)
    await DeliveryHost.filter(domain=host_of(url)).update(
        failure_days=0, unreachable_since=None, last_success_at=datetime.now(UTC))


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


async def host_is_alive(url: str) -> None:
    """The host sent us something: it is reachable again."""
    await record_success(url)
