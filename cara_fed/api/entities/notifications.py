"""Notification entity (docs: entities/Notification)."""

from __future__ import annotations

from typing import Any

from cara_fed.api.entities.accounts import account_to_api, load_account_stats
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.entities.statuses import load_statuses, render_context, status_to_api
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Notification

# Types that carry a status (docs: entities/Notification#status).
_WITH_STATUS = {"mention", "status", "reblog", "favourite", "poll", "update"}


async def notifications_to_api(rows: list[Notification], urls: LocalUrls, viewer: Account) -> list[dict[str, Any]]:
    """Notifications whose ``from_account`` is loaded; their statuses are loaded here in one batch."""
    statuses = await load_statuses([n.status_id for n in rows if n.status_id is not None])
    context = await render_context(list(statuses.values()), urls, viewer)
    stats = await load_account_stats([n.from_account_id for n in rows])
    context.account_stats.update(stats)
    result = []
    for row in rows:
        status = statuses.get(row.status_id) if row.status_id is not None else None
        if row.type in _WITH_STATUS and (status is None or status.deleted_at is not None):
            continue  # a notification about a deleted post is not shown (Mastodon deletes them)
        entity: dict[str, Any] = {
            "id": str(row.id),
            "type": row.type,
            "created_at": api_datetime(row.created_at),
            "group_key": f"ungrouped-{row.id}",
            "account": account_to_api(row.from_account, stats[row.from_account_id], urls),
        }
        if status is not None and row.type in _WITH_STATUS:
            entity["status"] = status_to_api(status, context)
        result.append(entity)
    return result
