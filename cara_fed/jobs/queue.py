"""The job table's operations: enqueue, claim with a lease, heartbeat, finish, retry, dead-letter.

State machine: queued -> running -> done | queued (retry later) | dead (kept for the admin).
A running job whose lease has expired (its worker died) is due again and may be claimed by any worker.
Every write after the claim is guarded by ``locked_by``: a worker that lost its lease changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.connection import get_connection
from tortoise.exceptions import IntegrityError
from tortoise.expressions import F, Q

from cara_fed.ids import snowflake_id
from cara_fed.jobs.registry import RetryPolicy, get_kind
from cara_fed.models.jobs import DEAD, DONE, QUEUED, RUNNING, Job

MAX_ERROR_CHARS = 2000
BURY_EVERY_MS = 1000
_last_burial_ms = 0


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def enqueue(kind: str, payload: dict[str, Any] | None = None, *, delay_seconds: float = 0.0,
                  unique_key: str | None = None, using_db: BaseDBAsyncClient | None = None) -> Job | None:
    """Store a job. Pass the caller's transaction as ``using_db`` so the job commits (or not) with the
    change that caused it. With ``unique_key``, a second job with the same key is not stored and None is
    returned (ON CONFLICT on the key, which does not abort the caller's transaction).

    One raw INSERT: this is on the inbox's request path, where the ORM's insert (plus the read-back a
    conflict-ignoring bulk insert needs) cost several times the statement itself (bench/inbox.py)."""
    job_kind = get_kind(kind)
    if job_kind is None:
        raise ValueError(f"unknown job kind {kind!r}")
    digest = hashlib.sha256(unique_key.encode()).hexdigest() if unique_key is not None else None
    conn = using_db or get_connection("default")
    for attempt in range(3):
        try:
            return await _insert(conn, kind, job_kind.policy, payload or {}, delay_seconds, digest)
        except IntegrityError:
            # Only the primary key can clash here (the unique key has ON CONFLICT): two processes drew the
            # same Snowflake id in one millisecond. Retry with a new id, unless inside the caller's
            # transaction, which the failed statement may have aborted (PostgreSQL): then the caller fails.
            if using_db is not None or attempt == 2:
                raise
    raise AssertionError("unreachable")


async def _insert(conn: BaseDBAsyncClient, kind: str, policy: RetryPolicy, payload: dict[str, Any],
                  delay_seconds: float, digest: str | None) -> Job | None:
    dialect = conn.capabilities.dialect
    now = now_ms()
    created = datetime.now(UTC)
    job = Job(id=snowflake_id(), created_at=created, kind=kind, payload=payload, state=QUEUED,
              attempts=0, run_after_ms=now + int(delay_seconds * 1000), max_attempts=policy.max_attempts,
              give_up_at_ms=now + int(policy.give_up_after_seconds * 1000), unique_key=digest)
    values = [job.id, created if dialect == "postgres" else created.isoformat(" "), kind,
              orjson.dumps(job.payload).decode(), QUEUED, 0, job.max_attempts, job.run_after_ms, job.give_up_at_ms,
              digest]
    conflict = " ON CONFLICT (unique_key) DO NOTHING" if digest is not None else ""
    sql = ("INSERT INTO jobs (id, created_at, kind, payload, state, attempts, max_attempts, run_after_ms, "
           f"give_up_at_ms, unique_key) VALUES ({_placeholders(dialect, len(values))}){conflict} RETURNING id")
    rows = await conn.execute_query_dict(sql, values)
    return job if rows else None


def _placeholders(dialect: str, count: int) -> str:
    return ", ".join(f"${n}" for n in range(1, count + 1)) if dialect == "postgres" else ", ".join("?" * count)


def _claim_sql(dialect: str, kinds_count: int) -> str:
    """One statement that picks due jobs and leases them. PostgreSQL skips rows other workers are
    claiming (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a time, so the statement is atomic.
    A worker never re-claims its own jobs (after an event-loop stall longer than the lease it would run a
    second copy). Parameters, in order: lease_until, worker id, now, now, worker id, kinds..., limit."""
    if dialect == "postgres":
        kinds = ", ".join(f"${i}" for i in range(6, 6 + kinds_count))
        return f"""
            UPDATE jobs SET state = '{RUNNING}', attempts = attempts + 1, lease_until_ms = $1, locked_by = $2
            WHERE id IN (
                SELECT id FROM jobs
                WHERE ((state = '{QUEUED}' AND run_after_ms <= $3)
                       OR (state = '{RUNNING}' AND lease_until_ms < $4 AND locked_by <> $5))
                  AND kind IN ({kinds})
                ORDER BY run_after_ms, id
                LIMIT ${6 + kinds_count}
                FOR UPDATE SKIP LOCKED)
            RETURNING id"""
    kinds = ", ".join("?" for _ in range(kinds_count))
    return f"""
        UPDATE jobs SET state = '{RUNNING}', attempts = attempts + 1, lease_until_ms = ?, locked_by = ?
        WHERE id IN (
            SELECT id FROM jobs
            WHERE ((state = '{QUEUED}' AND run_after_ms <= ?)
                   OR (state = '{RUNNING}' AND lease_until_ms < ? AND locked_by <> ?))
              AND kind IN ({kinds})
            ORDER BY run_after_ms, id
            LIMIT ?)
        RETURNING id"""


async def claim(worker_id: str, limit: int, lease_seconds: float, kinds: Sequence[str]) -> list[Job]:
    """Lease up to ``limit`` due jobs of the given kinds to ``worker_id``."""
    if limit <= 0 or not kinds:
        return []
    conn = get_connection("default")
    now = now_ms()
    global _last_burial_ms
    if now - _last_burial_ms >= BURY_EVERY_MS:  # a sweep per claim would double every claim's cost
        _last_burial_ms = now
        await _bury_crashed(now)
    params: list[Any] = [now + int(lease_seconds * 1000), worker_id, now, now, worker_id, *kinds, limit]
    rows = await conn.execute_query_dict(_claim_sql(conn.capabilities.dialect, len(kinds)), params)
    ids = [row["id"] for row in rows]
    if not ids:
        return []
    return await Job.filter(id__in=ids).order_by("run_after_ms", "id")


async def _bury_crashed(now: int) -> int:
    """Dead-letter running jobs whose worker vanished (lease expired) once they are out of attempts or
    time: a job that crashes every worker that takes it must not be re-claimed forever."""
    return await Job.filter(state=RUNNING, lease_until_ms__lt=now).filter(
        Q(attempts__gte=F("max_attempts")) | Q(give_up_at_ms__lte=now)).update(
        state=DEAD, lease_until_ms=None, finished_at=datetime.now(UTC),
        last_error="the worker running it stopped (crash or kill) and no attempts or time are left")


async def renew_leases(worker_id: str, job_ids: Iterable[int], lease_seconds: float) -> set[int]:
    """Heartbeat: push the leases of jobs this worker is running. Returns the ids it still holds (a job
    missing from the answer was taken over after this worker's lease ran out)."""
    ids = list(job_ids)
    if not ids:
        return set()
    await Job.filter(id__in=ids, locked_by=worker_id, state=RUNNING).update(
        lease_until_ms=now_ms() + int(lease_seconds * 1000))
    return set(await Job.filter(id__in=ids, locked_by=worker_id, state=RUNNING).values_list("id", flat=True))


async def complete(job: Job, worker_id: str) -> bool:
    """Mark done. False if this worker no longer held the job (its lease expired and it was re-claimed)."""
    changed = await Job.filter(id=job.id, locked_by=worker_id, state=RUNNING).update(
        state=DONE, lease_until_ms=None, finished_at=datetime.now(UTC), last_error=None)
    return changed == 1


async def fail(job: Job, worker_id: str, error: str, policy: RetryPolicy, *,
               retry_after_seconds: float | None = None, permanent: bool = False) -> str:
    """Record a failed run: back to the queue after a backoff delay, or dead when the policy gives up.
    Returns the new state (or ``running`` if this worker had lost the job)."""
    error = error[:MAX_ERROR_CHARS]
    if permanent or job.attempts >= min(policy.max_attempts, job.max_attempts) or now_ms() >= job.give_up_at_ms:
        changes: dict[str, Any] = {"state": DEAD, "lease_until_ms": None, "last_error": error,
                                   "finished_at": datetime.now(UTC)}
    else:
        delay = policy.delay_after(job.attempts)
        if retry_after_seconds is not None:
            delay = max(delay, retry_after_seconds)
        changes = {"state": QUEUED, "lease_until_ms": None, "locked_by": None, "last_error": error,
                   "run_after_ms": now_ms() + int(delay * 1000)}
    changed = await Job.filter(id=job.id, locked_by=worker_id, state=RUNNING).update(**changes)
    return changes["state"] if changed == 1 else RUNNING


async def release(worker_id: str, job_ids: Iterable[int]) -> int:
    """Give jobs back without counting a failure (graceful shutdown): the claim's attempt is taken back
    and the job is due again at once for any worker."""
    ids = list(job_ids)
    if not ids:
        return 0
    return await Job.filter(id__in=ids, locked_by=worker_id, state=RUNNING).update(
        state=QUEUED, lease_until_ms=None, locked_by=None, run_after_ms=now_ms(), attempts=F("attempts") - 1)


async def retry_dead(job_id: int) -> bool:
    """The admin's retry: a dead job is queued again with a fresh attempt count and retry period."""
    job = await Job.get_or_none(id=job_id, state=DEAD)
    job_kind = get_kind(job.kind) if job is not None else None
    if job is None or job_kind is None:
        return False
    now = now_ms()
    changed = await Job.filter(id=job_id, state=DEAD).update(
        state=QUEUED, attempts=0, run_after_ms=now, finished_at=None, locked_by=None,
        max_attempts=job_kind.policy.max_attempts,
        give_up_at_ms=now + int(job_kind.policy.give_up_after_seconds * 1000))
    return changed == 1


async def purge_done(older_than_hours: float) -> int:
    cutoff = datetime.now(UTC) - timedelta(hours=older_than_hours)
    return await Job.filter(state=DONE, finished_at__lt=cutoff).delete()


async def counts_by_state() -> dict[str, int]:
    counts = {QUEUED: 0, RUNNING: 0, DONE: 0, DEAD: 0}
    for state in counts:
        counts[state] = await Job.filter(state=state).count()
    return counts
