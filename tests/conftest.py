"""Shared fixtures: real databases (SQLite or PostgreSQL, per CARA_FED_TEST_DB), real RSA keys, the app
served over real HTTP on loopback, and the fake fediverse."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest
from argon2 import PasswordHasher

from activitypub.keys import KeyPair, generate_rsa_keypair
from cara_fed import db
from cara_fed.app import create_app
from cara_fed.services import passwords
from cara_fed.settings import Settings
from tests.interop.installs import CACHE as INTEROP_CACHE
from tests.interop.installs import SKIP_PREFIX
from tests.support.databases import BACKEND, DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.support.tls import FakeTLS, make_test_tls

# Real argon2id, cheaper parameters, in the test processes: a hash or check costs ~25 ms of CPU at the
# production ones (argon2-cffi's defaults, RFC 9106's recommended profile) and the suite makes thousands.
# A hash names its own parameters, so the production-cost hashes that `cara-fed` processes make in the
# tests still verify here, and these verify there.
passwords._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


def pytest_report_header() -> str:
    return f"cara_fed test database backend: {BACKEND}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """A skipped interop run is not a green one: say so at the end, where it cannot be missed. Read from the
    skip reports (not from state in tests/interop/installs.py): under pytest-xdist the tests run in the
    workers and only their reports reach the process that prints this."""
    reasons: dict[str, None] = {}
    for report in terminalreporter.stats.get("skipped", []):
        longrepr = getattr(report, "longrepr", None)
        message = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr or "")
        if SKIP_PREFIX in message:
            reasons[message.split(SKIP_PREFIX, 1)[1]] = None
    for reason in reasons:
        terminalreporter.write_sep("!", "INTEROP TESTS SKIPPED", red=True, bold=True)
        terminalreporter.write_line(reason, red=True)
        terminalreporter.write_line(f"(installs are cached under {INTEROP_CACHE}; rerun when the registries "
                                    "answer)")
    if _DATABASE_STATS:
        made, waited = sum(n for n, _ in _DATABASE_STATS), sum(s for _, s in _DATABASE_STATS)
        terminalreporter.write_line(f"{BACKEND} test databases: {made} made; tests waited {waited:.1f} s for "
                                    f"them in all ({len(_DATABASE_STATS)} process(es))")


# (databases made, seconds tests waited for them) of each pytest process: the cost of a fresh database per
# test, shown at the end of the run. xdist workers send theirs to the controller, which prints the line.
_DATABASE_STATS: list[tuple[int, float]] = []


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker (its session fixtures are torn down by now)
        workeroutput["cara_databases"] = [list(stats) for stats in _DATABASE_STATS]


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    """xdist's controller: a worker finished."""
    stats = getattr(node, "workeroutput", {}).get("cara_databases", [])
    _DATABASE_STATS.extend((int(made), float(waited)) for made, waited in stats)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if BACKEND != "postgres":
        skip = pytest.mark.skip(reason="PostgreSQL-specific; runs in the PostgreSQL pass of `make test`")
        for item in items:
            if "postgres_only" in item.keywords:
                item.add_marker(skip)


@pytest.fixture(scope="session")
def database_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DatabaseFactory]:
    """One per pytest process: under pytest-xdist each worker has its own template and temporary folder
    (tmp_path_factory gives every worker a base folder of its own) and drops its own databases."""
    factory = DatabaseFactory(tmp_path_factory.mktemp("databases"))
    factory.prepare()
    yield factory
    factory.cleanup()
    _DATABASE_STATS.append((factory.made, factory.waited))


@pytest.fixture(scope="session")
def rsa_keypair() -> KeyPair:
    """One real RSA-2048 key pair for the whole run (generating one per test would be slow)."""
    return generate_rsa_keypair()


@pytest.fixture(scope="session")
def test_tls(tmp_path_factory: pytest.TempPathFactory) -> FakeTLS:
    return make_test_tls(tmp_path_factory.mktemp("tls"))


@pytest.fixture
async def database_url(database_factory: DatabaseFactory) -> AsyncIterator[str]:
    url = await database_factory.new_url()
    yield url
    await database_factory.drop(url)


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings().replace(
        instance={"domain": "art.example", "name": "Test Atelier"},
        database={"url": database_url},
        media={"root": str(tmp_path / "media")},
        jobs={"poll_seconds": 0.05, "lease_seconds": 5.0},
        federation={"allow_nonpublic": ("127.0.0.0/8",)},  # the fake fediverse lives on loopback
        logging={"format": "text"},
    )


@pytest.fixture
async def database(settings: Settings) -> AsyncIterator[None]:
    """The test's database, open and current (for service- and model-level tests)."""
    async with db.database(settings.database):
        yield


@pytest.fixture
async def fediverse(test_tls: FakeTLS) -> AsyncIterator[FakeFediverse]:
    fake = FakeFediverse(tls=test_tls)
    async with fake.running():
        yield fake


@pytest.fixture
async def server(settings: Settings, fediverse: FakeFediverse, test_tls: FakeTLS) -> AsyncIterator[RunningServer]:
    """This test's cara_fed, served over real HTTP on loopback, its outgoing HTTP going to the fake
    fediverse. Jobs are not run in-process: tests run them explicitly."""
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain client for talking to servers on loopback."""
    async with aiohttp.ClientSession() as session:
        yield session
