"""The job runner: claims due jobs, runs their handlers concurrently, heartbeats their leases.

The same runner runs inside `cara-fed serve` and as a standalone `cara-fed worker`; any number of them
may share one database. It only claims kinds it has handlers for, so a worker of an older version never
takes a job it cannot run.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Sequence
from typing import Any

from cara_fed.jobs import queue
from cara_fed.jobs.registry import (
    JobContext,
    PermanentJobError,
    RetryJobLater,
    RetryPolicy,
    get_kind,
    registered_kinds,
)
from cara_fed.models.jobs import Job

log = logging.getLogger(__name__)

SHUTDOWN_GRACE_SECONDS = 10.0
PURGE_EVERY_SECONDS = 600.0
MAX_LOOP_BACKOFF_SECONDS = 30.0
# A finished job that frees fewer slots than a claim batch wakes the loop this much later, with whatever else
# finishes meanwhile: never at the next poll, since slow jobs (a remote host timing out) may hold the other
# slots for long.
GATHER_SECONDS = 0.005
_DEFAULT_POLICY = RetryPolicy()


def new_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


class JobRunner:
    def __init__(self, *, concurrency: int, lease_seconds: float, poll_seconds: float,
                 keep_done_hours: float, services: dict[str, Any] | None = None,
                 kinds: Sequence[str] | None = None, worker_id: str | None = None,
                 shutdown_grace_seconds: float = SHUTDOWN_GRACE_SECONDS) -> None:
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.keep_done_hours = keep_done_hours
        self.services = services or {}
        self._kinds = list(kinds) if kinds is not None else None
        self.worker_id = worker_id or new_worker_id()
        self.shutdown_grace_seconds = shutdown_grace_seconds
        self._running: dict[asyncio.Task[None], Job] = {}
        # Jobs that ran to success here and are not marked done yet: the loop marks them all in one statement
        # at its next turn (see _record_finished).
        self._finished: list[Job] = []
        # Slots that must be free before a finished job wakes the loop at once (which then records the
        # outcomes and claims again): a wake-up per job cost a claim and a completion statement per job.
        self._wake_at_free = max(1, concurrency // 4)
        self._wakeup = asyncio.Event()
        self._wake_timer: asyncio.TimerHandle | None = None

    @property
    def kinds(self) -> list[str]:
        return self._kinds if self._kinds is not None else registered_kinds()

    def wake(self) -> None:
        """Look for due jobs now instead of at the next poll (after an in-process enqueue)."""
        self._wakeup.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run until ``stop`` is set; then let running jobs finish (for a grace period) and release the rest."""
        log.info("job runner started", extra={"worker_id": self.worker_id, "kinds": self.kinds})
        loop = asyncio.get_running_loop()
        next_heartbeat = next_purge = loop.time()
        backoff = self.poll_seconds
        try:
            while not stop.is_set():
                self._wakeup.clear()  # before looking: a wake-up during the look is not lost
                self._cancel_wake_timer()
                try:
                    await self._record_finished()
                    # Heartbeat first: after a stall, jobs whose lease ran out are dropped, not run twice.
                    if loop.time() >= next_heartbeat:
                        await self._heartbeat()
                        next_heartbeat = loop.time() + self.lease_seconds / 3
                    await self._claim_more()
                    if loop.time() >= next_purge:
                        await queue.purge_done(self.keep_done_hours)
                        next_purge = loop.time() + PURGE_EVERY_SECONDS
                    backoff = self.poll_seconds
                except asyncio.CancelledError:
                    raise
                except Exception:  # noqa: BLE001 - the database may be briefly away: keep going
                    log.exception("job runner loop failed; retrying", extra={"worker_id": self.worker_id})
                    backoff = min(backoff * 2, MAX_LOOP_BACKOFF_SECONDS)
                # No claim again at once: a claim leases as many due jobs as there are free slots, so after
                # one there are either no free slots or no due jobs (but those other workers were leasing,
                # on PostgreSQL: the poll finds them). A job that finished meanwhile has set the wake-up.
                timeout = min(backoff, max(0.01, next_heartbeat - loop.time()))
                await self._wait(stop, timeout)
        finally:
            await self._shutdown()

    async def _heartbeat(self) -> None:
        """Renew the leases of running jobs; a job whose lease was lost (another worker took it over after
        this one stalled) is cancelled here, since the other worker runs it."""
        held = await queue.renew_leases(self.worker_id, [j.id for j in self._running.values()], self.lease_seconds)
        for task, job in list(self._running.items()):
            if job.id not in held:
                log.warning("lease lost; cancelling the local run", extra={"job_id": job.id,
                                                                          "worker_id": self.worker_id})
                task.cancel()

    async def run_until_idle(self, max_rounds: int = 1000) -> int:
        """Run due jobs until none are left (for tests and one-shot commands). Returns how many ran."""
        ran = 0
        for _ in range(max_rounds):
            jobs = await queue.claim(self.worker_id, self.concurrency, self.lease_seconds, self.kinds)
            if not jobs:
                return ran
            await asyncio.gather(*(self._execute(job) for job in jobs))
            await self._record_finished()
            ran += len(jobs)
        return ran

    async def _claim_more(self) -> int:
        free = self.concurrency - len(self._running)
        if free <= 0:
            return 0
        jobs = await queue.claim(self.worker_id, free, self.lease_seconds, self.kinds)
        for job in jobs:
            task = asyncio.create_task(self._execute(job), name=f"job-{job.id}-{job.kind}")
            self._running[task] = job
            task.add_done_callback(self._forget)
        return len(jobs)

    def _forget(self, task: asyncio.Task[None]) -> None:
        self._running.pop(task, None)
        if not self._running or self.concurrency - len(self._running) >= self._wake_at_free:
            self._wakeup.set()  # enough free slots to be worth a claim now
        elif self._wake_timer is None:
            self._wake_timer = asyncio.get_running_loop().call_later(GATHER_SECONDS, self._timed_wake)

    def _timed_wake(self) -> None:
        self._wake_timer = None
        self._wakeup.set()

    def _cancel_wake_timer(self) -> None:
        if self._wake_timer is not None:
            self._wake_timer.cancel()
            self._wake_timer = None

    async def _record_finished(self) -> None:
        """Mark the jobs that succeeded since the last turn done, in one statement.

        Until then a finished job is still ``running`` under this worker's lease. If this process dies
        first, the lease runs out and the job runs again: at-least-once, as after any crash, and handlers
        are idempotent (a delivery sent twice is harmless; receivers de-duplicate on the activity id).
        Nothing is lost: no one was told the job was done. If the statement fails (the database is away),
        the jobs are kept for the next turn."""
        if not self._finished:
            return
        jobs, self._finished = self._finished, []
        try:
            held = await queue.complete_many(self.worker_id, [job.id for job in jobs])
        except BaseException:
            self._finished = jobs + self._finished
            raise
        for job in jobs:
            if job.id not in held:
                log.warning("job finished after its lease was lost",
                            extra={"job_id": job.id, "job_kind": job.kind, "worker_id": self.worker_id})

    async def _wait(self, stop: asyncio.Event, timeout: float) -> None:
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(self._wakeup.wait())]
        try:
            await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiter in waiters:
                waiter.cancel()

    async def _execute(self, job: Job) -> None:
        """Run one job and record the outcome. Never raises (but for cancellation): if even recording fails
        (the database is away), the lease runs out and the job is run again, as after a crash."""
        try:
            await self._run_and_record(job)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - logged; the expired lease brings the job back
            log.exception("could not record a job's outcome", extra={"job_id": job.id, "worker_id": self.worker_id})

    async def _run_and_record(self, job: Job) -> None:
        kind = get_kind(job.kind)
        extra = {"job_id": job.id, "job_kind": job.kind, "attempt": job.attempts, "worker_id": self.worker_id}
        if kind is None:  # only claimed kinds are registered; this is a guard, not a path
            await queue.fail(job, self.worker_id, f"no handler for job kind {job.kind!r}", _DEFAULT_POLICY,
                             permanent=True)
            return
        context = JobContext(job_id=job.id, kind=job.kind, payload=dict(job.payload), attempt=job.attempts,
                             services=self.services)
        try:
            await kind.handler(context)
        except asyncio.CancelledError:
            raise  # shutdown: _shutdown releases the lease
        except PermanentJobError as exc:
            await queue.fail(job, self.worker_id, _describe(exc), kind.policy, permanent=True)
            log.warning("job failed permanently", extra={**extra, "error": _describe(exc)})
        except RetryJobLater as exc:
            state = await queue.fail(job, self.worker_id, _describe(exc), kind.policy,
                                     retry_after_seconds=exc.after_seconds)
            log.info("job deferred", extra={**extra, "state": state, "after_seconds": exc.after_seconds})
        except Exception as exc:  # noqa: BLE001 - a handler's failure is recorded on the row and retried
            state = await queue.fail(job, self.worker_id, _describe(exc), kind.policy)
            log.warning("job failed", extra={**extra, "state": state, "error": _describe(exc)})
        else:
            self._finished.append(job)  # marked done by the loop's next turn, with the others (one statement)

    async def _shutdown(self) -> None:
        """Give running jobs the grace period (still renewing their leases), then cancel and release the
        rest. Never raises: a failed release only means the leases run out and the jobs run again later."""
        self._cancel_wake_timer()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.shutdown_grace_seconds
        pending = set(self._running)
        try:
            while pending and loop.time() < deadline:
                timeout = min(deadline - loop.time(), self.lease_seconds / 3)
                _, pending = await asyncio.wait(pending, timeout=timeout)
                if pending:
                    await self._record_finished()
                    await self._heartbeat()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("heartbeat during shutdown failed", extra={"worker_id": self.worker_id})
        unfinished = [self._running[t].id for t in pending if t in self._running]
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        try:
            await self._record_finished()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("could not mark finished jobs done; their leases will expire and they run again",
                          extra={"worker_id": self.worker_id, "job_ids": [job.id for job in self._finished]})
        if not unfinished:
            return
        try:
            released = await queue.release(self.worker_id, unfinished)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.exception("could not release unfinished jobs; their leases will expire",
                          extra={"worker_id": self.worker_id, "job_ids": unfinished})
        else:
            log.info("released unfinished jobs", extra={"worker_id": self.worker_id, "released": released})


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

