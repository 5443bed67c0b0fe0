"""The job table as the admins see it (dashboard, CLI): list, retry dead jobs, purge finished or dead ones.

Reading is for staff (the dashboard shows moderators the federation's health too); retrying and purging
change what the workers do, which Mastodon keeps to admins (its Sidekiq dashboard is "View Devops")."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.expressions import Q

from cara_fed.errors import Conflict, NotFound, ValidationFailed
from cara_fed.federation.delivery import DELIVER_JOB
from cara_fed.jobs import queue
from cara_fed.jobs.handlers import load_job_handlers
from cara_fed.jobs.registry import get_kind
from cara_fed.models import Job, User
from cara_fed.models.jobs import DEAD, DONE, QUEUED, RUNNING
from cara_fed.services.staff import require_admin, require_staff

STATES = (QUEUED, RUNNING, DONE, DEAD)
MAX_LIST = 1000
MAX_HOURS = 24 * 365 * 10


@dataclass(frozen=True)
class JobCounts:
    by_state: dict[str, int]
    deliveries_queued: int
    deliveries_running: int


async def list_jobs(by: User | None, *, state: str | None = None, kind: str | None = None,
                    limit: int = 50, max_id: int | None = None) -> list[Job]:
    """Newest first; ``max_id`` pages to older ones."""
    require_staff(by)
    if state is not None and state not in STATES:
        raise ValidationFailed(f"Validation failed: state must be one of {', '.join(STATES)}")
    query = Job.all()
    if state is not None:
        query = query.filter(state=state)
    if kind:
        query = query.filter(kind=kind)
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    return list(await query.order_by("-id").limit(max(1, min(limit, MAX_LIST))))


async def counts(by: User | None) -> JobCounts:
    require_staff(by)
    by_state = await queue.counts_by_state()
    deliveries = {state: await Job.filter(kind=DELIVER_JOB, state=state).count()
                  for state in (QUEUED, RUNNING)}
    return JobCounts(by_state=by_state, deliveries_queued=deliveries[QUEUED],
                     deliveries_running=deliveries[RUNNING])


async def retry(by: User | None, job_id: int) -> Job:
    """Queue a dead job again, with fresh attempts (queue.retry_dead)."""
    require_admin(by)
    job = await Job.get_or_none(id=job_id)
    if job is None:
        raise NotFound("Record not found")
    if job.state != DEAD:
        raise Conflict(f"job {job.id} is {job.state}: only dead jobs are retried")
    if not _runs(job.kind):
        raise Conflict(f"job {job.id} is of kind {job.kind!r}, which this version does not run")
    if not await queue.retry_dead(job.id):  # retried by someone else meanwhile
        raise Conflict(f"job {job.id} is no longer dead")
    return await Job.get(id=job.id)


async def retry_all_dead(by: User | None, *, kind: str | None = None) -> list[int]:
    """Retry every dead job (of ``kind``) whose kind this version runs; returns the ids queued again."""
    require_admin(by)
    query = Job.filter(state=DEAD)
    if kind:
        query = query.filter(kind=kind)
    retried = []
    for job_id, job_kind in await query.order_by("id").values_list("id", "kind"):
        if _runs(str(job_kind)) and await queue.retry_dead(int(job_id)):
            retried.append(int(job_id))
    return retried


def _runs(kind: str) -> bool:
    """Whether a worker of this version runs ``kind``: the kinds every worker registers, which a CLI process
    has not necessarily imported."""
    load_job_handlers()
    return get_kind(kind) is not None


async def purge(by: User | None, state: str, *, older_than_hours: float = 0.0) -> int:
    """Delete done or dead jobs that finished more than ``older_than_hours`` ago; returns how many."""
    require_admin(by)
    if state not in (DONE, DEAD):
        raise ValidationFailed("Validation failed: only done or dead jobs can be purged")
    if not 0 <= older_than_hours <= MAX_HOURS:
        raise ValidationFailed(f"Validation failed: older_than must be between 0 and {MAX_HOURS} hours")
    cutoff = datetime.now(UTC) - timedelta(hours=older_than_hours)
    # A job without a finish time (dead-lettered by an older version) counts from its creation.
    finished = Q(finished_at__lt=cutoff) | (Q(finished_at__isnull=True) & Q(created_at__lt=cutoff))
    return await Job.filter(finished, state=state).delete()
