"""The database: tortoise-orm configuration from settings, connecting, migrating, and a health probe.

Each app (and each CLI command) owns one :class:`TortoiseContext`, not tortoise's global state, so two
cara_fed instances can live in one process (the federation tests run two).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from cara_fed.settings import DatabaseSettings, redact_url

log = logging.getLogger(__name__)

APP_LABEL = "models"
MODELS_MODULE = "cara_fed.models"
MIGRATIONS_MODULE = "cara_fed.models.migrations"
CONNECT_TIMEOUT_SECONDS = 10.0
MIGRATION_LOCK_KEY = 0x63617261_666564  # "carafed": the advisory lock every migrator takes


class DatabaseUnavailable(Exception):
    """The configured database cannot be reached; ``str()`` is one line for the admin."""


def tortoise_config(db: DatabaseSettings) -> dict[str, Any]:
    return {
        "connections": {"default": _connection_config(db)},
        "apps": {APP_LABEL: {"models": [MODELS_MODULE], "migrations": MIGRATIONS_MODULE,
                             "default_connection": "default"}},
        "use_tz": True,
        "timezone": "UTC",
    }


def _connection_config(db: DatabaseSettings) -> dict[str, Any]:
    if db.url.startswith("sqlite://"):
        return {
            "engine": "cara_fed.sqlite_backend",  # tortoise's, with BEGIN IMMEDIATE transactions
            "credentials": {
                "file_path": sqlite_path(db),
                # tortoise already sets journal_mode=WAL and foreign_keys=ON; a busy timeout lets
                # `serve` and a `worker` share the file without "database is locked" errors.
                "journal_mode": "WAL",
                "foreign_keys": "ON",
                "busy_timeout": 10000,
                "synchronous": "NORMAL",  # durable with WAL on a clean shutdown or a process crash
            },
        }
    parts = urlsplit(db.url)
    credentials: dict[str, Any] = {
        "host": parts.hostname,
        "port": parts.port or 5432,
        "user": unquote(parts.username or "postgres"),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
        "minsize": 1,
        "maxsize": db.max_connections,
        "timeout": CONNECT_TIMEOUT_SECONDS,
    }
    sslmode = parse_qs(parts.query).get("sslmode")
    if sslmode:
        credentials["ssl"] = sslmode[-1]  # asyncpg takes libpq's sslmode names
    return {"engine": "tortoise.backends.asyncpg", "credentials": credentials}


def sqlite_path(db: DatabaseSettings) -> str:
    return db.url[len("sqlite://"):]


def describe(db: DatabaseSettings) -> str:
    """The URL without its password, for messages."""
    return redact_url(db.url)


async def open_database(db: DatabaseSettings) -> TortoiseContext:
    """Connect and check that the database answers. Raises :class:`DatabaseUnavailable`."""
    if db.url.startswith("sqlite://"):
        path = Path(sqlite_path(db))
        if str(path) != ":memory:":
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise DatabaseUnavailable(f"cannot create {path.parent}: {exc.strerror}") from None
    ctx = TortoiseContext()
    try:
        with ctx:  # tortoise resolves models and connections through the current context
            await asyncio.wait_for(ctx.init(config=tortoise_config(db)), CONNECT_TIMEOUT_SECONDS)
            await asyncio.wait_for(ping(ctx), CONNECT_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # asyncpg, OSError, sqlite3: all mean "not usable", said in one line
        await _close_quietly(ctx)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DatabaseUnavailable(f"cannot use database {describe(db)}: {reason}") from None
    return ctx


async def _close_quietly(ctx: TortoiseContext) -> None:
    try:
        await ctx.close_connections()
    except Exception:  # noqa: BLE001 - already reporting the original failure
        log.debug("closing a failed connection raised", exc_info=True)


async def ping(ctx: TortoiseContext) -> None:
    await ctx.db().execute_query("SELECT 1")


@asynccontextmanager
async def database(db: DatabaseSettings) -> AsyncIterator[TortoiseContext]:
    """Open the database and make it the current tortoise context for the block (CLI commands, tests)."""
    ctx = await open_database(db)
    try:
        with ctx:
            yield ctx
    finally:
        await ctx.close_connections()


@asynccontextmanager
async def _migration_lock(db: DatabaseSettings) -> AsyncIterator[None]:
    """One migrator at a time across processes (`serve` and its workers start together and each migrates):
    a PostgreSQL advisory lock on its own connection, or an exclusive lock on a file beside the SQLite
    database. The second process then finds nothing left to apply."""
    if db.url.startswith("sqlite://"):
        path = sqlite_path(db)
        if path == ":memory:":
            yield
            return
        with open(f"{path}.migrate-lock", "a+b") as lock_file:
            await asyncio.to_thread(fcntl.flock, lock_file.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock_file.fileno(), fcntl.LOCK_UN)
        return
    import asyncpg  # the `postgres` extra; only needed with a PostgreSQL URL

    credentials = _connection_config(db)["credentials"]
    conn = await asyncpg.connect(host=credentials["host"], port=credentials["port"], user=credentials["user"],
                                 password=credentials["password"] or None, database=credentials["database"],
                                 ssl=credentials.get("ssl"), timeout=CONNECT_TIMEOUT_SECONDS)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
        yield
    finally:
        await conn.close()  # ends the session, which releases the lock


async def migrate(ctx: TortoiseContext, db: DatabaseSettings) -> list[str]:
    """Apply pending migrations inside ``ctx`` (which must be current); returns the names applied."""
    async with _migration_lock(db):
        return await _migrate_locked(ctx, db)


async def _migrate_locked(ctx: TortoiseContext, db: DatabaseSettings) -> list[str]:
    applied: list[str] = []

    def progress(event: str, app_label: str, name: str) -> None:
        if event == "apply_done":
            applied.append(f"{app_label}.{name}")
            log.info("migration applied", extra={"migration": f"{app_label}.{name}"})

    apps = tortoise_config(db)["apps"]
    executor = MigrationExecutor(ctx.db(), apps)
    await executor.migrate(progress=progress)
    return applied


# For developers: `python -m tortoise -c cara_fed.db.TORTOISE_ORM makemigrations` writes a new migration
# into cara_fed/models/migrations after a model change (it reads models only, no database is touched).
TORTOISE_ORM = tortoise_config(DatabaseSettings(url="sqlite://:memory:"))


async def raw_rows(sql: str, params: list[object], *, model: type | None = None) -> list[dict[str, object]]:
    """Run one raw query written with ``?`` placeholders on the current database (PostgreSQL gets ``$n``).

    For the hot paths (timelines, entity counts) where one hand-written query replaces several ORM ones."""
    from cara_fed.models import Account  # any model: they share one connection

    conn = (model or Account)._meta.db
    if conn.capabilities.dialect == "postgres":
        parts = sql.split("?")
        sql = parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))
    return list(await conn.execute_query_dict(sql, params))


def in_list(values: list[object]) -> str:
    """``?, ?, ?`` for an IN clause of that many values (never empty: ``IN (NULL)`` matches nothing)."""
    return ", ".join("?" * len(values)) if values else "NULL"
