"""Delivery host health (federation/host_health.py): its in-memory answers never hide this process's own
writes, nor outlive their database, nor survive a rolled-back transaction."""

from __future__ import annotations

import pytest
from tortoise.transactions import in_transaction

from cara_fed.federation import host_health
from cara_fed.models import DeliveryHost

pytestmark = pytest.mark.usefixtures("database")

INBOX = "https://remote.example/inbox"


async def test_a_healthy_host_is_read_once_then_remembered() -> None:
    assert await host_health.failures(INBOX) is None
    # A row written behind this module's back (as another process would) is seen once the answer expires.
    await DeliveryHost.create(domain="remote.example", failure_days=3)
    assert await host_health.failures(INBOX) is None
    for hosts in host_health._cache.values():
        hosts.clear()  # as after CACHE_SECONDS
    row = await host_health.failures(INBOX)
    assert row is not None and row["failure_days"] == 3


async def test_this_process_s_writes_are_seen_at_once() -> None:
    assert not await host_health.is_unreachable(INBOX)
    for day in range(1, 8):
        await host_health.record_failure(INBOX, "HTTP 503")
        await DeliveryHost.filter(domain="remote.example").update(last_failure_day=f"2026-01-0{day}")
        assert (await host_health.failures(INBOX) or {}).get("failure_days") == day
    assert await host_health.is_unreachable(INBOX)
    await host_health.host_is_alive("https://remote.example/users/zoe")
    assert await host_health.failures(INBOX) is None
    assert (await DeliveryHost.get(domain="remote.example")).failure_days == 0


class RolledBack(Exception):
    pass


async def test_a_read_inside_a_transaction_is_not_kept() -> None:
    await DeliveryHost.create(domain="remote.example", failure_days=2)
    with pytest.raises(RolledBack):
        async with in_transaction():
            await DeliveryHost.filter(domain="remote.example").update(failure_days=0)
            assert await host_health.failures(INBOX) is None
            raise RolledBack
    row = await host_health.failures(INBOX)
    assert row is not None and row["failure_days"] == 2
