"""The database: tortoise-orm configuration from settings, connecting, migrating, and a health probe.

Each app (and each CLI command) owns one :class:`TortoiseContext`, not tortoise's global state, so two
cara_fed instances can live in one process (the federation tests run two).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tortoise.context import TortoiseContext
from tortoise.migrations.executor import MigrationExecutor

from cara_fed.settings import DatabaseSettings

log = logging.getLogger(__name__)

APP_LABEL = "models"
MODELS_MODULE = "cara_fed.models"
MIGRATIONS_MODULE = "cara_fed.models.migrations"
CONNECT_TIMEOUT_SECONDS = 10.0


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
            "engine": "tortoise.backends.sqlite",
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
    return {
        "engine": "tortoise.backends.asyncpg",
        "credentials": {
            "host": parts.hostname,
            "port": parts.port or 5432,
            "user": unquote(parts.username or "postgres"),
            "password": unquote(parts.password or ""),
            "database": parts.path.lstrip("/"),
            "minsize": 1,
            "maxsize": db.max_connections,
            "timeout": CONNECT_TIMEOUT_SECONDS,
        },
    }


def sqlite_path(db: DatabaseSettings) -> str:
    return db.url[len("sqlite://"):]


def describe(db: DatabaseSettings) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(db.url)
    if parts.password:
        return db.url.replace(f":{parts.password}@", ":***@", 1)
    return db.url


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


async def migrate(ctx: TortoiseContext, db: DatabaseSettings) -> list[str]:
    """Apply pending migrations inside ``ctx`` (which must be current); returns the names applied."""
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
