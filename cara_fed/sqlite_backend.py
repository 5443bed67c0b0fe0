"""tortoise's SQLite backend, with write transactions that take SQLite's write lock when they begin, and a
second connection whose commits wait for the disk.

tortoise opens transactions with a plain (deferred) ``BEGIN``. When `serve` and a `worker` share one
database file, a deferred transaction that reads and then writes can fail at once with "database is
locked" (SQLITE_BUSY on the lock upgrade, which busy_timeout does not wait out). ``BEGIN IMMEDIATE`` takes
the write lock up front, so a second writer waits (up to busy_timeout) instead of failing.
See https://sqlite.org/lang_transaction.html and https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode

The connection runs with ``synchronous = NORMAL`` (cara_fed/db.py): in WAL mode a commit then survives a
crash of the process, not a power loss or an OS crash (sqlite.org/pragma.html#pragma_synchronous,
sqlite.org/wal.html#performance_considerations). Writes whose acknowledgement tells someone else they may
forget the data (the inbox's 202) go through :meth:`ImmediateSqliteClient.durable_connection` instead: the
same file, ``synchronous = FULL``, so each commit is on the disk before it returns (and with it every
earlier commit in the WAL).
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import aiosqlite
from tortoise.backends.base.client import TransactionContext
from tortoise.backends.sqlite.client import SqliteClient, SqliteTransactionContext, SqliteTransactionWrapper
from tortoise.exceptions import TransactionManagementError


class ImmediateTransactionWrapper(SqliteTransactionWrapper):
    async def begin(self) -> None:
        try:
            await self._connection.commit()
            await self._connection.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise TransactionManagementError(exc) from exc


class ImmediateSqliteClient(SqliteClient):
    def __init__(self, file_path: str, **kwargs: Any) -> None:
        super().__init__(file_path, **kwargs)
        self._durable: aiosqlite.Connection | None = None
        self._durable_lock = asyncio.Lock()

    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)

    async def durable_connection(self) -> aiosqlite.Connection | None:
        """The second connection (opened on first use, closed with this client), or None for an in-memory
        database, where a second connection would open another database. It runs in a thread of its own
        and shares no transaction or lock with tortoise's: SQLite's write lock and busy_timeout order
        their writes, and each transaction written on it must take that lock first (BEGIN IMMEDIATE)."""
        if self.filename == ":memory:":
            return None
        async with self._durable_lock:
            if self._durable is None:
                durable = await aiosqlite.connect(self.filename, isolation_level=None)
                try:
                    for pragma, value in {**self.pragmas, "synchronous": "FULL"}.items():
                        await durable.execute(f"PRAGMA {pragma}={value}")
                except BaseException:
                    await durable.close()
                    raise
                self._durable = durable
            return self._durable

    async def close(self) -> None:
        async with self._durable_lock:
            if self._durable is not None:
                durable, self._durable = self._durable, None
                await durable.close()
        await super().close()


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
