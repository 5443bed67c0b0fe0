"""tortoise's SQLite backend, with write transactions that take SQLite's write lock when they begin.

tortoise opens transactions with a plain (deferred) ``BEGIN``. When `serve` and a `worker` share one
database file, a deferred transaction that reads and then writes can fail at once with "database is
locked" (SQLITE_BUSY on the lock upgrade, which busy_timeout does not wait out). ``BEGIN IMMEDIATE`` takes
the write lock up front, so a second writer waits (up to busy_timeout) instead of failing.
See https://sqlite.org/lang_transaction.html and https://sqlite.org/wal.html#sometimes_queries_return_sqlite_busy_in_wal_mode
"""

from __future__ import annotations

import sqlite3
from typing import Any

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
    def _in_transaction(self) -> TransactionContext:
        return SqliteTransactionContext(ImmediateTransactionWrapper(self), self._lock)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
