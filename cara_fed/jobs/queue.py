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
    digest = unique_digest(unique_key) if unique_key is not None else None
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


# The INSERT of a new job, shared with federation/inbox_intake.py (which writes many rows in one statement).
INSERT_COLUMNS = ("id", "created_at", "kind", "payload", "state", "attempts", "max_attempts", "run_after_ms",
                  "give_up_at_ms", "unique_key")


def new_row(kind: str, policy: RetryPolicy, payload_json: str, key_digest: str | None, *, now: int,
            created: datetime | str, delay_seconds: float = 0.0) -> tuple[Any, ...]:
    """A new queued job's values, in INSERT_COLUMNS' order. ``created`` as the database takes it
    (``_db_time``); ``payload_json`` already serialized (the inbox writes the activity's JSON into it);
    ``key_digest`` from :func:`unique_digest`, or None."""
    return (snowflake_id(), created, kind, payload_json, QUEUED, 0, policy.max_attempts,
            now + int(delay_seconds * 1000), now + int(policy.give_up_after_seconds * 1000), key_digest)


def unique_digest(unique_key: str) -> str:
    """What the unique_key column holds: a fixed-size digest of the caller's key (an activity id can be
    long)."""
    return hashlib.sha256(unique_key.encode()).hexdigest()


async def _insert(conn: BaseDBAsyncClient, kind: str, policy: RetryPolicy, payload: dict[str, Any],
                  delay_seconds: float, digest: str | None) -> Job | None:
    dialect = conn.capabilities.dialect
    created = datetime.now(UTC)
    values = new_row(kind, policy, orjson.dumps(payload).decode(), digest, now=now_ms(),
                     created=_db_time(conn, created), delay_seconds=delay_seconds)
    conflict = " ON CONFLICT (unique_key) DO NOTHING" if digest is not None else ""
    sql = (f"INSERT INTO jobs ({', '.join(INSERT_COLUMNS)}) VALUES ({_placeholders(dialect, len(values))})"
           f"{conflict} RETURNING id")
    rows = await conn.execute_query_dict(sql, list(values))
    if not rows:
        return None
    row = dict(zip(INSERT_COLUMNS, values, strict=True))
    return Job(**{**row, "created_at": created, "payload": payload})


def _placeholders(dialect: str, count: int) -> str:
    return ", ".join(f"${n}" for n in range(1, count + 1)) if dialect == "postgres" else ", ".join("?" * count)


# Raw statements for the per-job writes: the ORM's UPDATE cost ~250 us of CPU against ~35 us for the same
# statement written out (bench/deliver.py), and a delivery makes one of them per attempt.
_COLUMNS = ", ".join(Job._meta.fields_db_projection.values())


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def _db_time(conn: BaseDBAsyncClient, value: datetime) -> datetime | str:
    # SQLite stores tortoise's DatetimeField as ISO text with a space (its sqlite3 adapter); PostgreSQL
    # takes the datetime.
    return value if conn.capabilities.dialect == "postgres" else value.isoformat(" ")


async def _execute(sql: str, values: list[Any], conn: BaseDBAsyncClient | None = None) -> list[dict[str, Any]]:
    """One statement written with ``?`` placeholders (PostgreSQL gets ``$n``)."""
    conn = conn or Job._meta.db
    if conn.capabilities.dialect == "postgres":
        sql = _numbered(sql)
    return list(await conn.execute_query_dict(sql, values))


def _numbered(sql: str) -> str:
    """``?`` placeholders -> PostgreSQL's ``$1, $2, ...`` (the statements here have no ``?`` in literals)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


def _claim_sql(dialect: str, kinds_count: int) -> str:
    """One statement that picks due jobs and leases them. PostgreSQL skips rows other workers are
    claiming (FOR UPDATE SKIP LOCKED); SQLite runs one writer at a time, so the statement is atomic.
    A worker never re-claims its own jobs (after an event-loop stall longer than the lease it would run a
    second copy). Parameters, in order: lease_until, worker id, now, kinds..., limit, now, worker id, kinds...,
    limit, limit.

    Queued jobs and jobs whose lease ran out are picked by two queries, each walking its own index in order
    and stopping at the limit. One query with an OR of the two made both databases read and sort every due
    job for each claim: with 3,000 queued, 2 ms of CPU per claim on SQLite (bench/deliver.py)."""
    kinds = ", ".join("?" * kinds_count)
    lock = " FOR UPDATE SKIP LOCKED" if dialect == "postgres" else ""
    sql = f"""
        UPDATE jobs SET state = '{RUNNING}', attempts = attempts + 1, lease_until_ms = ?, locked_by = ?
        WHERE id IN (
            SELECT id FROM (
                SELECT id, run_after_ms FROM (
                    SELECT id, run_after_ms FROM jobs
                    WHERE state = '{QUEUED}' AND run_after_ms <= ? AND kind IN ({kinds})
                    ORDER BY run_after_ms LIMIT ?{lock}) AS due
                UNION ALL
                SELECT id, run_after_ms FROM (
                    SELECT id, run_after_ms FROM jobs
                    WHERE state = '{RUNNING}' AND lease_until_ms < ? AND locked_by <> ? AND kind IN ({kinds})
                    ORDER BY lease_until_ms LIMIT ?{lock}) AS expired
            ) AS candidates
            ORDER BY run_after_ms, id
            LIMIT ?)
        RETURNING {_COLUMNS}"""
    return _numbered(sql) if dialect == "postgres" else sql


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
    params: list[Any] = [now + int(lease_seconds * 1000), worker_id, now, *kinds, limit, now, worker_id, *kinds,
                         limit, limit]
    rows = await conn.execute_query_dict(_claim_sql(conn.capabilities.dialect, len(kinds)), params)
    # The claimed rows come back from the UPDATE itself (RETURNING every column, as the ORM's SELECT would
    # read them): a second query per claim cost as much as the claim (bench/deliver.py).
    jobs = [Job._init_from_db(**row) for row in rows]
    jobs.sort(key=lambda job: (job.run_after_ms, job.id))  # RETURNING follows no ORDER BY
    return jobs


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
    rows = await _execute(f"UPDATE jobs SET lease_until_ms = ? WHERE id IN ({_marks(len(ids))}) "
                          f"AND locked_by = ? AND state = '{RUNNING}' RETURNING id",
                          [now_ms() + int(lease_seconds * 1000), *ids, worker_id])
    return {int(row["id"]) for row in rows}


async def complete(job: Job, worker_id: str) -> bool:
    """Mark done. False if this worker no longer held the job (its lease expired and it was re-claimed)."""
    return job.id in await complete_many(worker_id, [job.id])


async def complete_many(worker_id: str, job_ids: Iterable[int]) -> set[int]:
    """Mark these jobs done in one statement; returns the ids this worker still held (the others were taken
    over after its lease ran out, and are left to the worker that holds them now)."""
    ids = list(job_ids)
    if not ids:
        return set()
    conn = Job._meta.db
    rows = await _execute(f"UPDATE jobs SET state = '{DONE}', lease_until_ms = NULL, finished_at = ?, "
                          f"last_error = NULL WHERE id IN ({_marks(len(ids))}) AND locked_by = ? "
                          f"AND state = '{RUNNING}' RETURNING id",
                          [_db_time(conn, datetime.now(UTC)), *ids, worker_id], conn)
    return {int(row["id"]) for row in rows}


async def fail(job: Job, worker_id: str, error: str, policy: RetryPolicy, *,
               retry_after_seconds: float | None = None, permanent: bool = False) -> str:
    """Record a failed run: back to the queue after a backoff delay, or dead when the policy gives up.
    Returns the new state (or ``running`` if this worker had lost the job)."""
    error = error[:MAX_ERROR_CHARS]
    conn = Job._meta.db
    if permanent or job.attempts >= min(policy.max_attempts, job.max_attempts) or now_ms() >= job.give_up_at_ms:
        state = DEAD
        changes = "lease_until_ms = NULL, last_error = ?, finished_at = ?"
        values: list[Any] = [error, _db_time(conn, datetime.now(UTC))]
    else:
        delay = policy.delay_after(job.attempts)
        if retry_after_seconds is not None:
            delay = max(delay, retry_after_seconds)
        state = QUEUED
        changes = "lease_until_ms = NULL, locked_by = NULL, last_error = ?, run_after_ms = ?"
        values = [error, now_ms() + int(delay * 1000)]
    rows = await _execute(f"UPDATE jobs SET state = '{state}', {changes} WHERE id = ? AND locked_by = ? "
                          f"AND state = '{RUNNING}' RETURNING id", [*values, job.id, worker_id], conn)
    return state if rows else RUNNING


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
