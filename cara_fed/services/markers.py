"""Read markers (docs: methods/markers): where a user stopped reading ``home`` and ``notifications``, shared by
all their clients. Each change bumps ``version`` (Mastodon's optimistic-lock counter, which clients compare);
the bump is one atomic UPDATE, so two clients saving at once both count."""

from __future__ import annotations

from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from cara_fed.models import Marker

TIMELINES = ("home", "notifications")  # Mastodon's Marker::TIMELINES


async def get_markers(user_id: int, timelines: list[str]) -> dict[str, Marker]:
    """The user's markers for the named timelines that exist (unknown names are ignored)."""
    wanted = [t for t in dict.fromkeys(timelines) if t in TIMELINES]
    if not wanted:
        return {}
    rows = await Marker.filter(user_id=user_id, timeline__in=wanted)
    return {row.timeline: row for row in rows}


async def set_marker(user_id: int, timeline: str, last_read_id: int) -> Marker:
    """Move the marker of ``timeline`` to ``last_read_id``; the version goes up when it moves."""
    assert timeline in TIMELINES, timeline
    for _ in range(3):
        moved = await Marker.filter(user_id=user_id, timeline=timeline).exclude(
            last_read_id=last_read_id).update(last_read_id=last_read_id, updated_at=datetime.now(UTC),
                                              version=F("version") + 1)
        if moved:
            break
        existing = await Marker.filter(user_id=user_id, timeline=timeline).first()
        if existing is None:
            try:
                return await Marker.create(user_id=user_id, timeline=timeline, last_read_id=last_read_id,
                                           version=1)
            except IntegrityError:
                continue  # another client created it just now: move that one
        if existing.last_read_id == last_read_id:
            return existing  # already there: no change, no new version (as Rails' update! without changes)
        # created by another client between our UPDATE and this read: try the UPDATE again
    return await Marker.get(user_id=user_id, timeline=timeline)


async def set_markers(user_id: int, positions: dict[str, int]) -> dict[str, Marker]:
    """Several markers at once (``{"home": id, "notifications": id}``); unknown timelines are ignored."""
    return {timeline: await set_marker(user_id, timeline, last_read_id)
            for timeline, last_read_id in positions.items() if timeline in TIMELINES}
