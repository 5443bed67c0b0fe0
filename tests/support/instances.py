"""Several cara_fed instances in one test process, federating over the fake fediverse (real HTTP, real
TLS, real signatures), each with its own database. Jobs run when the test says so (``drain``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from quart import Quart

from cara_fed.app import create_app
from cara_fed.federation.context import Federation
from cara_fed.jobs.runner import JobRunner
from cara_fed.models import Account, Job
from cara_fed.models.jobs import DEAD
from cara_fed.services import accounts
from cara_fed.settings import Settings
from cara_fed.web.state import AppState, app_state
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi


@dataclass
class Instance:
    domain: str
    settings: Settings
    app: Quart
    server: RunningServer | None = None  # where it listens (https on loopback), for API calls

    @property
    def state(self) -> AppState:
        return app_state(self.app)

    @property
    def federation(self) -> Federation:
        assert self.state.federation is not None
        return self.state.federation

    def db(self) -> Any:
        """``with instance.db():`` makes this instance's database current."""
        assert self.state.db is not None
        return self.state.db

    async def user(self, username: str) -> Account:
        with self.db():
            user = await accounts.create_local_account(username, f"{username}@{self.domain}", "correct horse battery")
            return await Account.get(id=user.account_id)

    async def run_jobs(self) -> int:
        with self.db():
            runner = JobRunner(concurrency=4, lease_seconds=30, poll_seconds=0.05, keep_done_hours=24,
                               services={"settings": self.settings, "federation": self.federation})
            return await runner.run_until_idle()

    async def dead_jobs(self) -> list[tuple[str, str | None]]:
        with self.db():
            return [(j.kind, j.last_error) for j in await Job.filter(state=DEAD)]


async def drain(*instances: Instance, rounds: int = 20) -> None:
    """Run every instance's due jobs until a whole round runs none (deliveries ping-pong between them)."""
    for _ in range(rounds):
        if sum([await instance.run_jobs() for instance in instances]) == 0:
            return
    raise AssertionError("jobs kept coming after 20 rounds")


@asynccontextmanager
async def instances(domains: list[str], database_factory: DatabaseFactory, fediverse: FakeFediverse,
                    tmp_path: Path) -> AsyncIterator[list[Instance]]:
    urls = [await database_factory.new_url() for _ in domains]
    try:
        async with AsyncExitStack() as stack:
            started: list[Instance] = []
            for domain, url in zip(domains, urls, strict=True):
                settings = Settings().replace(
                    instance={"domain": domain, "name": domain}, database={"url": url},
                    media={"root": str(tmp_path / domain)}, logging={"format": "text"},
                    federation={"allow_nonpublic": ("127.0.0.0/8",)})
                app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
                running = await stack.enter_async_context(serve_asgi(app, tls=fediverse.tls))
                fediverse.route(domain, running.port)
                started.append(Instance(domain=domain, settings=settings, app=app, server=running))
            yield started
    finally:
        for url in urls:
            await database_factory.drop(url)
