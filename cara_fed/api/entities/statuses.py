"""Status entity (docs: entities/Status), for a page of statuses in a fixed number of queries: the rows
with their relations, one query of counts and of the viewer's own flags, one of account counts."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from cara_fed.api.entities.accounts import AccountStats, account_to_api, load_account_stats
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.entities.media import media_to_api
from cara_fed.db import in_list, raw_rows
from cara_fed.federation.notes import status_uri
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Status
from cara_fed.services.statuses import load_statuses

__all__ = ["load_statuses", "one_status_to_api", "render_context", "status_to_api", "statuses_to_api"]


@dataclass
class StatusRenderContext:
    """What rendering a page needs beyond the rows themselves."""
    urls: LocalUrls
    viewer: Account | None
    counts: dict[tuple[str, int], int] = field(default_factory=dict)
    flags: set[tuple[str, int]] = field(default_factory=set)
    account_stats: dict[int, AccountStats] = field(default_factory=dict)


def _all_statuses(statuses: list[Status]) -> list[Status]:
    result = []
    for status in statuses:
        result.append(status)
        if status.reblog_of_id is not None and status.reblog_of is not None:
            result.append(status.reblog_of)
    return result


async def render_context(statuses: list[Status], urls: LocalUrls, viewer: Account | None) -> StatusRenderContext:
    context = StatusRenderContext(urls=urls, viewer=viewer)
    everything = _all_statuses(statuses)
    ids: list[object] = list(dict.fromkeys(s.id for s in everything))
    if not ids:
        return context
    marks = in_list(ids)
    sql = (f"SELECT 'fav' AS k, status_id AS id, COUNT(*) AS n FROM favourites WHERE status_id IN ({marks}) "
           f"GROUP BY status_id "
           f"UNION ALL SELECT 'reb', reblog_of_id, COUNT(*) FROM statuses WHERE reblog_of_id IN ({marks}) "
           f"AND deleted_at IS NULL GROUP BY reblog_of_id "
           f"UNION ALL SELECT 'rep', in_reply_to_id, COUNT(*) FROM statuses WHERE in_reply_to_id IN ({marks}) "
           f"AND deleted_at IS NULL GROUP BY in_reply_to_id")
    params: list[object] = ids * 3
    if viewer is not None:
        sql += (f" UNION ALL SELECT 'favourited', status_id, 1 FROM favourites WHERE account_id = ? "
                f"AND status_id IN ({marks}) "
                f"UNION ALL SELECT 'reblogged', reblog_of_id, 1 FROM statuses WHERE account_id = ? "
                f"AND reblog_of_id IN ({marks}) AND deleted_at IS NULL "
                f"UNION ALL SELECT 'bookmarked', status_id, 1 FROM bookmarks WHERE account_id = ? "
                f"AND status_id IN ({marks}) "
                f"UNION ALL SELECT 'pinned', status_id, 1 FROM status_pins WHERE account_id = ? "
                f"AND status_id IN ({marks})")
        for _ in range(4):
            params += [viewer.id, *ids]
    for row in await raw_rows(sql, params):
        kind, status_id = str(row["k"]), int(row["id"])  # type: ignore[arg-type]
        if kind in ("fav", "reb", "rep"):
            context.counts[(kind, status_id)] = int(row["n"])  # type: ignore[arg-type]
        else:
            context.flags.add((kind, status_id))
    context.account_stats = await load_account_stats([s.account_id for s in everything])
    return context


def _mention(account: Account, urls: LocalUrls) -> dict[str, str]:
    local = account.domain is None
    return {"id": str(account.id), "username": account.username,
            "url": urls.profile(account.username) if local else (account.url or account.uri or ""),
            "acct": account.username if local else f"{account.username}@{account.domain}"}


def status_to_api(status: Status, context: StatusRenderContext) -> dict[str, Any]:
    urls = context.urls
    account = status.account
    stats = context.account_stats.get(account.id, AccountStats())
    local = account.domain is None
    reblog = None
    if status.reblog_of_id is not None and status.reblog_of is not None:
        reblog = status_to_api(status.reblog_of, context)
    media = sorted(status.media_attachments, key=lambda m: (m.position, m.id))
    entity: dict[str, Any] = {
        "id": str(status.id),
        "uri": status_uri(status, urls),
        "url": (urls.status_page(account.username, status.id) if local else (status.url or status.uri)),
        "created_at": api_datetime(status.created_at),
        "edited_at": api_datetime(status.edited_at),
        "account": account_to_api(account, stats, urls),
        "content": "" if reblog is not None else (status.content or ""),
        "visibility": status.visibility,
        # An account an admin marked sensitive has every post sensitive (Mastodon's REST::StatusSerializer).
        "sensitive": status.sensitive or account.sensitized_at is not None,
        "spoiler_text": status.spoiler_text or "",
        "media_attachments": [media_to_api(m, urls) for m in media],
        "application": None,
        "mentions": [_mention(m.account, urls) for m in status.mentions],
        "tags": [{"name": t.name, "url": urls.tag(t.name)} for t in status.tags],
        "emojis": [],
        "reblogs_count": context.counts.get(("reb", status.id), 0),
        "favourites_count": context.counts.get(("fav", status.id), 0),
        "replies_count": context.counts.get(("rep", status.id), 0),
        "in_reply_to_id": str(status.in_reply_to_id) if status.in_reply_to_id else None,
        "in_reply_to_account_id": str(status.in_reply_to_account_id) if status.in_reply_to_account_id else None,
        "reblog": reblog,
        "poll": None,
        "card": None,
        "language": status.language,
        "text": None,
    }
    if context.viewer is not None:
        for flag in ("favourited", "reblogged", "bookmarked"):
            entity[flag] = (flag, status.id) in context.flags
        entity["muted"] = False
        entity["filtered"] = []
        if account.id == context.viewer.id:
            entity["pinned"] = ("pinned", status.id) in context.flags
    return entity


async def statuses_to_api(statuses: list[Status], urls: LocalUrls, viewer: Account | None) -> list[dict[str, Any]]:
    context = await render_context(statuses, urls, viewer)
    return [status_to_api(s, context) for s in statuses]


async def one_status_to_api(status: Status, urls: LocalUrls, viewer: Account | None) -> dict[str, Any]:
    return (await statuses_to_api([status], urls, viewer))[0]
