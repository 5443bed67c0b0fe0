"""The inbox's last step (DESIGN.md section 3, steps 1 and 5): check the recipient and the sender's domain,
then store the activity as an ``inbox.activity`` job, for many requests in one write transaction.

Why: on SQLite each statement on the request path was a hop to aiosqlite's thread and back, and each
INSERT its own commit; together they were most of an inbox request's CPU (bench/inbox.py). Here the
requests waiting at one moment share one hop and one commit (group commit): while a batch is being written,
the next requests queue up, and the flusher takes them all as the next batch. Alone, a request is a batch of
one (no timer, no added latency).

Under load (the last batch held more than one request), a batch first waits GROUP_WAIT_SECONDS for the
requests being read and checked at that moment, as PostgreSQL's commit_delay does: fewer, fuller commits
(bench/inbox.py: inbox/trivial server CPU 1.63-1.71x without it, 1.53-1.59x with it).

Durability (a crash loses nothing acknowledged): a request's outcome is only known after its batch has
committed on the database's durable connection (cara_fed/sqlite_backend.py: its commits reach the disk
before they return, a power loss included), and the inbox sends its 202 only then. A batch that fails
fails every request in it (none was answered yet, the senders retry); the job's unique key makes a
retried delivery a no-op.

The checks run in the same transaction as the INSERT, so a recipient suspended or a domain blocked a moment
before is seen (nothing is cached): the recipient must be an active local account (else 404/410, as
``accounts.check_inbox_owner``), and the actor's or key's domain must not be refused (else dropped with a
202, as ``domains.is_suspended``). PostgreSQL takes the plain path: the same checks and ``queue.enqueue``.
"""

from __future__ import annotations

import asyncio
import enum
import sqlite3
import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient, TransactionalDBClient
from tortoise.connection import get_connection

from cara_fed.db import in_list
from cara_fed.errors import CaraError, Gone, NotFound
from cara_fed.federation.domains import is_suspended, suspension_condition
from cara_fed.federation.inbox import INBOX_JOB, INBOX_POLICY, enqueue_incoming
from cara_fed.federation.sqlite_batches import per_database
from cara_fed.jobs.queue import INSERT_COLUMNS, new_row, now_ms, unique_digest
from cara_fed.models.accounts import acct_key
from cara_fed.services import accounts
from cara_fed.sqlite_backend import ImmediateSqliteClient

MAX_BATCH = 64  # requests per transaction: bounds how long one batch holds SQLite's write lock
GROUP_WAIT_SECONDS = 0.001  # under load, how long a batch waits for more requests (bench/inbox.py)
ID_CLASH_ATTEMPTS = 3  # as jobs.queue.enqueue: another process drew the same Snowflake id in one millisecond

# The same checks as accounts.check_inbox_owner (kept in step with it); the row is jobs.queue's.
# The recipient's column: NULL when there is no such local account, '' when it is suspended (a username is
# never empty), else its canonical username.
_OWNER_COLUMN = ("(SELECT CASE WHEN a.suspended_at IS NULL THEN a.username ELSE '' END "
                 "FROM accounts a JOIN users u ON u.account_id = a.id WHERE a.acct_key = ?)")
_INSERT_SQL = (f"INSERT INTO jobs ({', '.join(INSERT_COLUMNS)}) VALUES {{values}} "
               "ON CONFLICT (unique_key) DO NOTHING")
_ROW_MARKS = "(" + ", ".join("?" * len(INSERT_COLUMNS)) + ")"


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
        """The job's unique_key column, as ``enqueue_incoming`` makes it."""
        activity_id = self.activity.get("id")
        return unique_digest(f"inbox:{activity_id}") if isinstance(activity_id, str) else None


def raise_for(outcome: Outcome) -> None:
    """The inbox's answer for a refused recipient, exactly as ``accounts.check_inbox_owner`` raises it."""
    if outcome is Outcome.NO_RECIPIENT:
        raise NotFound("Record not found")
    if outcome is Outcome.RECIPIENT_SUSPENDED:
        raise Gone("This account has been suspended")


async def store(delivery: Delivery) -> Outcome:
    """Check and store one activity; returns once its transaction has committed (or raises)."""
    client = get_connection("default")
    try:
        if isinstance(client, ImmediateSqliteClient) and not isinstance(client, TransactionalDBClient) \
                and client.filename != ":memory:":
            delivery.activity_json = orjson.dumps(delivery.activity).decode()  # here: errors stay its own
            return await _intake_for(client).submit(delivery)
        return await _store_one(delivery)  # (the job's INSERT writes the JSON, after the checks' reads)
    except orjson.JSONEncodeError:
        # orjson reads 1,023 levels of nesting but writes 254: such a document is no activity anyone sends
        raise CaraError("The activity is nested too deeply") from None


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


def _intake_for(client: ImmediateSqliteClient) -> _Intake:
    intake: _Intake = per_database(_intakes, client, _Intake)
    return intake


class _Intake:
    def __init__(self, client: ImmediateSqliteClient, loop: asyncio.AbstractEventLoop) -> None:
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
        busy = False
        try:
            while self._pending:
                if busy and len(self._pending) < MAX_BATCH:
                    # Requests came in together last time: let the ones being read and checked now join
                    # this batch (the module docstring says why). A request arriving alone is written at once.
                    await asyncio.sleep(GROUP_WAIT_SECONDS)
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                busy = len(batch) > 1
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
        # One hop to the durable connection's thread for the whole transaction.
        client = self._client()
        connection = None if client is None else await client.durable_connection()
        if connection is None:
            raise RuntimeError("the database was closed")
        return await connection._execute(_write_batch, connection._conn, batch)


def _fail(batch: list[tuple[Delivery, asyncio.Future[Outcome]]], exc: Exception) -> None:
    for _, future in batch:
        if not future.done():
            future.set_exception(exc)


def _write_batch(db: sqlite3.Connection, batch: list[Delivery]) -> list[Outcome]:
    """In the durable connection's thread: one transaction for the batch, retried with new ids if another
    process drew the same Snowflake id. BEGIN IMMEDIATE takes the write lock first (cara_fed/sqlite_backend.py
    explains why), and the connection's commits reach the disk before they return.

    A batch is four statements whatever its size -- BEGIN, one SELECT for every check, one INSERT for every
    row, COMMIT -- rather than two or three per request: each statement is a trip through the sqlite3
    module, which lets go of the GIL around every step and must take it back from the busy event loop."""
    for attempt in range(ID_CLASH_ATTEMPTS):
        db.execute("BEGIN IMMEDIATE")
        try:
            outcomes = _check_and_insert(db, batch)
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


def _check_and_insert(db: sqlite3.Connection, batch: list[Delivery]) -> list[Outcome]:
    """Each delivery's outcome; the accepted ones inserted, all in the caller's transaction."""
    checks = _checks(db, batch)
    outcomes: list[Outcome] = []
    rows: list[tuple[Any, ...]] = []
    now = now_ms()
    created_at = datetime.now(UTC).isoformat(" ")  # as tortoise writes a datetime to SQLite
    for delivery in batch:
        recipient = None
        if delivery.username is not None:
            found = checks.recipients[acct_key(delivery.username, None)]
            if isinstance(found, Outcome):
                outcomes.append(found)
                continue
            recipient = found
        if checks.refused[delivery.hosts]:
            outcomes.append(Outcome.DOMAIN_REFUSED)
            continue
        # The payload as enqueue_incoming writes it: {"activity", "signer", "recipient"}
        payload = (f'{{"activity":{delivery.activity_json},"signer":{orjson.dumps(delivery.signer).decode()},'
                   f'"recipient":{orjson.dumps(recipient).decode()}}}')
        rows.append(new_row(INBOX_JOB, INBOX_POLICY, payload, delivery.unique_key(), now=now,
                            created=created_at))
        outcomes.append(Outcome.STORED)
    stored = _insert_rows(db, rows)
    if stored != len(rows):  # some were stored before (or twice in this batch): say which ones are new
        new_ids = _stored_ids(db, [row[0] for row in rows])
        new = iter(row[0] in new_ids for row in rows)
        outcomes = [Outcome.DUPLICATE if outcome is Outcome.STORED and not next(new) else outcome
                    for outcome in outcomes]
    return outcomes


def _insert_rows(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> int:
    """All the rows in one INSERT; how many were stored (an activity id already there is skipped)."""
    if not rows:
        return 0
    cursor = db.execute(_INSERT_SQL.format(values=", ".join([_ROW_MARKS] * len(rows))),
                        [value for row in rows for value in row])
    return cursor.rowcount


def _stored_ids(db: sqlite3.Connection, ids: list[int]) -> set[int]:
    marks = in_list(ids)  # type: ignore[arg-type]
    return {row[0] for row in db.execute(f"SELECT id FROM jobs WHERE id IN ({marks})", ids)}


@dataclass
class _Checks:
    """The answers of one transaction's checks: each distinct recipient and sender asked once (a burst comes
    from one server to one inbox), and inside the transaction the answer cannot change."""

    recipients: dict[str, str | Outcome]  # acct key -> canonical username, or why not
    refused: dict[tuple[str | None, ...], bool]  # Delivery.hosts -> dropped


def _checks(db: sqlite3.Connection, batch: list[Delivery]) -> _Checks:
    """Every check of the batch in one SELECT, a column each."""
    keys = list(dict.fromkeys(acct_key(d.username, None) for d in batch if d.username is not None))
    hosts = list(dict.fromkeys(d.hosts for d in batch))
    columns: list[str] = []
    params: list[object] = []
    for key in keys:
        columns.append(_OWNER_COLUMN)
        params.append(key)
    conditions = [suspension_condition(*h) for h in hosts]
    for condition in conditions:
        if condition is not None:
            columns.append(condition[0])
            params += condition[1]
    values = iter(db.execute(f"SELECT {', '.join(columns)}", params).fetchone() if columns else ())
    recipients: dict[str, str | Outcome] = {}
    for key in keys:
        found = next(values)
        recipients[key] = Outcome.NO_RECIPIENT if found is None else Outcome.RECIPIENT_SUSPENDED \
            if found == "" else str(found)
    refused = {h: condition is not None and bool(next(values)) for h, condition in zip(hosts, conditions)}
    return _Checks(recipients, refused)
