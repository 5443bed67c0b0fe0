"""Who may see a status (Mastodon's StatusPolicy#show?): public and unlisted posts anyone; private posts
their author, the author's followers and those mentioned; direct posts their author and those mentioned.
Suspended authors' posts nobody (through the API)."""

from __future__ import annotations

from cara_fed.db import in_list, raw_rows
from cara_fed.errors import NotFound
from cara_fed.models import Account, Block, Follow, Mention, Status
from cara_fed.services.statuses import load_statuses


async def can_see(status: Status, viewer: Account | None) -> bool:
    if status.deleted_at is not None:
        return False
    author = status.account
    if author.suspended_at is not None:
        return False
    if viewer is not None and viewer.id != author.id and await Block.filter(
            account_id=author.id, target_account_id=viewer.id).exists():
        return False
    if status.visibility in ("public", "unlisted"):
        return True
    if viewer is None:
        return False
    if viewer.id == author.id:
        return True
    if await Mention.filter(status_id=status.id, account_id=viewer.id).exists():
        return True
    return status.visibility == "private" and await Follow.filter(
        account_id=viewer.id, target_account_id=author.id).exists()


async def visible_among(statuses: list[Status], viewer: Account | None) -> list[Status]:
    """The statuses the viewer may see, in order, in at most three queries whatever their number (a
    thread's replies): the rules of :func:`can_see`, and nothing of accounts the viewer mutes or blocks
    or who block the viewer (Mastodon's StatusFilter)."""
    live = [s for s in statuses if s.deleted_at is None and s.account.suspended_at is None]
    if viewer is None:
        return [s for s in live if s.visibility in ("public", "unlisted")]
    me = viewer.id
    rows = await raw_rows("SELECT target_account_id AS id FROM mutes WHERE account_id = ? UNION "
                          "SELECT target_account_id FROM blocks WHERE account_id = ? UNION "
                          "SELECT account_id FROM blocks WHERE target_account_id = ?", [me, me, me])
    hidden = {int(r["id"]) for r in rows}  # type: ignore[arg-type]
    live = [s for s in live if s.account_id == me or s.account_id not in hidden]
    restricted = [s.id for s in live if s.visibility not in ("public", "unlisted") and s.account_id != me]
    mentioned: set[int] = set()
    followed: set[int] = set()
    if restricted:
        ids: list[object] = list(restricted)
        mentioned = {int(r["id"]) for r in await raw_rows(  # type: ignore[arg-type]
            f"SELECT status_id AS id FROM mentions WHERE account_id = ? AND status_id IN ({in_list(ids)})",
            [me, *ids])}
        followed = {int(r["id"]) for r in await raw_rows(  # type: ignore[arg-type]
            "SELECT target_account_id AS id FROM follows WHERE account_id = ?", [me])}
    return [s for s in live if s.visibility in ("public", "unlisted") or s.account_id == me
            or s.id in mentioned or (s.visibility == "private" and s.account_id in followed)]


async def visible_status(status_id: int, viewer: Account | None) -> Status:
    """The status with its relations if the viewer may see it; otherwise 404, as Mastodon (never 403:
    that would confirm a private post exists)."""
    status = (await load_statuses([status_id])).get(status_id)
    if status is None or not await can_see(status, viewer):
        raise NotFound("Record not found")
    return status


# SQL condition (``s`` = statuses, one ``?`` per viewer id) for "the viewer may see it", used by lists.
VISIBLE_TO_VIEWER_SQL = (
    "(s.visibility IN ('public', 'unlisted') OR s.account_id = ? "
    "OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = ?) "
    "OR (s.visibility = 'private' AND EXISTS (SELECT 1 FROM follows f "
    "WHERE f.account_id = ? AND f.target_account_id = s.account_id)))")
VISIBLE_TO_VIEWER_PARAMS = 3
