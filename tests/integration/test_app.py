"""The app over real HTTP on loopback: health, JSON errors, request ids, in-process jobs, the fake fediverse."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
import asyncpg
import orjson
import pytest

import tests.support.job_plugin  # noqa: F401 - registers test.* kinds
from cara_fed.app import create_app
from cara_fed.jobs import queue
from cara_fed.models import Account, Job
from cara_fed.models.jobs import DONE
from cara_fed.settings import Settings
from cara_fed.web.state import app_state
from tests.support.databases import PG_ADMIN_URL, DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.support.tls import FakeTLS


async def test_health_is_ok_when_the_database_answers(server: RunningServer, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/health") as response:
        assert response.status == 200
        assert await response.json() == {"status": "ok"}


@pytest.mark.postgres_only
async def test_health_is_503_when_the_database_is_gone(server: RunningServer, settings: Settings,
                                                       http: aiohttp.ClientSession) -> None:
    name = urlsplit(settings.database.url).path.lstrip("/")
    admin = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1))
    try:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')  # also cuts the app's connections
    finally:
        await admin.close()
    async with http.get(f"{server.url}/health") as response:
        assert response.status == 503
        body = await response.json()
        assert body["error"] == "database unavailable" and body["status"] == "unavailable"


async def test_unknown_paths_and_methods_answer_json_errors(server: RunningServer,
                                                           http: aiohttp.ClientSession) -> None:
    async with http.get(f"{server.url}/no/such/page") as response:
        assert response.status == 404 and response.content_type == "application/json"
        assert await response.json() == {"error": "Record not found"}
    async with http.post(f"{server.url}/health") as response:
        assert response.status == 405 and response.content_type == "application/json"
        assert await response.json() == {"error": "Method not allowed"}
        assert "GET" in response.headers["Allow"]


async def test_an_unexpected_error_is_a_json_500_without_a_traceback(settings: Settings,
                                                                     fediverse: FakeFediverse,
                                                                     http: aiohttp.ClientSession,
                                                                     caplog: pytest.LogCaptureFixture) -> None:
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)

    @app.get("/boom")
    async def boom() -> str:
        raise KeyError("secret internal detail")

    async with serve_asgi(app) as running:
        async with http.get(f"{running.url}/boom") as response:
            assert response.status == 500
            text = await response.text()
    assert response.content_type == "application/json"
    assert orjson.loads(text) == {"error": "Internal server error"} and "secret" not in text
    assert any("unhandled error" in r.getMessage() and r.exc_info for r in caplog.records)  # logged, not sent


async def test_every_response_carries_a_request_id_that_the_log_line_repeats(
        server: RunningServer, http: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO", logger="cara_fed.requests")
    async with http.get(f"{server.url}/health", headers={"X-Request-Id": "lb-1234abcd"}) as response:
        assert response.headers["X-Request-Id"] == "lb-1234abcd"
    async with http.get(f"{server.url}/health", headers={"X-Request-Id": "bad id; forged=1"}) as response:
        generated = response.headers["X-Request-Id"]
        assert generated != "bad id; forged=1" and generated.isalnum()
    lines = [r for r in caplog.records if r.name == "cara_fed.requests"]
    assert [(getattr(r, "path"), getattr(r, "status")) for r in lines] == [("/health", 200), ("/health", 200)]


async def test_serve_runs_jobs_in_process(settings: Settings, fediverse: FakeFediverse,
                                          tmp_path: Path) -> None:
    app = create_app(settings.replace(jobs={"run_in_process": True}), http_session_factory=fediverse.guarded_session)
    async with serve_asgi(app):
        state = app_state(app)
        assert state.runner is not None and state.db is not None
        with state.db:
            job = await queue.enqueue("test.effect", {"effects": str(tmp_path / "effects.log")})
            assert job is not None
            state.runner.wake()
            for _ in range(500):
                if (await Job.get(id=job.id)).state == DONE:
                    break
                await asyncio.sleep(0.02)
    assert (tmp_path / "effects.log").read_text().split()[0] == str(job.id)


async def test_two_instances_in_one_process_reach_each_other_over_the_fake_fediverse(
        database_factory: DatabaseFactory, fediverse: FakeFediverse, test_tls: FakeTLS, tmp_path: Path) -> None:
    def instance(domain: str, url: str) -> Settings:
        return Settings().replace(instance={"domain": domain}, database={"url": url},
                                  media={"root": str(tmp_path / domain)}, logging={"format": "text"},
                                  federation={"allow_nonpublic": ("127.0.0.0/8",)})

    a_url, b_url = await database_factory.new_url(), await database_factory.new_url()
    app_a = create_app(instance("a.example", a_url), http_session_factory=fediverse.guarded_session, run_jobs=False)
    app_b = create_app(instance("b.example", b_url), http_session_factory=fediverse.guarded_session, run_jobs=False)
    fediverse.serve("https://remote.example/users/zoe", {"id": "https://remote.example/users/zoe",
                                                        "type": "Person", "inbox": "https://remote.example/inbox"})
    try:
        async with serve_asgi(app_a, tls=test_tls) as a, serve_asgi(app_b, tls=test_tls) as b:
            fediverse.route("a.example", a.port)
            fediverse.route("b.example", b.port)
            state_a, state_b = app_state(app_a), app_state(app_b)
            assert state_a.http is not None and state_b.http is not None

            # Each instance has its own database: a row written in A's context is not in B's.
            assert state_a.db is not None and state_b.db is not None
            with state_a.db:
                await Account.create(username="only_on_a")
            with state_b.db:
                assert await Account.filter(username="only_on_a").count() == 0
            with state_a.db:
                assert await Account.filter(username="only_on_a").count() == 1

            # A reaches B by name over real TLS, and B reaches A.
            async with state_a.http.get("https://b.example/health") as response:
                assert response.status == 200 and await response.json() == {"status": "ok"}
            async with state_b.http.get("https://a.example/no-such-thing") as response:
                assert response.status == 404 and await response.json() == {"error": "Record not found"}

            # Everything else is the canned internet: documents by URL, POSTs recorded.
            async with state_a.http.get("https://remote.example/users/zoe") as response:
                assert (await response.json())["type"] == "Person"
            async with state_a.http.post("https://remote.example/inbox", json={"type": "Follow"}) as response:
                assert response.status == 202
            async with state_a.http.get("https://remote.example/unknown") as response:
                assert response.status == 404
    finally:
        await database_factory.drop(a_url)
        await database_factory.drop(b_url)
    [post] = fediverse.posts_to("https://remote.example/inbox")
    assert post.json() == {"type": "Follow"}


async def test_the_apps_http_client_refuses_private_addresses_unless_the_settings_allow_them(
        settings: Settings, fediverse: FakeFediverse) -> None:
    """The SSRF guard is in the app's one client: remote.example resolves to 127.0.0.1 on the fake
    fediverse, which only federation.allow_nonpublic opens."""
    from activitypub.fetch import BlockedDestination, fetch_json

    fediverse.serve("https://remote.example/users/zoe", {"id": "https://remote.example/users/zoe", "type": "Person"})
    for allowed in ((), ("127.0.0.0/8",)):
        app = create_app(settings.replace(federation={"allow_nonpublic": allowed}),
                         http_session_factory=fediverse.guarded_session, run_jobs=False)
        async with serve_asgi(app):
            state = app_state(app)
            assert state.http is not None
            if allowed:
                fetched = await fetch_json(state.http, "https://remote.example/users/zoe", policy=state.policy)
                assert fetched.document["type"] == "Person"
            else:
                with pytest.raises(BlockedDestination):
                    await fetch_json(state.http, "https://remote.example/users/zoe", policy=state.policy)
    assert len([r for r in fediverse.requests if r.url.endswith("/users/zoe")]) == 1  # the blocked one never left
