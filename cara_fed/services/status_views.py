"""Statuses for reading (API pages), loaded with raw queries into light read-only objects.

The ORM's select_related/prefetch path cost about two thirds of a home-timeline request (bench/api.py,
py-spy: model construction and query building). These views carry the same attribute names as the models
(``status.account.username``, ``status.media_attachments``...), so the entity and ActivityStreams
renderers take either. Five queries for any page: statuses with their authors (and boosted originals
with theirs), media, mentions with their accounts, tags."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from cara_fed.db import in_list, raw_rows

_ACCOUNT_COLUMNS = ("id", "username", "domain", "display_name", "note", "avatar_path", "avatar_remote_url",
                    "header_path", "header_remote_url", "profile_fields", "locked", "bot", "discoverable",
                    "indexable", "hide_collections", "actor_type", "uri", "url", "inbox_url",
                    "suspended_at", "silenced_at", "sensitized_at", "created_at")
_STATUS_COLUMNS = ("id", "account_id", "uri", "url", "local", "text", "content", "spoiler_text", "sensitive",
                   "visibility", "language", "in_reply_to_id", "in_reply_to_account_id", "reblog_of_id",
                   "edited_at", "deleted_at", "created_at")
_MEDIA_COLUMNS = ("id", "status_id", "position", "type", "file_path", "remote_url", "content_type",
                  "description", "blurhash", "focus_x", "focus_y", "meta", "files")
_BOOLEAN = {"locked", "bot", "discoverable", "indexable", "hide_collections", "local", "sensitive"}
_DATETIME = {"suspended_at", "silenced_at", "sensitized_at", "created_at", "edited_at", "deleted_at"}


def _datetime(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))  # SQLite keeps ISO text
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _json(value: Any, default: Any) -> Any:
    if value is None:
        return default
    if isinstance(value, (str, bytes)):
        return orjson.loads(value)
    return value


@dataclass(slots=True)
class AccountView:
    id: int
    username: str
    domain: str | None
    display_name: str
    note: str
    avatar_path: str | None
    avatar_remote_url: str | None
    header_path: str | None
    header_remote_url: str | None
    profile_fields: list[Any]
    locked: bool
    bot: bool
    discoverable: bool
    indexable: bool
    hide_collections: bool
    actor_type: str
    uri: str | None
    url: str | None
    inbox_url: str | None
    suspended_at: datetime | None
    silenced_at: datetime | None
    sensitized_at: datetime | None  # an admin marked all its media sensitive (entities/statuses.py)
    created_at: datetime

    @property
    def is_local(self) -> bool:
        return self.domain is None


@dataclass(slots=True)
class MediaView:
    id: int
    status_id: int | None
    position: int
    type: str
    file_path: str | None
    remote_url: str | None
    content_type: str | None
    description: str
    blurhash: str | None
    focus_x: float
    focus_y: float
    meta: Any
    files: Any


@dataclass(slots=True)
class TagView:
    id: int
    name: str


@dataclass(slots=True)
class MentionView:
    account: AccountView


@dataclass(slots=True)
class StatusView:
    id: int
    account_id: int
    uri: str | None
    url: str | None
    local: bool
    text: str
    content: str
    spoiler_text: str
    sensitive: bool
    visibility: str
    language: str | None
    in_reply_to_id: int | None
    in_reply_to_account_id: int | None
    reblog_of_id: int | None
    edited_at: datetime | None
    deleted_at: datetime | None
    created_at: datetime
    account: AccountView
    reblog_of: StatusView | None = None
    media_attachments: list[MediaView] = field(default_factory=list)
    mentions: list[MentionView] = field(default_factory=list)
    tags: list[TagView] = field(default_factory=list)


def _row_values(row: dict[str, Any], columns: tuple[str, ...], prefix: str = "") -> dict[str, Any]:
    values = {}
    for column in columns:
        value = row[prefix + column]
        if column in _BOOLEAN:
            value = bool(value)
        elif column in _DATETIME:
            value = _datetime(value)
        values[column] = value
    return values


def _account(row: dict[str, Any], prefix: str = "") -> AccountView:
    values = _row_values(row, _ACCOUNT_COLUMNS, prefix)
    values["profile_fields"] = _json(values["profile_fields"], [])
    values["display_name"] = values["display_name"] or ""
    values["note"] = values["note"] or ""
    return AccountView(**values)


async def _statuses_with_authors(ids: list[object]) -> dict[int, StatusView]:
    status_columns = ", ".join(f"s.{c}" for c in _STATUS_COLUMNS)
    account_columns = ", ".join(f"a.{c} AS a_{c}" for c in _ACCOUNT_COLUMNS)
    rows = await raw_rows(f"SELECT {status_columns}, {account_columns} FROM statuses s "
                          f"JOIN accounts a ON a.id = s.account_id WHERE s.id IN ({in_list(ids)})", ids)
    found = {}
    for row in rows:
        values = _row_values(row, _STATUS_COLUMNS)
        values["account"] = _account(row, "a_")
        found[int(row["id"])] = StatusView(**values)  # type: ignore[arg-type]
    return found


async def load_status_views(ids: list[int]) -> dict[int, StatusView]:
    """Statuses by id with everything an entity needs; boosted originals come with their own media,
    mentions and tags."""
    wanted: list[object] = list(dict.fromkeys(ids))
    if not wanted:
        return {}
    found = await _statuses_with_authors(wanted)
    inner_ids: list[object] = [s.reblog_of_id for s in found.values()
                               if s.reblog_of_id is not None and s.reblog_of_id not in found]
    inner = await _statuses_with_authors(list(dict.fromkeys(inner_ids))) if inner_ids else {}
    everything = {**inner, **found}
    for status in found.values():
        if status.reblog_of_id is not None:
            status.reblog_of = everything.get(status.reblog_of_id)
    all_ids: list[object] = list(everything)
    marks = in_list(all_ids)
    media_columns = ", ".join(_MEDIA_COLUMNS)
    for row in await raw_rows(f"SELECT {media_columns} FROM media_attachments WHERE status_id IN ({marks}) "
                              f"ORDER BY position, id", all_ids):
        values = dict(row)
        values["meta"] = _json(values["meta"], {})
        values["files"] = _json(values["files"], None)
        values["description"] = values["description"] or ""
        everything[int(row["status_id"])].media_attachments.append(MediaView(**values))  # type: ignore[arg-type]
    account_columns = ", ".join(f"a.{c} AS a_{c}" for c in _ACCOUNT_COLUMNS)
    for row in await raw_rows(f"SELECT m.status_id AS status_id, {account_columns} FROM mentions m "
                              f"JOIN accounts a ON a.id = m.account_id WHERE m.status_id IN ({marks}) "
                              f"ORDER BY m.id", all_ids):
        everything[int(row["status_id"])].mentions.append(MentionView(_account(row, "a_")))  # type: ignore[arg-type]
    for row in await raw_rows(f"SELECT st.statuses_id AS status_id, t.id AS id, t.name AS name "
                              f"FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
                              f"WHERE st.statuses_id IN ({marks}) ORDER BY t.name", all_ids):
        everything[int(row["status_id"])].tags.append(TagView(int(row["id"]), str(row["name"])))  # type: ignore[arg-type]
    return found
