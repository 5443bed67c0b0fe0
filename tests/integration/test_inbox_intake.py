"""federation/inbox_intake.py on the pass's real database: what a store returns is committed, requests
stored together are checked and stored one by one (a refused one does not stop the others), a batch that
fails fails every request in it and stores none, and the row is the one ``enqueue_incoming`` writes."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest
from tortoise.connection import get_connection

from cara_fed.federation import inbox_intake
from cara_fed.federation.inbox import INBOX_JOB, enqueue_incoming
from cara_fed.federation.inbox_intake import Delivery, Outcome
from cara_fed.models import DomainBlock, Job
from cara_fed.services import accounts
from cara_fed.settings import Settings

pytestmark = pytest.mark.usefixtures("database")

EVE = "https://remote.example/users/eve"


def create(n: int, actor: str = EVE) -> dict[str, Any]:
    return {"id": f"{actor}/activities/{n}", "type": "Create", "actor": actor,
            "object": {"id": f"{actor}/notes/{n}", "type": "Note", "content": f"<p>{n}</p>"}}


def delivery(n: int, username: str | None = None, actor: str = EVE) -> Delivery:
    return Delivery(create(n, actor), signer=actor, username=username, hosts=(actor, f"{actor}#main-key"))


async def test_each_request_of_a_burst_gets_its_own_outcome(settings: Settings) -> None:
    await accounts.create_local_account("mira", "mira@example.com", "correct horse battery staple")
    await DomainBlock.create(domain="blocked.example", severity="suspend")
    blocked = "https://blocked.example/users/x"

    outcomes = await asyncio.gather(
        inbox_intake.store(delivery(1, "Mira")), inbox_intake.store(delivery(2)),
        inbox_intake.store(delivery(3, "ghost")), inbox_intake.store(delivery(4, actor=blocked)))
    again = await inbox_intake.store(delivery(1))

    assert outcomes == [Outcome.STORED, Outcome.STORED, Outcome.NO_RECIPIENT, Outcome.DOMAIN_REFUSED]
    assert again is Outcome.DUPLICATE
    jobs = {job.payload["activity"]["id"]: job for job in await Job.filter(kind=INBOX_JOB)}
    assert sorted(jobs) == [f"{EVE}/activities/1", f"{EVE}/activities/2"]
    assert jobs[f"{EVE}/activities/1"].payload["recipient"] == "mira"  # canonical, as check_inbox_owner
    assert jobs[f"{EVE}/activities/2"].payload["recipient"] is None


async def test_repeats_in_one_burst_are_stored_once_and_told_apart(settings: Settings) -> None:
    assert await inbox_intake.store(delivery(1)) is Outcome.STORED
    # one batch: a new activity, the same again, one stored before, another new one
    outcomes = await asyncio.gather(*(inbox_intake.store(delivery(n)) for n in (2, 2, 1, 3)))

    # (which of the two same ones is first is SQLite's batch order, PostgreSQL's race: either way one of them)
    assert sorted(o.value for o in outcomes[:2]) == ["duplicate", "stored"]
    assert outcomes[2:] == [Outcome.DUPLICATE, Outcome.STORED]
    assert sorted(job.payload["activity"]["id"] for job in await Job.filter(kind=INBOX_JOB)) == [
        f"{EVE}/activities/{n}" for n in (1, 2, 3)]


async def test_the_row_is_the_one_enqueue_incoming_writes(settings: Settings) -> None:
    assert await inbox_intake.store(delivery(1)) is Outcome.STORED
    assert await enqueue_incoming(create(2), signer=EVE, recipient=None)
    rows = {job.payload["activity"]["id"]: job for job in await Job.filter(kind=INBOX_JOB)}
    ours, theirs = rows[f"{EVE}/activities/1"], rows[f"{EVE}/activities/2"]
    for field in ("kind", "state", "attempts", "max_attempts", "lease_until_ms", "locked_by", "last_error",
                  "finished_at"):
        assert getattr(ours, field) == getattr(theirs, field), field
    assert ours.payload == {"activity": create(1), "signer": EVE, "recipient": None}
    assert ours.unique_key is not None and len(ours.unique_key) == 64
    assert abs(ours.give_up_at_ms - ours.run_after_ms - (theirs.give_up_at_ms - theirs.run_after_ms)) < 1000
    # the same unique key: the other path refuses the intake's activity as a duplicate, and back
    assert not await enqueue_incoming(create(1), signer=EVE, recipient=None)
    assert await inbox_intake.store(delivery(2)) is Outcome.DUPLICATE


async def test_what_a_store_returns_is_committed(settings: Settings) -> None:
    if not settings.database.url.startswith("sqlite://"):
        pytest.skip("the group commit is SQLite's; PostgreSQL stores with enqueue_incoming")
    assert await inbox_intake.store(delivery(1)) is Outcome.STORED
    # another connection (another process) sees the row: it was committed before store returned
    with sqlite3.connect(settings.database.url.removeprefix("sqlite://")) as other:
        assert other.execute("SELECT count(*) FROM jobs WHERE kind = ?", (INBOX_JOB,)).fetchone()[0] == 1


async def test_a_failing_batch_fails_every_request_in_it_and_stores_none(
        settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    if not settings.database.url.startswith("sqlite://"):
        pytest.skip("the group commit is SQLite's")
    real = inbox_intake._insert_rows

    def insert_then_fail(*args: Any) -> int:  # the rows are written, then the disk fails before the commit
        real(*args)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(inbox_intake, "_insert_rows", insert_then_fail)
    # Started together, the five requests queue up before the flusher's first turn: one batch.
    results = await asyncio.gather(*(inbox_intake.store(delivery(n)) for n in range(5)), return_exceptions=True)

    assert all(isinstance(r, sqlite3.OperationalError) for r in results), results
    assert await Job.filter(kind=INBOX_JOB).count() == 0  # rolled back: the rows written are not kept
    monkeypatch.setattr(inbox_intake, "_insert_rows", real)
    assert await inbox_intake.store(delivery(1)) is Outcome.STORED  # the intake goes on after a failure


async def test_sqlite_intake_commits_wait_for_the_disk_on_a_connection_of_their_own(settings: Settings) -> None:
    if not settings.database.url.startswith("sqlite://"):
        pytest.skip("PostgreSQL commits wait for the disk anyway (synchronous_commit on)")
    client = get_connection("default")
    assert await inbox_intake.store(delivery(1)) is Outcome.STORED
    durable = await client.durable_connection()
    assert durable is not None
    async with durable.execute("PRAGMA synchronous") as cursor:
        assert (await cursor.fetchone())[0] == 2  # FULL: the WAL is synced at each commit
    assert await client.execute_query_dict("PRAGMA synchronous") == [{"synchronous": 1}]  # NORMAL elsewhere

    await client.close()  # closing the database closes both
    assert client._durable is None and not durable._running
