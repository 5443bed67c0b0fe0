"""A post from another server as rows: the status, its mentions (with their notifications) and its hashtags,
in one transaction of a few raw statements (federation/handlers/notes.py decides what to store).

Raw SQL because this runs for every incoming post: through the ORM the same rows took a dozen queries and
most of the inbox job's CPU (bench/inbox_handler.py). Every statement is written to be safe when repeated or
raced by another worker: the status insert is ``ON CONFLICT DO NOTHING`` on its uri (the loser stores
nothing: mentions and notifications are only written by the transaction that created the status), tags and
their links likewise.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cara_fed.federation import sqlite_batches
from cara_fed.ids import snowflake_id
from cara_fed.models import Account


async def rows(conn: BaseDBAsyncClient | None, sql: str, params: Sequence[object]) -> list[dict[str, Any]]:
    """One read with ``?`` placeholders, on ``conn`` or the current connection, with other tasks' on SQLite."""
    return (await sqlite_batches.run(conn or Account._meta.db, [(sql, params)], write=False))[0]


def db_time(conn: BaseDBAsyncClient, value: datetime) -> object:
    """A timestamp as the ORM stores it: a datetime for asyncpg, ISO text for SQLite."""
    return value if conn.capabilities.dialect == "postgres" else value.isoformat(" ")


@dataclass(frozen=True)
class RemoteStatus:
    """A remote post's columns, already checked and sanitised."""
    account_id: int
    uri: str
    url: str
    content: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    in_reply_to_id: int | None
    in_reply_to_account_id: int | None


async def existing_status(uri: str) -> dict[str, Any] | None:
    """The stored status with this uri (id, deleted_at, its author's uri), deleted or not."""
    found = await rows(None, "SELECT s.id, s.deleted_at, a.uri AS author_uri FROM statuses s "
                             "JOIN accounts a ON a.id = s.account_id WHERE s.uri = ?", [uri])
    return found[0] if found else None


async def reply_target(local: tuple[str, int] | None, uri: str | None) -> tuple[int, int] | None:
    """(id, account id) of the live status a reply answers: ours by its path (``local``: username, id) or
    any by its uri, as handlers/notes.known_status finds it."""
    if local is not None:
        found = await rows(None, "SELECT s.id, s.account_id FROM statuses s JOIN accounts a ON a.id = s.account_id "
                                 "WHERE s.id = ? AND a.username = ? AND a.domain IS NULL AND s.deleted_at IS NULL",
                           [local[1], local[0]])
        if found:
            return int(found[0]["id"]), int(found[0]["account_id"])
    if uri:
        found = await rows(None, "SELECT id, account_id FROM statuses WHERE uri = ? AND deleted_at IS NULL", [uri])
        if found:
            return int(found[0]["id"]), int(found[0]["account_id"])
    return None


Statement = sqlite_batches.Statement


_INSERT_STATUS = (
    "INSERT INTO statuses (id, created_at, account_id, uri, url, local, text, content, spoiler_text, sensitive, "
    "visibility, language, in_reply_to_id, in_reply_to_account_id) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (uri) DO NOTHING RETURNING id")


def _postgres_status_and_mentions(columns: list[object], mentioned: Sequence[str]) -> Statement:
    """PostgreSQL: the status, its mentions and their notifications as ONE statement (data-modifying WITH
    queries), so that a post without hashtags needs one round trip and no transaction of its own (a single
    statement is atomic). The mentions come from the status's RETURNING: none when its uri was stored."""
    ids = [(snowflake_id(), snowflake_id()) for _ in mentioned]
    return (
        f"WITH s AS ({_INSERT_STATUS}), "
        "m AS (INSERT INTO mentions (id, created_at, status_id, account_id) "
        "SELECT x.mention_id, ?::timestamptz, s.id, a.id FROM s "
        "JOIN unnest(?::bigint[], ?::text[]) AS x(mention_id, username) ON true "
        "JOIN accounts a ON a.username = x.username AND a.domain IS NULL RETURNING id, account_id, status_id), "
        "n AS (INSERT INTO notifications (id, created_at, type, account_id, from_account_id, status_id) "
        "SELECT x.notification_id, ?::timestamptz, 'mention', m.account_id, ?, m.status_id FROM m "
        "JOIN unnest(?::bigint[], ?::bigint[]) AS x(mention_id, notification_id) ON x.mention_id = m.id) "
        "SELECT id FROM s",
        [*columns, columns[1], [m for m, _ in ids], list(mentioned), columns[1], columns[2], [m for m, _ in ids],
         [n for _, n in ids]])


def status_statements(conn: BaseDBAsyncClient, status_id: int, status: RemoteStatus, mentioned: Sequence[str],
                      hashtags: Sequence[str]) -> list[Statement]:
    """The statements that store a new status (``status_id``, drawn by the caller) with a mention and a
    ``mention`` notification for each local account among ``mentioned`` (distinct usernames; unknown ones
    match no row) and its ``hashtags`` (distinct, lower-cased; created when new).

    They depend on no earlier result, so they can go to the database in one batch: the status insert does
    nothing when the uri is stored already (another worker was first, or a repeat), and every later
    statement then does nothing either, since each requires the new status row (the loser stores nothing:
    mentions and notifications belong to the transaction that created the status). On PostgreSQL the
    status, mentions and notifications are one statement (see _postgres_status_and_mentions)."""
    created = db_time(conn, datetime.now(UTC))
    columns = [status_id, created, status.account_id, status.uri, status.url, False, "", status.content,
               status.spoiler_text, status.sensitive, status.visibility, status.language, status.in_reply_to_id,
               status.in_reply_to_account_id]
    if conn.capabilities.dialect == "postgres":
        statements = [_postgres_status_and_mentions(columns, mentioned)]
    else:
        statements = [(_INSERT_STATUS, columns)]
        for username in mentioned:
            mention_id = snowflake_id()
            statements += [
                ("INSERT INTO mentions (id, created_at, status_id, account_id) "
                 "SELECT ?, ?, ?, id FROM accounts WHERE username = ? AND domain IS NULL "
                 "AND EXISTS (SELECT 1 FROM statuses WHERE id = ?)",
                 [mention_id, created, status_id, username, status_id]),
                ("INSERT INTO notifications (id, created_at, type, account_id, from_account_id, status_id) "
                 "SELECT ?, ?, 'mention', account_id, ?, status_id FROM mentions WHERE id = ?",
                 [snowflake_id(), created, status.account_id, mention_id])]
    for name in hashtags:
        statements.append(("INSERT INTO tags (id, created_at, name) SELECT ?, ?, ? "
                           "WHERE EXISTS (SELECT 1 FROM statuses WHERE id = ?) ON CONFLICT (name) DO NOTHING",
                           [snowflake_id(), created, name, status_id]))
    if hashtags:
        statements.append(("INSERT INTO statuses_tags (statuses_id, tag_id) SELECT ?, id FROM tags "
                           f"WHERE name IN ({', '.join('?' * len(hashtags))}) "
                           "AND EXISTS (SELECT 1 FROM statuses WHERE id = ?) ON CONFLICT DO NOTHING",
                           [status_id, *hashtags, status_id]))
    return statements


async def write(conn: BaseDBAsyncClient, statements: Sequence[Statement]) -> list[list[dict[str, Any]]]:
    """Each statement's rows, all applied in one transaction (``conn``'s when it is one), with other tasks'
    statements in one trip on SQLite (federation/sqlite_batches.py)."""
    return await sqlite_batches.run(conn, statements, write=True)
