"""``create_app(settings)``: the Quart application. Its lifespan opens the database, the HTTP client and
(unless turned off) an in-process job runner; every request runs inside this app's own tortoise context."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from markupsafe import Markup
from quart import Quart, Response, g, request
from tortoise.context import _current_context

from cara_fed.api.routes import install_api
from cara_fed.db import open_database
from cara_fed.federation.context import Federation
from cara_fed.federation.http import default_session, network_policy
from cara_fed.jobs.handlers import load_job_handlers
from cara_fed.jobs.runner import JobRunner
from cara_fed.logs import log_request, start_request
from cara_fed.sanitize import sanitize_html
from cara_fed.services.instance import ensure_instance_actor
from cara_fed.settings import Settings
from cara_fed.web.durability import install_durable_answers
from cara_fed.web.errors import register_error_handlers
from cara_fed.web.inbox_lane import install_inbox_lane
from cara_fed.web.noai import install_noai
from cara_fed.web.rate_limits import install_rate_limits
from cara_fed.web.routes import install_web
from cara_fed.web.state import AppState, HttpSessionFactory


def create_app(settings: Settings, *, http_session_factory: HttpSessionFactory | None = None,
               run_jobs: bool | None = None) -> Quart:
    """A new app. ``run_jobs`` overrides ``jobs.run_in_process`` (tests drive jobs themselves)."""
    app = Quart(__name__)
    # Uploads up to the media limit (the pipeline answers 422 just above it; 413 beyond this margin); the
    # inbox sets its own 1 MiB cap.
    app.config["MAX_CONTENT_LENGTH"] = settings.media.max_upload_bytes + 1024 * 1024
    state = AppState(settings=settings, http_session_factory=http_session_factory or default_session,
                     policy=network_policy(settings))
    app.extensions["cara_fed"] = state
    run_jobs = settings.jobs.run_in_process if run_jobs is None else run_jobs

    install_web(app)
    install_api(app)
    load_job_handlers()  # the kinds this app enqueues and its in-process runner runs
    register_error_handlers(app)
    # Bios and remote content are HTML: templates show them only through the strict allow-list.
    app.jinja_env.filters["sanitize"] = lambda html: Markup(sanitize_html(html or ""))
    _install_request_logging(app)
    install_noai(app, settings)  # after request logging, so that refused crawlers are logged too
    install_rate_limits(app, settings)  # after both: a 429 is logged and carries the no-AI headers
    install_durable_answers(app)  # its wait for the disk runs before the hooks above: it is in the log's time
    install_inbox_lane(app, state)  # in front of the routes and all of the above (it does their part itself)
    _install_tortoise_context(app, state)

    @app.before_serving
    async def start() -> None:
        state.db = await open_database(settings.database)
        _current_context.set(state.db)  # the lifespan task and the tasks it starts (the runner) use it
        await ensure_instance_actor(settings)
        state.http = state.http_session_factory(state.policy)
        state.federation = Federation.create(settings, state.http, state.policy)
        if run_jobs:
            state.runner = JobRunner(
                concurrency=settings.jobs.concurrency, lease_seconds=settings.jobs.lease_seconds,
                poll_seconds=settings.jobs.poll_seconds, keep_done_hours=settings.jobs.keep_done_hours,
                services={"settings": settings, "federation": state.federation})
            state.runner_stop.clear()
            state.runner_task = asyncio.create_task(state.runner.run(state.runner_stop), name="job-runner")
        state.started = True

    @app.after_serving
    async def stop() -> None:
        # Each resource is closed even if closing the one before failed: a database left open keeps
        # aiosqlite's (non-daemon) thread alive and the process would never exit.
        state.started = False
        if state.streams is not None:
            await state.streams.close()
            state.streams = None
        try:
            if state.runner_task is not None:
                state.runner_stop.set()
                await state.runner_task
        finally:
            state.runner_task = None
            try:
                if state.http is not None:
                    await state.http.close()
            finally:
                state.http = state.federation = None
                if state.db is not None:
                    db, state.db = state.db, None
                    await db.close_connections()

    return app


def _install_tortoise_context(app: Quart, state: AppState) -> None:
    """Make this app's database the current tortoise context for each request.

    ASGI servers run each request in its own task, which does not inherit the context the lifespan task
    set, and TortoiseContext's own ``with`` keeps one token per context object (unsafe for concurrent
    requests). Setting the context variable at the start of the request's task is both safe and enough:
    the task's context ends with it."""
    inner = app.asgi_app

    async def asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan" and state.db is not None:
            _current_context.set(state.db)
        await inner(scope, receive, send)

    app.asgi_app = asgi_app  # type: ignore[method-assign]


def _install_request_logging(app: Quart) -> None:
    @app.before_request
    async def assign_request_id() -> None:
        g.request_id = start_request(request.headers.get("X-Request-Id"))
        g.request_started = time.perf_counter()

    @app.after_request
    async def request_logged(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id is not None:
            response.headers["X-Request-Id"] = request_id
            log_request(request.method, request.path, response.status_code, g.request_started,
                        time.perf_counter())
        return response

