"""The durable job queue and runner, in process, on the pass's real database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

import tests.support.job_plugin  # noqa: F401 - registers test.* kinds
from cara_fed.jobs import queue
from cara_fed.jobs.registry import JobContext, RetryJobLater, RetryPolicy, job_kind
from cara_fed.jobs.runner import JobRunner
from cara_fed.models import Account, Job
from cara_fed.models.jobs import DEAD, DONE, QUEUED, RUNNING
from tests.support.job_plugin import FAST_RETRY

pytestmark = pytest.mark.usefixtures("database")

TEST_KINDS = ["test.effect", "test.span", "test.flaky", "test.deferred"]


@job_kind("test.deferred", policy=FAST_RETRY)
async def deferred(ctx: JobContext) -> None:
    raise RetryJobLater("remote said 429", after_seconds=3600)


def runner(**overrides: object) -> JobRunner:
    options: dict[str, object] = {"concurrency": 4, "lease_seconds": 5.0, "poll_seconds": 0.02,
                                  "keep_done_hours": 24.0, "kinds": TEST_KINDS}
    options.update(overrides)
    return JobRunner(**options)  # type: ignore[arg-type]


def effect_payload(tmp_path: Path, **extra: str) -> dict[str, str]:
    return {"effects": str(tmp_path / "effects.log"), **extra}


def effect_lines(tmp_path: Path) -> list[str]:
    path = tmp_path / "effects.log"
    return path.read_text().splitlines() if path.exists() else []


async def test_a_job_commits_or_rolls_back_with_the_change_that_caused_it(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError):
        async with in_transaction() as conn:
            await Account.create(username="mira", using_db=conn)
            await queue.enqueue("test.effect", effect_payload(tmp_path), using_db=conn)
            raise RuntimeError("the request failed after both writes")
    assert await Account.all().count() == 0 and await Job.all().count() == 0

    async with in_transaction() as conn:
        await Account.create(username="mira", using_db=conn)
        await queue.enqueue("test.effect", effect_payload(tmp_path), using_db=conn)
    assert await Account.all().count() == 1 and await Job.all().count() == 1


async def test_unique_key_stores_a_job_once_without_breaking_the_transaction(tmp_path: Path) -> None:
    async with in_transaction() as conn:
        first = await queue.enqueue("test.effect", effect_payload(tmp_path), unique_key="activity:1", using_db=conn)
        second = await queue.enqueue("test.effect", effect_payload(tmp_path), unique_key="activity:1", using_db=conn)
        await Account.create(username="after_the_duplicate", using_db=conn)  # the transaction still works
    assert first is not None and second is None
    assert await Job.all().count() == 1
    assert first.unique_key is not None and len(first.unique_key) == 64  # a digest: any key length fits
    assert await Account.all().count() == 1


async def test_unknown_kinds_cannot_be_enqueued() -> None:
    with pytest.raises(ValueError, match="unknown job kind"):
        await queue.enqueue("no.such.kind", {})


async def test_a_claimed_job_is_leased_to_one_worker(tmp_path: Path) -> None:
    job = await queue.enqueue("test.effect", effect_payload(tmp_path))
    assert job is not None
    claimed = await queue.claim("worker-a", 10, 30, TEST_KINDS)
    assert [j.id for j in claimed] == [job.id]
    assert claimed[0].state == RUNNING and claimed[0].attempts == 1 and claimed[0].locked_by == "worker-a"
    assert await queue.claim("worker-b", 10, 30, TEST_KINDS) == []


async def test_only_the_given_kinds_are_claimed(tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    assert await queue.claim("worker-a", 10, 30, ["test.span"]) == []
    assert len(await queue.claim("worker-a", 10, 30, ["test.effect"])) == 1


async def test_an_expired_lease_lets_another_worker_take_the_job_and_the_first_changes_nothing(
        tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    [job_a] = await queue.claim("worker-a", 1, 30, TEST_KINDS)
    await Job.filter(id=job_a.id).update(lease_until_ms=queue.now_ms() - 1)  # worker-a died long ago
    [job_b] = await queue.claim("worker-b", 1, 30, TEST_KINDS)
    assert job_b.id == job_a.id and job_b.attempts == 2 and job_b.locked_by == "worker-b"
    assert await queue.complete(job_a, "worker-a") is False
    assert await queue.renew_leases("worker-a", [job_a.id], 30) == set()
    assert (await Job.get(id=job_a.id)).state == RUNNING
    assert await queue.complete(job_b, "worker-b") is True
    assert (await Job.get(id=job_a.id)).state == DONE


async def test_a_worker_never_reclaims_its_own_expired_job(tmp_path: Path) -> None:
    """After an event-loop stall longer than the lease the job's first run may still be going on."""
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    [job] = await queue.claim("worker-a", 1, 30, TEST_KINDS)
    await Job.filter(id=job.id).update(lease_until_ms=queue.now_ms() - 1)
    assert await queue.claim("worker-a", 1, 30, TEST_KINDS) == []
    assert [j.id for j in await queue.claim("worker-b", 1, 30, TEST_KINDS)] == [job.id]


async def test_a_job_that_kills_every_worker_is_dead_lettered_not_reclaimed_forever(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(queue, "BURY_EVERY_MS", 0)  # sweep on every claim (normally at most once a second)
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    for n in range(FAST_RETRY.max_attempts):
        [job] = await queue.claim(f"doomed-worker-{n}", 1, 30, TEST_KINDS)
        await Job.filter(id=job.id).update(lease_until_ms=queue.now_ms() - 1)  # the worker was killed
    assert await queue.claim("next-worker", 1, 30, TEST_KINDS) == []
    buried = await Job.get(id=job.id)
    assert buried.state == DEAD and buried.attempts == FAST_RETRY.max_attempts
    assert "stopped" in (buried.last_error or "")


async def test_releasing_on_shutdown_does_not_use_up_an_attempt(tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    for _ in range(FAST_RETRY.max_attempts + 2):
        [job] = await queue.claim("worker-a", 1, 30, TEST_KINDS)
        assert await queue.release("worker-a", [job.id]) == 1
    released = await Job.get(id=job.id)
    assert released.state == QUEUED and released.attempts == 0


async def test_an_id_clash_is_retried_not_mistaken_for_a_duplicate(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    from cara_fed.ids import snowflake_id

    existing = await queue.enqueue("test.effect", effect_payload(tmp_path))
    assert existing is not None
    handed_out: list[int] = []

    def clashing_then_fresh() -> int:
        handed_out.append(existing.id if not handed_out else snowflake_id())
        return handed_out[-1]

    monkeypatch.setattr(queue, "snowflake_id", clashing_then_fresh)
    stored = await queue.enqueue("test.effect", effect_payload(tmp_path), unique_key="activity:2")
    assert stored is not None and stored.id != existing.id and len(handed_out) == 2
    assert await Job.all().count() == 2
    assert await queue.enqueue("test.effect", effect_payload(tmp_path), unique_key="activity:2") is None


async def test_a_claim_takes_the_earliest_due_jobs_first_expired_leases_included(tmp_path: Path) -> None:
    first = await queue.enqueue("test.effect", effect_payload(tmp_path))
    [taken] = await queue.claim("worker-a", 1, 30, TEST_KINDS)
    assert first is not None and taken.id == first.id
    later = [await queue.enqueue("test.effect", effect_payload(tmp_path)) for _ in range(5)]
    await Job.filter(id__in=[j.id for j in later if j]).update(run_after_ms=queue.now_ms() - 10)
    await Job.filter(id=first.id).update(run_after_ms=queue.now_ms() - 1000,  # worker-a died long ago
                                         lease_until_ms=queue.now_ms() - 1)
    claimed = await queue.claim("worker-b", 3, 30, TEST_KINDS)
    # The claim answers with the full rows, as leased: no second read of them.
    assert [j.id for j in claimed] == [first.id] + [j.id for j in later[:2] if j]
    assert all(j.state == RUNNING and j.locked_by == "worker-b" and j.payload == effect_payload(tmp_path)
               for j in claimed)
    assert [j.attempts for j in claimed] == [2, 1, 1]
    assert len(await queue.claim("worker-b", 10, 30, TEST_KINDS)) == 3


async def test_completing_in_one_statement_skips_jobs_whose_lease_was_lost(tmp_path: Path) -> None:
    for _ in range(3):
        await queue.enqueue("test.effect", effect_payload(tmp_path))
    jobs = await queue.claim("worker-a", 3, 30, TEST_KINDS)
    await Job.filter(id=jobs[0].id).update(locked_by="worker-b")  # taken over after worker-a stalled
    assert await queue.complete_many("worker-a", [j.id for j in jobs]) == {jobs[1].id, jobs[2].id}
    assert await Job.filter(state=DONE).count() == 2
    assert (await Job.get(id=jobs[0].id)).state == RUNNING


async def test_a_job_finished_but_not_yet_marked_done_runs_again_after_a_crash(tmp_path: Path) -> None:
    """The runner marks finished jobs done in batches, at its loop's next turn. A process that dies between
    the two has told no one the job was done: its lease runs out and another worker runs it again
    (at-least-once, as handlers expect)."""
    job = await queue.enqueue("test.effect", effect_payload(tmp_path))
    assert job is not None
    crashed = runner()
    [claimed] = await queue.claim(crashed.worker_id, 1, 30, TEST_KINDS)
    await crashed._execute(claimed)  # ran; the process dies before its loop's next turn
    assert effect_lines(tmp_path) and (await Job.get(id=job.id)).state == RUNNING
    await Job.filter(id=job.id).update(lease_until_ms=queue.now_ms() - 1)
    assert await runner().run_until_idle() == 1
    assert (await Job.get(id=job.id)).state == DONE
    assert len(effect_lines(tmp_path)) == 1  # the handler found its own effect: idempotent


async def test_future_jobs_wait_for_their_time(tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path), delay_seconds=3600)
    assert await queue.claim("worker-a", 10, 30, TEST_KINDS) == []


async def test_a_failure_is_retried_later_with_backoff_and_recorded(tmp_path: Path) -> None:
    policy = RetryPolicy(base_seconds=60, factor=2, max_delay_seconds=3600, max_attempts=5)
    await queue.enqueue("test.flaky", {})
    [job] = await queue.claim("w", 1, 30, TEST_KINDS)
    before = queue.now_ms()
    assert await queue.fail(job, "w", "Flaky: boom", policy) == QUEUED
    stored = await Job.get(id=job.id)
    assert stored.last_error == "Flaky: boom" and stored.locked_by is None and stored.lease_until_ms is None
    assert before + 30_000 <= stored.run_after_ms <= queue.now_ms() + 60_000  # half to all of 60 s


async def test_retry_after_is_honoured_when_longer_than_the_backoff() -> None:
    await queue.enqueue("test.deferred", {})
    before = queue.now_ms()
    assert await runner().run_until_idle() == 1
    stored = await Job.get(kind="test.deferred")
    assert stored.state == QUEUED and stored.run_after_ms >= before + 3_600_000
    assert stored.last_error == "RetryJobLater: remote said 429"


async def test_a_job_that_keeps_failing_goes_dead_and_the_admin_can_retry_it() -> None:
    await queue.enqueue("test.flaky", {})
    for _ in range(FAST_RETRY.max_attempts):
        await Job.filter(state=QUEUED).update(run_after_ms=0)  # skip the backoff wait
        assert await runner().run_until_idle() == 1
    dead = await Job.get(kind="test.flaky")
    assert dead.state == DEAD and dead.attempts == FAST_RETRY.max_attempts
    assert dead.last_error == f"Flaky: attempt {FAST_RETRY.max_attempts} failed"
    assert await runner().run_until_idle() == 0  # dead jobs are never claimed

    assert await queue.retry_dead(dead.id) is True
    retried = await Job.get(id=dead.id)
    assert retried.state == QUEUED and retried.attempts == 0
    assert await queue.retry_dead(dead.id) is False  # no longer dead


async def test_a_job_past_its_give_up_time_goes_dead_on_its_next_failure() -> None:
    await queue.enqueue("test.flaky", {"succeed_on": 3})
    await Job.all().update(give_up_at_ms=queue.now_ms() - 1)
    await runner().run_until_idle()
    assert (await Job.get(kind="test.flaky")).state == DEAD


async def test_a_failing_job_succeeds_on_a_later_attempt() -> None:
    await queue.enqueue("test.flaky", {"succeed_on": 3})
    for _ in range(3):
        await Job.filter(state=QUEUED).update(run_after_ms=0)
        await runner().run_until_idle()
    job = await Job.get(kind="test.flaky")
    assert job.state == DONE and job.attempts == 3 and job.last_error is None


async def test_the_runner_loop_runs_jobs_until_stopped(tmp_path: Path) -> None:
    for _ in range(10):
        await queue.enqueue("test.effect", effect_payload(tmp_path))
    stop = asyncio.Event()
    loop_runner = runner(concurrency=3)
    task = asyncio.create_task(loop_runner.run(stop))
    for _ in range(500):
        if await Job.filter(state=DONE).count() == 10:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await Job.filter(state=DONE).count() == 10
    assert len(effect_lines(tmp_path)) == 10


async def test_slots_freed_next_to_slow_jobs_are_refilled_without_waiting_for_the_poll(tmp_path: Path) -> None:
    """The loop wakes per batch of free slots; a slot freed while slow jobs hold the others (a remote host
    timing out) is still refilled within moments, not at the next poll."""
    gate = tmp_path / "gate"
    for _ in range(7):
        await queue.enqueue("test.effect", effect_payload(tmp_path, gate=str(gate)))
    for _ in range(5):
        await queue.enqueue("test.effect", effect_payload(tmp_path))
    stop = asyncio.Event()
    loop_runner = runner(concurrency=8, poll_seconds=30, lease_seconds=60)
    task = asyncio.create_task(loop_runner.run(stop))
    for _ in range(500):
        if len(effect_lines(tmp_path)) == 5:
            break
        await asyncio.sleep(0.02)
    assert len(effect_lines(tmp_path)) == 5  # the quick jobs, one slot at a time, while the gate is shut
    gate.touch()
    for _ in range(500):
        if await Job.filter(state=DONE).count() == 12:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await asyncio.wait_for(task, 10)
    assert await Job.filter(state=DONE).count() == 12


async def test_a_long_job_keeps_its_lease_by_heartbeat_and_is_released_on_shutdown(tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    started = tmp_path / "started.log"
    await queue.enqueue("test.effect", effect_payload(tmp_path, gate=str(gate), started=str(started)))
    stop = asyncio.Event()
    loop_runner = runner(lease_seconds=0.3, shutdown_grace_seconds=0.1)
    task = asyncio.create_task(loop_runner.run(stop))
    for _ in range(500):
        if started.exists():
            break
        await asyncio.sleep(0.02)
    # Several lease periods later the job is still held: the heartbeat renews the lease.
    await asyncio.sleep(1.0)
    assert await queue.claim("another-worker", 1, 30, TEST_KINDS) == []
    stop.set()  # shutdown while the handler is still waiting on its gate
    await asyncio.wait_for(task, 10)
    released = await Job.get(kind="test.effect")
    assert released.state == QUEUED and released.locked_by is None and effect_lines(tmp_path) == []

    gate.touch()
    assert await runner().run_until_idle() == 1
    assert len(effect_lines(tmp_path)) == 1


async def test_a_run_whose_lease_was_taken_over_is_cancelled_at_the_next_heartbeat(tmp_path: Path) -> None:
    gate, started = tmp_path / "gate", tmp_path / "started.log"
    job = await queue.enqueue("test.effect", effect_payload(tmp_path, gate=str(gate), started=str(started)))
    assert job is not None
    stop = asyncio.Event()
    loop_runner = runner(lease_seconds=0.3, shutdown_grace_seconds=0.1)
    task = asyncio.create_task(loop_runner.run(stop))
    for _ in range(500):
        if started.exists():
            break
        await asyncio.sleep(0.02)
    await Job.filter(id=job.id).update(locked_by="the-worker-that-took-over")  # as after a long stall
    for _ in range(500):
        if not loop_runner._running:
            break
        await asyncio.sleep(0.02)
    assert not loop_runner._running  # the local copy was cancelled
    gate.touch()
    stop.set()
    await asyncio.wait_for(task, 10)
    assert effect_lines(tmp_path) == []
    assert (await Job.get(id=job.id)).locked_by == "the-worker-that-took-over"


async def test_old_finished_jobs_are_purged(tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    await runner().run_until_idle()
    assert await queue.purge_done(older_than_hours=1) == 0
    assert await queue.purge_done(older_than_hours=-1) == 1
    assert await Job.all().count() == 0


async def test_counts_by_state(tmp_path: Path) -> None:
    await queue.enqueue("test.effect", effect_payload(tmp_path))
    await queue.enqueue("test.effect", effect_payload(tmp_path), delay_seconds=3600)
    await runner().run_until_idle()
    assert await queue.counts_by_state() == {QUEUED: 1, RUNNING: 0, DONE: 1, DEAD: 0}
