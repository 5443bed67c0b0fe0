"""Job queue throughput: how many jobs per second one runner enqueues and drains, on SQLite and PostgreSQL.

    .venv/bin/python -m bench.jobs_throughput [--jobs 2000] [--concurrency 8] [--backend sqlite|postgres|both]

Prints figures; asserts nothing (benchmarks are never timed tests). PostgreSQL uses a scratch database
on 127.0.0.1:5432 (user postgres) that it creates and drops. Each backend runs in its own process: one
process talks to one kind of database (tortoise caches dialect-specific SQL on the model classes).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import asyncpg

from cara_fed import db
from cara_fed.jobs import queue
from cara_fed.jobs.registry import JobContext, job_kind
from cara_fed.jobs.runner import JobRunner
from cara_fed.settings import DatabaseSettings

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@job_kind("bench.noop")
async def noop(ctx: JobContext) -> None:
    return None


async def measure(url: str, jobs: int, concurrency: int) -> tuple[float, float]:
    settings = DatabaseSettings(url=url)
    async with db.database(settings) as ctx:
        await db.migrate(ctx, settings)
        started = time.perf_counter()
        for _ in range(jobs):
            await queue.enqueue("bench.noop", {"n": 1})
        enqueue_seconds = time.perf_counter() - started
        runner = JobRunner(concurrency=concurrency, lease_seconds=60, poll_seconds=0.05, keep_done_hours=24,
                           kinds=["bench.noop"])
        started = time.perf_counter()
        ran = await runner.run_until_idle(max_rounds=jobs)
        drain_seconds = time.perf_counter() - started
        assert ran == jobs, (ran, jobs)
    return jobs / enqueue_seconds, jobs / drain_seconds


async def pg_database(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backend == "both":
        print(f"jobs={args.jobs} concurrency={args.concurrency} (one runner, one process, no-op handler)")
        for backend in ("sqlite", "postgres"):
            subprocess.run([sys.executable, "-m", "bench.jobs_throughput", "--jobs", str(args.jobs),
                            "--concurrency", str(args.concurrency), "--backend", backend, "--quiet"], check=True)
        return
    if not args.quiet:
        print(f"jobs={args.jobs} concurrency={args.concurrency} (one runner, one process, no-op handler)")
    if args.backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            enq, drain = await measure(f"sqlite://{Path(tmp) / 'bench.sqlite3'}", args.jobs, args.concurrency)
        print(f"sqlite    enqueue {enq:8.0f} jobs/s   claim+run+complete {drain:8.0f} jobs/s")
    if args.backend == "postgres":
        name = f"cara_bench_{secrets.token_hex(3)}"
        await pg_database(f'CREATE DATABASE "{name}"')
        try:
            enq, drain = await measure(f"postgres://postgres@127.0.0.1:5432/{name}", args.jobs, args.concurrency)
        finally:
            await pg_database(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        print(f"postgres  enqueue {enq:8.0f} jobs/s   claim+run+complete {drain:8.0f} jobs/s")


if __name__ == "__main__":
    asyncio.run(main())
