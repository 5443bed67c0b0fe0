"""Real databases for tests: a fresh SQLite file or a fresh PostgreSQL database per test.

Both are copied from a template migrated once per run (a file copy, or CREATE DATABASE ... TEMPLATE), so a
test starts on the real schema in milliseconds. PostgreSQL databases are named cara_test_<run>_<n> and
dropped at the end; `CARA_FED_TEST_PG_URL` points at the server (default: the local one, user postgres).
"""

from __future__ import annotations

import asyncio
import itertools
import os
import secrets
import shutil
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from cara_fed import db
from cara_fed.settings import DatabaseSettings

BACKEND = os.environ.get("CARA_FED_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("CARA_FED_TEST_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
if BACKEND not in ("sqlite", "postgres"):
    raise SystemExit(f"CARA_FED_TEST_DB must be sqlite or postgres, not {BACKEND!r}")


def migration_names() -> list[str]:
    """Every migration the package ships, in order (what a fresh database gets)."""
    folder = Path(db.__file__).parent / "models" / "migrations"
    return [f"models.{p.stem}" for p in sorted(folder.glob("[0-9][0-9][0-9][0-9]_*.py"))]


def pg_url(database: str) -> str:
    parts = urlsplit(PG_ADMIN_URL)
    return urlunsplit((parts.scheme, parts.netloc, "/" + database, "", ""))


async def _migrate(url: str) -> None:
    settings = DatabaseSettings(url=url)
    async with db.database(settings) as ctx:
        await db.migrate(ctx, settings)


class DatabaseFactory:
    """Hands out fresh, migrated databases of the backend under test."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.run_id = secrets.token_hex(3)
        self._counter = itertools.count(1)
        self._created: list[str] = []
        self._template: str | None = None

    def prepare(self) -> None:
        if BACKEND == "sqlite":
            template = self.workdir / "template.sqlite3"
            asyncio.run(_migrate(f"sqlite://{template}"))
            self._template = str(template)
        else:
            self._template = f"cara_test_{self.run_id}_template"
            asyncio.run(self._pg(f'CREATE DATABASE "{self._template}"'))
            asyncio.run(_migrate(pg_url(self._template)))

    async def new_url(self) -> str:
        n = next(self._counter)
        assert self._template is not None, "prepare() first"
        if BACKEND == "sqlite":
            path = self.workdir / f"test_{n}.sqlite3"
            shutil.copyfile(self._template, path)  # the template is closed, and WAL-checkpointed on close
            return f"sqlite://{path}"
        name = f"cara_test_{self.run_id}_{n}"
        await self._pg(f'CREATE DATABASE "{name}" TEMPLATE "{self._template}"')
        self._created.append(name)
        return pg_url(name)

    async def empty_url(self) -> str:
        """A database with no schema at all (for migration tests)."""
        n = next(self._counter)
        if BACKEND == "sqlite":
            return f"sqlite://{self.workdir / f'empty_{n}.sqlite3'}"
        name = f"cara_test_{self.run_id}_empty_{n}"
        await self._pg(f'CREATE DATABASE "{name}"')
        self._created.append(name)
        return pg_url(name)

    async def drop(self, url: str) -> None:
        if BACKEND == "postgres":
            name = urlsplit(url).path.lstrip("/")
            await self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            if name in self._created:
                self._created.remove(name)

    def cleanup(self) -> None:
        if BACKEND == "postgres":
            for name in [*self._created, self._template]:
                asyncio.run(self._pg(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @staticmethod
    async def _pg(sql: str) -> None:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=10)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()
