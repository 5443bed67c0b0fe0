"""The inbox's last step (DESIGN.md section 3, steps 1 and 5): check the recipient and the sender's domain,
then store the activity as an ``inbox.activity`` job, for many requests in one write transaction.

Why: on SQLite each statement on the request path was a hop to aiosqlite's thread and back, and each
INSERT its own commit; together they were most of an inbox request's CPU (bench/inbox.py). Here the
requests waiting at one moment share one hop and one commit (group commit): while a batch is being written,
the next requests queue up, and the flusher takes them all as the next batch. Alone, a request is a batch of
one (no timer, no added latency).

Durability (a crash loses nothing acknowledged): a request's outcome is only known after its batch has
committed, and the inbox sends its 202 only then. A batch that fails fails every request in it (none was
answered yet, the senders retry); the job's unique key makes a retried delivery a no-op.

The checks run in the same transaction as the INSERT, so a recipient suspended or a domain blocked a moment
before is seen (nothing is cached): the recipient must be an active local account (else 404/410, as
``accounts.check_inbox_owner``), and the actor's or key's domain must not be refused (else dropped with a
202, as ``domains.is_suspended``). PostgreSQL takes the plain path: the same checks and ``queue.enqueue``.
"""

from __future__ import annotations

import asyncio
import enum
import hashlib
import sqlite3
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.backends.sqlite.client import SqliteClient
from tortoise.connection import get_connection

from cara_fed.errors import Gone, NotFound
from cara_fed.federation.domains import is_suspended, suspension_query
from cara_fed.federation.inbox import INBOX_JOB, INBOX_POLICY, enqueue_incoming
from cara_fed.federation.sqlite_batches import per_database
from cara_fed.ids import snowflake_id
from cara_fed.jobs.queue import now_ms
from cara_fed.models.accounts import acct_key
from cara_fed.models.jobs import QUEUED
from cara_fed.services import accounts

MAX_BATCH = 64  # requests per transaction: bounds how long one batch holds SQLite's write lock
ID_CLASH_ATTEMPTS = 3  # as jobs.queue.enqueue: another process drew the same Snowflake id in one millisecond

# The same statements as accounts.check_inbox_owner and jobs.queue.enqueue (kept in step with them).
_OWNER_SQL = ("SELECT a.username, a.suspended_at FROM accounts a JOIN users u ON u.account_id = a.id "
              "WHERE a.acct_key = ?")
_INSERT_SQL = ("INSERT INTO jobs (id, created_at, kind, payload, state, attempts, max_attempts, "
               "run_after_ms, give_up_at_ms, unique_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
               "ON CONFLICT (unique_key) DO NOTHING")


class Outcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"  # this activity id was stored before: nothing new (security.md item 20)
    DOMAIN_REFUSED = "domain refused"  # suspended domain, or not allowed in allow-list mode: dropped
    NO_RECIPIENT = "no recipient"  # 404
    RECIPIENT_SUSPENDED = "recipient suspended"  # 410


@dataclass
class Delivery:
    """One accepted request's activity, as the inbox hands it over."""

    activity: dict[str, Any]
    signer: str  # the verified key owner (the activity's actor)
    username: str | None  # the personal inbox's name as requested, None for the shared inbox
    hosts: tuple[str | None, ...]  # whose suspension drops the activity: the actor, the key id
    activity_json: str = field(default="", repr=False)

    def unique_key(self) -> str | None:
        activity_id = self.activity.get("id")
        return hashlib.sha256(f"inbox:{activity_id}".encode()).hexdigest() if isinstance(activity_id, str) \
            else None


def raise_for(outcome: Outcome) -> None:
    """The inbox's answer for a refused recipient, exactly as ``accounts.check_inbox_owner`` raises it."""
    if outcome is Outcome.NO_RECIPIENT:
        raise NotFound("Record not found")
    if outcome is Outcome.RECIPIENT_SUSPENDED:
        raise Gone("This account has been suspended")


async def store(delivery: Delivery) -> Outcome:
    """Check and store one activity; returns once its transaction has committed (or raises)."""
    client = get_connection("default")
    if isinstance(client, SqliteClient) and not isinstance(client, TransactionalDBClient):
        delivery.activity_json = orjson.dumps(delivery.activity).decode()  # per request: errors stay its own
        return await _intake_for(client).submit(delivery)
    return await _store_one(delivery)


async def _store_one(delivery: Delivery) -> Outcome:
    """PostgreSQL (or inside a caller's transaction): the checks and the INSERT as separate statements."""
    recipient = None
    if delivery.username is not None:
        try:
            recipient = await accounts.check_inbox_owner(delivery.username)
        except NotFound:
            return Outcome.NO_RECIPIENT
        except Gone:
            return Outcome.RECIPIENT_SUSPENDED
    if await is_suspended(*delivery.hosts):
        return Outcome.DOMAIN_REFUSED
    stored = await enqueue_incoming(delivery.activity, signer=delivery.signer, recipient=recipient)
    return Outcome.STORED if stored else Outcome.DUPLICATE


# -- SQLite: group commit ----------------------------------------------------------------------------------


_intakes: weakref.WeakKeyDictionary[BaseDBAsyncClient, _Intake] = weakref.WeakKeyDictionary()


def _intake_for(client: SqliteClient) -> _Intake:
    intake: _Intake = per_database(_intakes, client, _Intake)
    return intake


class _Intake:
    def __init__(self, client: SqliteClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = weakref.ref(client)  # weak: _intakes is keyed by the client, which must be able to go
        self.loop = loop
        self._pending: list[tuple[Delivery, asyncio.Future[Outcome]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, delivery: Delivery) -> Outcome:
        future: asyncio.Future[Outcome] = self.loop.create_future()
        self._pending.append((delivery, future))
        if self._flusher is None:
            self._flusher = self.loop.create_task(self._flush(), name="inbox-intake")
        # A request cancelled meanwhile (its client went away) cancels only its own future: the batch is the
        # flusher task's, and goes on for the others.
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                try:
                    outcomes = await self._write([delivery for delivery, _ in batch])
                except Exception as exc:  # the whole batch failed: every request in it fails (none answered)
                    _fail(batch, exc)
                    continue
                except BaseException:  # cancelled (shutdown): nobody waits forever
                    _fail(batch + self._pending, RuntimeError("inbox intake stopped"))
                    self._pending = []
                    raise
                for (_, future), outcome in zip(batch, outcomes, strict=True):
                    if not future.done():
                        future.set_result(outcome)
        finally:
            self._flusher = None

    async def _write(self, batch: list[Delivery]) -> list[Outcome]:
        # The tortoise client's lock: no other statement (or another task's open transaction) shares the
        # connection meanwhile. Then one hop to aiosqlite's thread for the whole transaction.
        client = self._client()
        if client is None:
            raise RuntimeError("the database was closed")
        async with client.acquire_connection() as connection:
            return await connection._execute(_write_batch, connection._conn, batch)


def _fail(batch: list[tuple[Delivery, asyncio.Future[Outcome]]], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


def _write_batch(db: sqlite3.Connection, batch: list[Delivery]) -> list[Outcome]:
    """In aiosqlite's thread: one transaction for the batch (BEGIN IMMEDIATE takes the write lock first, as
    cara_fed/sqlite_backend.py explains), committed with ``synchronous = FULL``."""
    # The connection runs with synchronous = NORMAL (cara_fed/db.py): in WAL mode a commit then survives a
    # crash of the process, not a power loss or an OS crash (sqlite.org/pragma.html#pragma_synchronous,
    # sqlite.org/wal.html#performance_considerations). A 202 tells the sender it may forget the
    # activity, so these commits wait for the WAL to reach the disk (one fsync per batch, shared by its
    # requests), which also makes every earlier transaction in the WAL durable.
    level = db.execute("PRAGMA synchronous").fetchone()[0]
    if level < 2:
        db.execute("PRAGMA synchronous = FULL")
    try:
        return _write_batch_retrying(db, batch)
    finally:
        if level < 2:
            db.execute(f"PRAGMA synchronous = {int(level)}")


def _write_batch_retrying(db: sqlite3.Connection, batch: list[Delivery]) -> list[Outcome]:
    """Retried with new ids if another process drew the same Snowflake id."""
    for attempt in range(ID_CLASH_ATTEMPTS):
        db.execute("BEGIN IMMEDIATE")
        try:
            checks = _Checks(db)
            outcomes = [_check_and_insert(db, checks, delivery) for delivery in batch]
            db.execute("COMMIT")
            return outcomes
        except sqlite3.IntegrityError:
            db.execute("ROLLBACK")
            if attempt == ID_CLASH_ATTEMPTS - 1:
                raise
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise
    raise AssertionError("unreachable")


class _Checks:
    """The recipient and domain checks of one transaction, each asked once per batch: a burst comes from one
    server to one inbox, and inside the transaction the answer cannot change."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self._recipients: dict[str, str | Outcome] = {}
        self._refused: dict[tuple[str | None, ...], bool] = {}

    def recipient(self, username: str) -> str | Outcome:
        """The canonical username of an active local account, or why not."""
        key = acct_key(username, None)
        found = self._recipients.get(key)
        if found is None:
            row = self._db.execute(_OWNER_SQL, (key,)).fetchone()
            found = Outcome.NO_RECIPIENT if row is None else Outcome.RECIPIENT_SUSPENDED \
                if row[1] is not None else str(row[0])
            self._recipients[key] = found
        return found

    def refused(self, hosts: tuple[str | None, ...]) -> bool:
        found = self._refused.get(hosts)
        if found is None:
            query = suspension_query(*hosts)
            found = query is not None and self._db.execute(*query).fetchone() is not None
            self._refused[hosts] = found
        return found


def _check_and_insert(db: sqlite3.Connection, checks: _Checks, delivery: Delivery) -> Outcome:
    recipient = None
    if delivery.username is not None:
        found = checks.recipient(delivery.username)
        if isinstance(found, Outcome):
            return found
        recipient = found
    if checks.refused(delivery.hosts):
        return Outcome.DOMAIN_REFUSED
    now = now_ms()
    # The payload as enqueue_incoming writes it: {"activity", "signer", "recipient"}
    payload = (f'{{"activity":{delivery.activity_json},"signer":{orjson.dumps(delivery.signer).decode()},'
               f'"recipient":{orjson.dumps(recipient).decode()}}}')
    cursor = db.execute(_INSERT_SQL, (
        snowflake_id(), datetime.now(UTC).isoformat(" "), INBOX_JOB, payload, QUEUED, 0,
        INBOX_POLICY.max_attempts, now, now + int(INBOX_POLICY.give_up_after_seconds * 1000),
        delivery.unique_key()))
    return Outcome.STORED if cursor.rowcount == 1 else Outcome.DUPLICATE
