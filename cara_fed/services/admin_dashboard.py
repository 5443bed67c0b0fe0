"""What the admin dashboard and ``cara-fed stats`` show: accounts, posts, media storage, the sign-ups and
reports waiting, and the federation's health (the delivery queue, failing and unreachable hosts with
their last errors, dead jobs). Counts come from a handful of aggregate queries; the media folder's size
from a count of its files made in the background and reused for ten minutes (services/admin_media.py)."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.db import raw_rows
from cara_fed.models import DeliveryHost, Job, Report, User
from cara_fed.models.jobs import DEAD
from cara_fed.services import admin_jobs
from cara_fed.services.admin_jobs import JobCounts
from cara_fed.services.admin_media import DISK_CACHE_SECONDS, MediaUsage, media_usage
from cara_fed.services.staff import require_staff
from cara_fed.settings import Settings

HOSTS_SHOWN = 50
DEAD_SHOWN = 20


@dataclass(frozen=True)
class AccountCounts:
    local: int  # local accounts with a login (the instance actor is not one)
    local_active: int  # approved and not suspended
    pending: int
    local_suspended: int
    remote: int
    remote_suspended: int
    silenced: int


@dataclass(frozen=True)
class PostCounts:
    local: int
    remote: int


@dataclass(frozen=True)
class Dashboard:
    accounts: AccountCounts
    posts: PostCounts
    media: MediaUsage
    pending_sign_ups: int
    open_reports: int
    jobs: JobCounts
    failing_hosts: list[DeliveryHost]  # unreachable first, then by days of failure
    failing_count: int
    unreachable_count: int
    dead_jobs: list[Job]  # the newest ones


async def account_counts() -> AccountCounts:
    def count(condition: str, name: str) -> str:
        return f"SUM(CASE WHEN {condition} THEN 1 ELSE 0 END) AS {name}"

    local = "a.domain IS NULL AND u.id IS NOT NULL"  # (the instance actor has no login)
    remote = "a.domain IS NOT NULL"
    rows = await raw_rows(
        "SELECT " + ", ".join([
            count(local, "local"),
            count(f"{local} AND u.approved AND a.suspended_at IS NULL", "active"),
            count(f"{local} AND NOT u.approved", "pending"),
            count(f"{local} AND a.suspended_at IS NOT NULL", "local_suspended"),
            count(remote, "remote"),
            count(f"{remote} AND a.suspended_at IS NOT NULL", "remote_suspended"),
            count(f"({remote} OR u.id IS NOT NULL) AND a.silenced_at IS NOT NULL", "silenced"),
        ]) + " FROM accounts a LEFT JOIN users u ON u.account_id = a.id", [])
    row = rows[0] if rows else {}

    def n(name: str) -> int:
        return int(row.get(name) or 0)  # type: ignore[call-overload]

    return AccountCounts(local=n("local"), local_active=n("active"), pending=n("pending"),
                         local_suspended=n("local_suspended"), remote=n("remote"),
                         remote_suspended=n("remote_suspended"), silenced=n("silenced"))


async def post_counts() -> PostCounts:
    rows = await raw_rows(
        "SELECT SUM(CASE WHEN local THEN 1 ELSE 0 END) AS local, "
        "SUM(CASE WHEN local THEN 0 ELSE 1 END) AS remote "
        "FROM statuses WHERE deleted_at IS NULL AND reblog_of_id IS NULL", [])
    row = rows[0] if rows else {}
    local, remote = row.get("local"), row.get("remote")
    return PostCounts(local=int(local or 0), remote=int(remote or 0))  # type: ignore[call-overload]


async def failing_hosts(limit: int = HOSTS_SHOWN) -> list[DeliveryHost]:
    unreachable = list(await DeliveryHost.filter(failure_days__gt=0, unreachable_since__not_isnull=True)
                       .order_by("-failure_days", "domain").limit(limit))
    failing = list(await DeliveryHost.filter(failure_days__gt=0, unreachable_since__isnull=True)
                   .order_by("-failure_days", "domain").limit(max(0, limit - len(unreachable))))
    return unreachable + failing


async def dashboard(settings: Settings, by: User | None, *, disk_max_age: float = DISK_CACHE_SECONDS
                    ) -> Dashboard:
    require_staff(by)
    return Dashboard(
        accounts=await account_counts(), posts=await post_counts(),
        media=await media_usage(settings, max_age=disk_max_age),
        pending_sign_ups=await User.filter(approved=False).count(),
        open_reports=await Report.filter(action_taken_at__isnull=True).count(),
        jobs=await admin_jobs.counts(by), failing_hosts=await failing_hosts(),
        failing_count=await DeliveryHost.filter(failure_days__gt=0).count(),
        unreachable_count=await DeliveryHost.filter(failure_days__gt=0,
                                                    unreachable_since__not_isnull=True).count(),
        dead_jobs=list(await Job.filter(state=DEAD).order_by("-id").limit(DEAD_SHOWN)))
