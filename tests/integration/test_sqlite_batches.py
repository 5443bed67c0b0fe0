"""federation/sqlite_batches.py: groups of statements from concurrent tasks share one trip (on SQLite), and
each group still applies all or nothing, alone. On PostgreSQL the same calls run statement by statement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cara_fed.federation import sqlite_batches
from cara_fed.ids import snowflake_id
from cara_fed.models import Tag

pytestmark = pytest.mark.usefixtures("database")


def conn():  # type: ignore[no-untyped-def]
    return Tag._meta.db


def insert_tag(name: str) -> tuple[str, list[object]]:
    now = datetime.now(UTC)
    created = now if conn().capabilities.dialect == "postgres" else now.isoformat(" ")
    return "INSERT INTO tags (id, created_at, name) VALUES (?, ?, ?) RETURNING name", [snowflake_id(), created, name]


async def names() -> list[str]:
    return sorted(await Tag.all().values_list("name", flat=True))


async def test_concurrent_groups_apply_each_and_a_failing_group_fails_alone() -> None:
    await sqlite_batches.run(conn(), [insert_tag("taken")], write=True)

    async def group(n: int) -> list[list[dict[str, object]]]:
        # Group 3 inserts a fresh tag, then one whose name is taken: neither may stay.
        statements = [insert_tag(f"tag{n}")] + ([insert_tag("taken")] if n == 3 else [])
        return await sqlite_batches.run(conn(), statements, write=True)

    outcomes = await asyncio.gather(*(group(n) for n in range(8)), return_exceptions=True)
    assert isinstance(outcomes[3], IntegrityError)
    assert [o for n, o in enumerate(outcomes) if n != 3] == [[[{"name": f"tag{n}"}]] for n in range(8) if n != 3]
    assert await names() == sorted(["taken", *(f"tag{n}" for n in range(8) if n != 3)])


async def test_reads_see_committed_rows_and_go_with_writes() -> None:
    await sqlite_batches.run(conn(), [insert_tag("ink")], write=True)
    read = ("SELECT name FROM tags WHERE name = ?", ["ink"])
    reads, writes = await asyncio.gather(sqlite_batches.run(conn(), [read, read], write=False),
                                         sqlite_batches.run(conn(), [insert_tag("paper")], write=True))
    assert reads == [[{"name": "ink"}], [{"name": "ink"}]]
    assert writes == [[{"name": "paper"}]]
    assert await sqlite_batches.run(conn(), [("SELECT name FROM tags WHERE name = ?", ["none"])], write=False) == [[]]


async def test_inside_a_callers_transaction_the_statements_are_part_of_it() -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as tx:
            await sqlite_batches.run(tx, [insert_tag("rolled back")], write=True)
            raise RuntimeError("the caller fails after the statements")
    async with in_transaction() as tx:
        await sqlite_batches.run(tx, [insert_tag("kept")], write=True)
    assert await names() == ["kept"]
