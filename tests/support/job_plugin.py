"""Job kinds that exist only in tests, with effects a test can observe from outside the process.

Imported by the test modules and by tests/support/plugin_worker.py (a real `cara-fed worker` process with
these kinds registered), so kill -9 and multi-worker tests run the production runner unchanged.
"""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from cara_fed.jobs.registry import JobContext, RetryPolicy, job_kind

FAST_RETRY = RetryPolicy(base_seconds=0.05, factor=2.0, max_delay_seconds=0.2, max_attempts=5)


def _append(path: str, line: str) -> None:
    # One write() per line with O_APPEND: lines from several processes never interleave.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (line + "\n").encode())
    finally:
        os.close(fd)


@job_kind("test.effect", policy=FAST_RETRY)
async def effect(ctx: JobContext) -> None:
    """Announce the start in ``started``; optionally wait for the file ``gate``; then append the effect
    line to ``effects`` unless this job's effect is already there (idempotent, as handlers must be)."""
    payload = ctx.payload
    if "started" in payload:
        _append(payload["started"], f"{ctx.job_id} {ctx.attempt} {os.getpid()}")
    if "gate" in payload:
        while not Path(payload["gate"]).exists():
            await asyncio.sleep(0.02)
    effects = Path(payload["effects"])
    if effects.exists() and any(line.split()[0] == str(ctx.job_id) for line in effects.read_text().splitlines()):
        return
    _append(str(effects), f"{ctx.job_id} {ctx.attempt} {os.getpid()}")


@job_kind("test.span", policy=FAST_RETRY)
async def span(ctx: JobContext) -> None:
    """Record when this process started and ended the job (for overlap checks across workers)."""
    log = ctx.payload["log"]
    _append(log, f"start {ctx.job_id} {os.getpid()} {time.monotonic_ns()}")
    await asyncio.sleep(ctx.payload.get("seconds", 0.01))
    _append(log, f"end {ctx.job_id} {os.getpid()} {time.monotonic_ns()}")


class Flaky(Exception):
    pass


@job_kind("test.flaky", policy=FAST_RETRY)
async def flaky(ctx: JobContext) -> None:
    """Fails until attempt ``succeed_on`` (never, if absent)."""
    if ctx.attempt < ctx.payload.get("succeed_on", 10**9):
        raise Flaky(f"attempt {ctx.attempt} failed")
