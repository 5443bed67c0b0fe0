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
earlier commit in the WAL). Other answers that acknowledge a write (an API post, a follow, a sign-up) wait
for :meth:`ImmediateSqliteClient.make_durable` (cara_fed/web/durability.py): one fsync of the WAL file,
shared by the requests waiting at that moment, so the shared connection need not pay an fsync for every
commit (rate-limit counters, job bookkeeping, caches). Closing the client does the same (a CLI command's
last commits).
"""

from __future__ import annotations

import asyncio
import os
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
        self._wal_sync: asyncio.Future[None] | None = None  # the fsync of the WAL running now
        self._synced_changes: int | None = None  # total_changes when the last successful fsync began
        self.wal_syncs = 0  # fsyncs done by make_durable (tests and logs read it)

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

    async def make_durable(self) -> None:
        """Return once every transaction committed so far on the shared connection is on the disk. Not
        from inside a transaction of it (the sync waits for the connection's lock).

        That connection commits with ``synchronous = NORMAL``: a commit's pages are written to the WAL
        file, and reach the disk at the next fsync of it (a checkpoint, or this). One fsync of the WAL makes
        every frame in it durable, whoever wrote it (sqlite.org/wal.html: a transaction is durable once its
        commit frame is synced). Callers share the sync running when they arrive if it began after their
        commit, else the next one; nothing is synced when nothing was committed since the last sync began
        (``total_changes`` of the connection did not move)."""
        connection = self._connection
        if self.filename == ":memory:" or connection is None:
            return
        changes = connection._conn.total_changes  # counts this caller's committed changes
        while self._synced_changes is None or not _not_before(self._synced_changes, changes):
            if self._wal_sync is None:
                self._wal_sync = asyncio.ensure_future(self._sync_wal(connection))
            await asyncio.shield(self._wal_sync)  # shield: a request that goes away leaves the others' sync

    async def _sync_wal(self, connection: aiosqlite.Connection) -> None:
        try:
            # Under the connection's lock no transaction is half-way: every change counted is committed,
            # so in the WAL file before the fsync starts.
            async with self._lock:
                covers = connection._conn.total_changes
            await asyncio.to_thread(_fsync_file, f"{self.filename}-wal")
            self.wal_syncs += 1
            self._synced_changes = covers
        finally:
            self._wal_sync = None

    async def close(self) -> None:
        try:
            # A command's last commits survive a power cut too: `cara-fed user create` said "created".
            await self.make_durable()
        finally:
            async with self._durable_lock:
                if self._durable is not None:
                    durable, self._durable = self._durable, None
                    await durable.close()
            await super().close()


def _not_before(counter: int, reference: int) -> bool:
    """``counter`` is ``reference`` or a later value of it. sqlite3's total_changes is a C int on Python
    3.11 and wraps after 2**31 changes (months of rate-limit counting): compare modulo 2**32."""
    return (counter - reference) % 2**32 < 2**31


def _fsync_file(path: str) -> None:
    """fsync(2) through a descriptor of our own: Linux flushes the file's pages whoever wrote them. A WAL
    that does not exist has nothing to make durable (an empty database, or one that was checkpointed and
    closed)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


client_class = ImmediateSqliteClient


def get_client_class(db_info: dict[str, Any]) -> type[SqliteClient]:
    return ImmediateSqliteClient
