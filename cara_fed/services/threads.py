"""A status's thread (``GET /api/v1/statuses/:id/context``): ancestors oldest first, descendants in thread
order (depth first), filtered by what the viewer may see and by whom they mute or block. Bounded, as
Mastodon's (40 ancestors, 4096 descendants) so a hostile thread cannot make one request unbounded."""

from __future__ import annotations

from cara_fed.models import Account, Status
from cara_fed.services.visibility import visible_among
from cara_fed.services.statuses import with_relations

MAX_ANCESTORS = 40
MAX_DESCENDANTS = 4096


async def ancestors(status: Status, viewer: Account | None) -> list[Status]:
    chain: list[Status] = []
    parent_id = status.in_reply_to_id
    seen = {status.id}
    while parent_id is not None and parent_id not in seen and len(chain) < MAX_ANCESTORS:
        seen.add(parent_id)
        parent = await with_relations(Status.filter(id=parent_id)).first()
        if parent is None:
            break
        chain.append(parent)
        parent_id = parent.in_reply_to_id
    chain.reverse()
    return await visible_among(chain, viewer)


async def descendants(status: Status, viewer: Account | None) -> list[Status]:
    """Replies level by level (one query per level), then ordered depth first like a thread is read."""
    children: dict[int, list[Status]] = {}
    level = [status.id]
    total = 0
    while level and total < MAX_DESCENDANTS:
        rows = await with_relations(Status.filter(in_reply_to_id__in=level, deleted_at=None)).order_by("id").limit(
            MAX_DESCENDANTS - total)
        total += len(rows)
        for row in rows:
            children.setdefault(row.in_reply_to_id or 0, []).append(row)
        level = [row.id for row in rows if row.id not in children]
    ordered: list[Status] = []
    stack = list(reversed(children.get(status.id, [])))
    visited: set[int] = set()
    while stack:
        node = stack.pop()
        if node.id in visited:
            continue
        visited.add(node.id)
        ordered.append(node)
        stack.extend(reversed(children.get(node.id, [])))
    return await visible_among(ordered, viewer)
