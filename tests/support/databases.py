"""Real databases for tests: a fresh SQLite file or a fresh PostgreSQL database per test.

Both are copied from a template migrated once per run (a file copy, or CREATE DATABASE ... TEMPLATE), so a
test starts on the real schema. PostgreSQL databases are named cara_test_<run>_<n> and dropped at the end;
`CARA_FED_TEST_PG_URL` points at the server (default: the local one, user postgres).

Under pytest-xdist every worker has its own factory: its own run id (which names the worker, e.g.
``cara_test_3fa2c1_gw0_17``), its own template, its own temporary folder, and drops its own databases when
its session ends.

On PostgreSQL, CREATE DATABASE and DROP DATABASE each wait on the disk (a WAL flush; a checkpoint for
every DROP), about a second each on a busy machine, which used to be most of the PostgreSQL pass. A
background thread (`_PostgresPool`) therefore creates the next databases while tests run and drops used
ones behind them; several at once share the flushes and checkpoints. Every test still gets a database of
its own, created from the template and never touched before, and used by nobody after it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from cara_fed import db
from cara_fed.settings import DatabaseSettings

BACKEND = os.environ.get("CARA_FED_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("CARA_FED_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"CARA_FED_TEST_DB must be sqlite or postgres, not {BACKEND!r}")

# How many fresh PostgreSQL databases each process keeps ready ahead of its tests (CARA_FED_TEST_PG_POOL;
# 0: each is created when a test asks, as before), and how many admin connections its background thread
# uses at most (creates and drops together).
PG_POOL_DEPTH = int(os.environ.get("CARA_FED_TEST_PG_POOL", "2"))
PG_POOL_CONNECTIONS = 4

T = TypeVar("T")


def migration_names() -> list[str]:
    """Every migration the package ships, in order (what a fresh database gets)."""
    folder = Path(db.__file__).parent / "models" / "migrations"
    return [f"models.{p.stem}" for p in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.py"))]


def pg_url(database: str) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgres://", "postgresql://", 1)


async def _migrate(url: str) -> None:
    settings = DatabaseSettings(url=url)
    async with db.database(settings) as ctx:
        await db.migrate(ctx, settings)


def _run_id() -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ... under pytest-xdist
    return secrets.token_hex(3) + (f"_{worker}" if worker else "")


class DatabaseFactory:
    """Hands out fresh, migrated databases of the backend under test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.run_id = _run_id()
        self._counter = itertools.count(1)
        self._template: str | None = None
        self._pool: _PostgresPool | None = None
        self.made = 0  # databases handed out, and the seconds tests waited for them (shown after the run)
        self.waited = 0.0

    def prepare(self) -> None:
        if BACKEND == "sqlite":
            template = self.workdir / "template.sqlite3"
            asyncio.run(_migrate(f"sqlite://{template}"))
            self._template = str(template)
        else:
            self._template = f"cara_test_{self.run_id}_template"
            asyncio.run(_admin(f'CREATE DATABASE "{self._template}"'))
            asyncio.run(_migrate(pg_url(self._template)))
            self._pool = _PostgresPool(self._template, self._next_pg_name, depth=PG_POOL_DEPTH)

    def _next_pg_name(self, kind: str = "") -> str:
        return f"cara_test_{self.run_id}_{kind}{next(self._counter)}"

    async def new_url(self) -> str:
        assert self._template is not None, "prepare() first"
        started = time.monotonic()
        if BACKEND == "sqlite":
            path = self.workdir / f"test_{next(self._counter)}.sqlite3"
            shutil.copyfile(self._template, path)  # the template is closed, and WAL-checkpointed on close
            url = f"sqlite://{path}"
        else:
            assert self._pool is not None
            url = pg_url(await self._pool.take())
        self._count_wait(started)
        return url

    async def empty_url(self) -> str:
        """A database with no schema at all (for migration tests)."""
        started = time.monotonic()
        if BACKEND == "sqlite":
            url = f"sqlite://{self.workdir / f'empty_{next(self._counter)}.sqlite3'}"
        else:
            assert self._pool is not None
            url = pg_url(await self._pool.create_empty(self._next_pg_name("empty_")))
        self._count_wait(started)
        return url

    def _count_wait(self, started: float) -> None:
        self.made += 1
        self.waited += time.monotonic() - started

    async def drop(self, url: str) -> None:
        """Done with this database. On PostgreSQL it is dropped in the background (it is never handed out
        again); `cleanup` waits for every drop."""
        if BACKEND == "postgres":
            assert self._pool is not None
            self._pool.release(urlsplit(url).path.lstrip("/"))

    def cleanup(self) -> None:
        """Drop every database this factory made (waiting for the background drops), then the template."""
        if self._pool is not None:
            self._pool.close()
            self._pool = None
        if BACKEND == "postgres" and self._template is not None:
            asyncio.run(_admin(f'DROP DATABASE IF EXISTS "{self._template}" WITH (FORCE)'))


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(_asyncpg_dsn(PG_ADMIN_URL), timeout=10)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


class _PostgresPool:
    """A thread with its own event loop that keeps ``depth`` databases, copied from ``template``, ready
    before tests ask for them, and drops the ones they are done with. Tests reach it from their own event
    loops through ``run_coroutine_threadsafe``. Every name it creates is remembered until dropped, so
    `close` leaves nothing behind, whatever state a test stopped in."""

    def __init__(self, template: str, next_name: Callable[[], str], *, depth: int) -> None:
        self._template = template
        self._next_name = next_name
        self._depth = depth
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="cara-test-databases",
                                        daemon=True)
        self._thread.start()
        self._alive: set[str] = set()  # created (or being created), not yet dropped
        self._errors: list[str] = []
        self._pending: set[asyncio.Future[Any]] = set()  # creates and drops in flight
        self._connections: asyncpg.Pool | None = None
        self._ready: asyncio.Queue[str | BaseException] | None = None
        self._slots: asyncio.Semaphore | None = None
        self._fillers: list[asyncio.Task[None]] = []
        try:
            self._call(self._start())
        except BaseException:
            self._loop.call_soon_threadsafe(self._loop.stop)
            raise

    # -- called from the tests' threads and loops ------------------------------------------------------

    def _submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(self, coro: Coroutine[Any, Any, T]) -> T:
        return self._submit(coro).result()

    async def take(self) -> str:
        """A fresh database's name: one made ahead of time, or (pool empty, or depth 0) one made now."""
        return await asyncio.wrap_future(self._submit(self._take()))

    async def create_empty(self, name: str) -> str:
        """A database with no schema: CREATE DATABASE's default copy of template1, made now."""
        made = self._submit(self._tracked(self._create(name, template="template1")))
        return await asyncio.wrap_future(made)

    def release(self, name: str) -> None:
        self._submit(self._drop_in_background(name))

    def close(self) -> None:
        try:
            self._call(self._close())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=60)
            if not self._thread.is_alive():
                self._loop.close()
        if self._errors:
            raise RuntimeError("test databases could not be dropped:\n" + "\n".join(self._errors))

    # -- on the pool's own loop ------------------------------------------------------------------------

    async def _start(self) -> None:
        self._connections = await asyncpg.create_pool(
            _asyncpg_dsn(PG_ADMIN_URL), min_size=1, max_size=PG_POOL_CONNECTIONS, timeout=10)
        self._ready = asyncio.Queue()
        self._slots = asyncio.Semaphore(self._depth)
        self._fillers = [asyncio.create_task(self._fill()) for _ in range(self._depth)]

    async def _fill(self) -> None:
        """Makes databases while fewer than ``depth`` wait untaken (``depth`` fillers run at once, so the
        pool refills with that many CREATEs in flight)."""
        assert self._ready is not None and self._slots is not None
        while True:
            await self._slots.acquire()  # released by _take
            try:
                name = await self._tracked(self._create(self._next_name(), template=self._template))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - raised in the test that takes it; this filler stops
                await self._ready.put(exc)
                return
            await self._ready.put(name)

    async def _take(self) -> str:
        assert self._ready is not None and self._slots is not None
        if self._depth == 0 or (self._ready.empty() and not self._fillers_alive()):
            return await self._tracked(self._create(self._next_name(), template=self._template))
        item = await self._ready.get()
        self._slots.release()
        if isinstance(item, BaseException):
            raise item
        return item

    def _fillers_alive(self) -> bool:
        return any(not task.done() for task in self._fillers)

    async def _create(self, name: str, *, template: str) -> str:
        assert self._connections is not None
        self._alive.add(name)
        await self._connections.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
        return name

    async def _drop_in_background(self, name: str) -> None:
        try:
            await self._tracked(self._drop(name))
        except Exception as exc:  # noqa: BLE001 - reported by close(), at the end of the session
            self._errors.append(f"{name}: {type(exc).__name__}: {exc}")

    async def _drop(self, name: str) -> None:
        assert self._connections is not None
        await self._connections.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self._alive.discard(name)

    async def _tracked(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` to the end even if the caller is cancelled (a half-made CREATE is never left
        behind), and let `close` wait for it."""
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)
        return await asyncio.shield(task)

    async def _close(self) -> None:
        for task in self._fillers:
            task.cancel()  # a filler is cancelled while it waits; its create, if any, is shielded
        await asyncio.gather(*self._fillers, return_exceptions=True)
        while self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await asyncio.gather(*(self._drop_in_background(name) for name in sorted(self._alive)))
        if self._connections is not None:
            await self._connections.close()
