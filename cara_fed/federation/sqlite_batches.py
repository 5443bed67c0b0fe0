"""Statements of many concurrent tasks in one trip to SQLite (group commit), for the inbox worker's hot path.

On SQLite every statement through tortoise is a trip to aiosqlite's thread and back (a queue put, a thread
switch, a wake-up of the event loop), which costs more CPU than a small statement itself; a transaction is
five or more such trips. Here each task hands over a *group* of statements that depend on no earlier
result; the groups waiting at one moment go to the thread together, in one transaction when any of them
writes (BEGIN IMMEDIATE, as cara_fed/sqlite_backend.py explains), each write group in its own savepoint so
that a failing group fails alone and leaves nothing behind. A task alone is a batch of one: no timer, no
added latency. The results reach the tasks only after the COMMIT (a crash loses nothing acknowledged).

Other backends, or a caller inside a transaction of its own, run the statements as usual (see :func:`run`).
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.exceptions import IntegrityError, OperationalError
from tortoise.transactions import in_transaction

Statement = tuple[str, Sequence[object]]  # SQL with ``?`` placeholders, parameters
Rows = list[dict[str, Any]]
MAX_GROUPS = 64  # groups per trip: bounds how long one transaction holds SQLite's write lock


@lru_cache(maxsize=128)
def postgres_sql(sql: str) -> str:
    """``?`` placeholders as ``$1, $2...`` (no statement given here has a literal question mark)."""
    parts = sql.split("?")
    return parts[0] + "".join(f"${n}{part}" for n, part in enumerate(parts[1:], start=1))


async def run_one(conn: BaseDBAsyncClient, sql: str, params: Sequence[object]) -> Rows:
    """One statement with ``?`` placeholders on ``conn``, as usual (a trip of its own on SQLite)."""
    if conn.capabilities.dialect == "postgres":
        sql = postgres_sql(sql)
    return list(await conn.execute_query_dict(sql, list(params)))


async def run(conn: BaseDBAsyncClient, statements: Sequence[Statement], *, write: bool) -> list[Rows]:
    """Each statement's rows. ``write``: the statements change rows and must apply all or none (a
    transaction: a savepoint of the shared one on SQLite, else a transaction of their own, or ``conn``'s
    when it is one already). Reads go together with other tasks' groups too, outside any transaction when
    no group of the trip writes."""
    if isinstance(conn, TransactionalDBClient):
        return [await run_one(conn, sql, params) for sql, params in statements]
    connection = getattr(conn, "_connection", None)
    if conn.capabilities.dialect == "sqlite" and hasattr(connection, "_execute") and hasattr(conn, "_lock"):
        return await _batcher(conn).submit(_Group(list(statements), write))
    if not write or len(statements) == 1:  # (one statement is atomic by itself: no transaction needed)
        return [await run_one(conn, sql, params) for sql, params in statements]
    async with in_transaction() as tx:
        return [await run_one(tx, sql, params) for sql, params in statements]


@dataclass
class _Group:
    statements: list[Statement]
    write: bool


_batchers: weakref.WeakKeyDictionary[BaseDBAsyncClient, _Batcher] = weakref.WeakKeyDictionary()


def per_database(registry: weakref.WeakKeyDictionary[Any, Any], client: Any,
                 make: Callable[[Any, asyncio.AbstractEventLoop], Any]) -> Any:
    """The group-commit queue of ``client`` in ``registry`` (made by ``make(client, loop)``): one per
    database and event loop (tests run several loops). Also used by federation/inbox_intake.py."""
    loop = asyncio.get_running_loop()
    found = registry.get(client)
    if found is None or found.loop is not loop:
        found = registry[client] = make(client, loop)
    return found


def _batcher(client: BaseDBAsyncClient) -> _Batcher:
    batcher: _Batcher = per_database(_batchers, client, _Batcher)
    return batcher


class _Batcher:
    def __init__(self, client: BaseDBAsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        # Weakly: the batcher is the value of a dict weakly keyed by the client, which it must not keep alive.
        self.client = weakref.ref(client)
        self.loop = loop
        self._pending: list[tuple[_Group, asyncio.Future[list[Rows]]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, group: _Group) -> list[Rows]:
        future: asyncio.Future[list[Rows]] = self.loop.create_future()
        self._pending.append((group, future))
        if self._flusher is None:
            self._flusher = self.loop.create_task(self._flush(), name="sqlite-batches")
        # shield: a task cancelled while waiting (a lost lease, shutdown) must not cancel the others' trip
        return await asyncio.shield(future)

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_GROUPS], self._pending[MAX_GROUPS:]
                try:
                    client = self.client()
                    if client is None:
                        raise RuntimeError("the database was closed")
                    # tortoise's lock: no other statement, nor another task's open transaction, meanwhile
                    async with client.acquire_connection() as connection:  # type: ignore[attr-defined]
                        outcomes = await connection._execute(_run_groups, connection, [g for g, _ in batch])
                except BaseException as exc:  # the trip failed as a whole (cancelled: nobody waits forever)
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(_translated(exc) if isinstance(exc, Exception) else
                                                 RuntimeError("stopped"))
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if future.done():
                        continue
                    if isinstance(outcome, Exception):
                        future.set_exception(_translated(outcome))
                    else:
                        future.set_result(outcome)
        finally:
            self._flusher = None
            if self._pending:  # stopped with groups left: they fail rather than wait forever
                for _, future in self._pending:
                    if not future.done():
                        future.set_exception(RuntimeError("stopped"))
                self._pending = []


def _translated(exc: Exception) -> Exception:
    """sqlite3's errors as tortoise raises them (tortoise.backends.sqlite.client.translate_exceptions)."""
    if isinstance(exc, sqlite3.IntegrityError):
        return IntegrityError(exc)
    if isinstance(exc, sqlite3.OperationalError):
        return OperationalError(exc)
    return exc


def _run_groups(connection: Any, groups: list[_Group]) -> list[list[Rows] | Exception]:
    """In aiosqlite's thread, on its sqlite3 connection (autocommit mode: transactions are explicit)."""
    db: sqlite3.Connection = connection._conn
    writes = any(group.write for group in groups)
    if writes:
        db.execute("BEGIN IMMEDIATE")
    try:
        outcomes: list[list[Rows] | Exception] = []
        for group in groups:
            if group.write:
                db.execute("SAVEPOINT task_group")
            try:
                outcomes.append([[dict(row) for row in db.execute(sql, params).fetchall()]
                                 for sql, params in group.statements])
            except sqlite3.Error as exc:  # this group fails alone; the others' rows stay
                if group.write:
                    db.execute("ROLLBACK TO task_group")
                    db.execute("RELEASE task_group")
                outcomes.append(exc)
                continue
            if group.write:
                db.execute("RELEASE task_group")
        if writes:
            db.execute("COMMIT")
        return outcomes
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
