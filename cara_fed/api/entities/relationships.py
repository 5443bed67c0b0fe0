"""Relationship entity (docs: entities/Relationship): every boolean present (Tusky marks nine of them
non-null), one query for any number of accounts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cara_fed.db import in_list, raw_rows
from cara_fed.models import Account


async def relationships_to_api(viewer: Account, target_ids: list[int]) -> list[dict[str, Any]]:
    """One Relationship per id, in the order given."""
    ids: list[object] = list(dict.fromkeys(target_ids))
    if not ids:
        return []
    marks = in_list(ids)
    me = viewer.id
    sql = (f"SELECT 'following' AS k, target_account_id AS id, show_reblogs AS a, notify AS b FROM follows "
           f"WHERE account_id = ? AND target_account_id IN ({marks}) "
           f"UNION ALL SELECT 'followed_by', account_id, NULL, NULL FROM follows "
           f"WHERE target_account_id = ? AND account_id IN ({marks}) "
           f"UNION ALL SELECT 'requested', target_account_id, show_reblogs, notify FROM follow_requests "
           f"WHERE account_id = ? AND target_account_id IN ({marks}) "
           f"UNION ALL SELECT 'requested_by', account_id, NULL, NULL FROM follow_requests "
           f"WHERE target_account_id = ? AND account_id IN ({marks}) "
           f"UNION ALL SELECT 'blocking', target_account_id, NULL, NULL FROM blocks "
           f"WHERE account_id = ? AND target_account_id IN ({marks}) "
           f"UNION ALL SELECT 'blocked_by', account_id, NULL, NULL FROM blocks "
           f"WHERE target_account_id = ? AND account_id IN ({marks}) "
           f"UNION ALL SELECT 'muting', target_account_id, hide_notifications, NULL FROM mutes "
           f"WHERE account_id = ? AND target_account_id IN ({marks}) AND (expires_at IS NULL OR expires_at > ?)")
    params: list[object] = []
    for _ in range(7):
        params += [me, *ids]
    params.append(datetime.now(UTC))  # a mute with a duration is over when it expires
    found: dict[tuple[str, int], dict[str, object]] = {}
    for row in await raw_rows(sql, params):
        found[(str(row["k"]), int(row["id"]))] = row  # type: ignore[arg-type]
    result = []
    for target in target_ids:
        follow = found.get(("following", target)) or found.get(("requested", target))
        mute = found.get(("muting", target))
        result.append({
            "id": str(target),
            "following": ("following", target) in found,
            "showing_reblogs": bool(follow["a"]) if follow else False,
            "notifying": bool(follow["b"]) if follow else False,
            "languages": None,
            "followed_by": ("followed_by", target) in found,
            "blocking": ("blocking", target) in found,
            "blocked_by": ("blocked_by", target) in found,
            "muting": mute is not None,
            "muting_notifications": bool(mute["a"]) if mute else False,
            "muting_expires_at": None,
            "requested": ("requested", target) in found,
            "requested_by": ("requested_by", target) in found,
            "domain_blocking": False,
            "endorsed": False,
            "note": "",
        })
    return result
