"""SQLite shared by `serve` and a worker: a transaction that reads and then writes must not fail when
another process writes in between (tortoise's deferred BEGIN would give "database is locked")."""

from __future__ import annotations

import asyncio
import sqlite3
import time

import pytest
from tortoise.transactions import in_transaction

from cara_fed.ids import snowflake_id
from cara_fed.models import Tag
from cara_fed.settings import Settings
from tests.support.databases import BACKEND

pytestmark = [pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite locking"), pytest.mark.usefixtures("database")]


def other_process_writes(path: str) -> float:
    """What a second process does: insert one row (waiting up to 5 s for the write lock)."""
    conn = sqlite3.connect(path, timeout=5, isolation_level=None)
    try:
        conn.execute("INSERT INTO tags (id, created_at, name) VALUES (?, '2026-01-01', 'other')", (snowflake_id(),))
        return time.monotonic()
    finally:
        conn.close()


async def test_a_read_then_write_transaction_survives_a_concurrent_writer(settings: Settings) -> None:
    path = settings.database.url[len("sqlite://"):]
    async with in_transaction() as conn:
        before = await Tag.all().using_db(conn).count()  # the transaction has read: a snapshot exists
        writer = asyncio.create_task(asyncio.to_thread(other_process_writes, path))
        await asyncio.sleep(0.3)  # the other writer is now waiting for our write lock
        await Tag.create(name="mira", using_db=conn)
        committed_at = time.monotonic()
    other_done_at = await writer
    assert before == 0
    assert other_done_at >= committed_at  # it waited for us instead of slipping in
    assert sorted(await Tag.all().values_list("name", flat=True)) == ["mira", "other"]
