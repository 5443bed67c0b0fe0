"""On SQLite, a request that changes something is answered only after its commit is on the disk
(cara_fed/web/durability.py): the answer waits for an fsync of the WAL file, which concurrent answers share,
and which is skipped for reads, for writes that committed nothing, and for the inbox (it commits on the
``synchronous = FULL`` connection itself). Checked by the server's own count of those fsyncs; whether a
power cut would keep the data is the fsync's promise, not something a test here can cut."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from quart import Quart
from tortoise.connection import get_connection

from cara_fed import db
from cara_fed.app import create_app
from cara_fed.models import Status
from cara_fed.services import accounts
from cara_fed.settings import Settings
from cara_fed.sqlite_backend import ImmediateSqliteClient
from cara_fed.web.durability import WRITE_METHODS
from tests.support.api import Api, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.servers import serve_asgi

pytestmark = pytest.mark.usefixtures("database")


@dataclass
class Served:
    app: Quart
    api: Api

    @property
    def syncs(self) -> int:
        client = self.app.extensions["cara_fed"].db.connections.get("default")
        assert isinstance(client, ImmediateSqliteClient)
        return client.wal_syncs


@pytest.fixture
async def served(settings: Settings, fediverse: FakeFediverse, http: aiohttp.ClientSession
                 ) -> AsyncIterator[Served]:
    if not settings.database.url.startswith("sqlite://"):
        pytest.skip("PostgreSQL's commits wait for the disk by themselves (synchronous_commit)")
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as running:
        yield Served(app, Api(http, running.url))


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


async def test_a_post_is_answered_after_a_sync_and_a_read_without_one(served: Served, mira: ApiUser) -> None:
    read = await served.api.get("/api/v1/timelines/home", mira)
    before = served.syncs
    posted = await served.api.post("/api/v1/statuses", mira, json={"status": "fresh ink on paper"})
    after_post = served.syncs
    again = await served.api.get(f"/api/v1/statuses/{posted.body['id']}", mira)

    assert (read.status, posted.status, again.status) == (200, 200, 200)
    assert after_post == before + 1
    assert served.syncs == after_post  # the read waited for nothing


async def test_a_refused_write_that_stored_nothing_waits_for_nothing(served: Served, mira: ApiUser) -> None:
    await served.api.post("/api/v1/statuses", mira, json={"status": "first"})  # one sync done
    before = served.syncs

    refused = await served.api.post("/api/v1/statuses", mira, json={"status": ""})

    assert refused.status == 422
    assert served.syncs == before
    assert await Status.filter(account_id=mira.account.id).count() == 1


async def test_answers_finishing_together_share_their_syncs(served: Served, mira: ApiUser) -> None:
    before = served.syncs

    answers = await asyncio.gather(*(served.api.post("/api/v1/statuses", mira, json={"status": f"plate {n}"})
                                     for n in range(12)))

    assert [a.status for a in answers] == [200] * 12
    assert 1 <= served.syncs - before <= 12
    assert await Status.filter(account_id=mira.account.id).count() == 12


def test_the_inbox_views_say_they_commit_durably_themselves(settings: Settings) -> None:
    app = create_app(settings, run_jobs=False)
    inbox_views = [rule.endpoint for rule in app.url_map.iter_rules()
                   if rule.rule.endswith("inbox") and WRITE_METHODS & set(rule.methods or ())]

    assert sorted(inbox_views) == ["inbox.instance_inbox", "inbox.shared_inbox", "inbox.user_inbox"]
    assert all(getattr(app.view_functions[name], "_cara_fed_commits_durably", False) for name in inbox_views)


async def test_closing_the_database_syncs_what_a_command_committed(settings: Settings) -> None:
    if not settings.database.url.startswith("sqlite://"):
        pytest.skip("PostgreSQL's commits wait for the disk by themselves (synchronous_commit)")
    ctx = await db.open_database(settings.database)  # as a CLI command opens it
    with ctx:
        client = get_connection("default")
        assert isinstance(client, ImmediateSqliteClient)
        await accounts.create_local_account("juno", "juno@example.org", "correct horse battery staple")
        before = client.wal_syncs
    await ctx.close_connections()

    assert client.wal_syncs == before + 1
