"""``/admin``: the dashboard (accounts, posts, media storage, sign-ups and reports waiting, the federation's
health: delivery queue, failing and unreachable hosts with their last errors, dead jobs with a retry
button) and ``/admin/jobs`` (the dead jobs, retried one by one or all at once, and purging)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from cara_fed.errors import CaraError
from cara_fed.models.jobs import DEAD
from cara_fed.services import admin_dashboard, admin_jobs
from cara_fed.web.admin.common import ADMINS, STAFF, install_errors, int_arg, message, path_id, render, \
    settings, staff_user
from cara_fed.web.sessions import see_other, signed_in

bp = Blueprint("admin_dashboard", __name__)
install_errors(bp)


@bp.get("/admin")
@signed_in(roles=STAFF)
async def dashboard() -> Response:
    user = await staff_user()
    board = await admin_dashboard.dashboard(settings(), user)
    return await render("admin/dashboard.html", nav="dashboard", board=board)


async def _jobs_page(status: int = 200, error: str = "") -> Response:
    user = await staff_user()
    kind = (request.args.get("kind") or "").strip()[:64] or None
    jobs = await admin_jobs.list_jobs(user, state=DEAD, kind=kind, limit=50, max_id=int_arg("max_id"))
    counts = await admin_jobs.counts(user)
    return await render("admin/jobs.html", status, nav="dashboard", jobs=jobs, counts=counts, kind=kind or "",
                        error=error, older=jobs[-1].id if len(jobs) == 50 else None)


@bp.get("/admin/jobs")
@signed_in(roles=STAFF)
async def jobs_page() -> Response:
    return await _jobs_page()


@bp.post("/admin/jobs/<job_id>/retry")
@signed_in(roles=ADMINS)
async def retry(job_id: str) -> Response:
    try:
        await admin_jobs.retry(await staff_user(), path_id(job_id))
    except CaraError as exc:
        if exc.status == 404:
            raise
        return await _jobs_page(exc.status, message(exc))
    return see_other(f"/admin/jobs?done=retried#job-{job_id}")


@bp.post("/admin/jobs/retry_all")
@signed_in(roles=ADMINS)
async def retry_all() -> Response:
    retried = await admin_jobs.retry_all_dead(await staff_user())
    return see_other(f"/admin/jobs?done=retried_{len(retried)}")


@bp.post("/admin/jobs/purge")
@signed_in(roles=ADMINS)
async def purge() -> Response:
    form = await request.form
    state = form.get("state") or ""
    try:
        hours = float(form.get("older_than_hours") or 0)
    except ValueError:
        return await _jobs_page(422, "The age must be a number of hours.")
    try:
        removed = await admin_jobs.purge(await staff_user(), state, older_than_hours=hours)
    except CaraError as exc:
        return await _jobs_page(exc.status, message(exc))
    return see_other(f"/admin/jobs?done=purged_{removed}")
