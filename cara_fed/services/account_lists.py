"""Lists of accounts that belong to the reader: whom they block and mute (paged by the block or mute row
id, as Mastodon's Api::V1::BlocksController / MutesController), and the profile directory of local
accounts that chose to be listed (Api::V1::DirectoriesController)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q

from cara_fed.db import raw_rows
from cara_fed.models import Account, Block, Mute
from cara_fed.services.notifications import Window


@dataclass(frozen=True)
class ListedAccount:
    """An account in a paged list and the id of the row that put it there (the paging cursor)."""
    cursor: int
    account: Account
    expires_at: datetime | None = None  # mutes: when the mute ends


def _paged(query, window: Window):  # type: ignore[no-untyped-def]
    if window.max_id is not None:
        query = query.filter(id__lt=window.max_id)
    if window.since_id is not None:
        query = query.filter(id__gt=window.since_id)
    if window.min_id is not None:
        query = query.filter(id__gt=window.min_id)
    return query.order_by("id" if window.min_id is not None else "-id").limit(window.limit)


async def blocked_accounts(account: Account, window: Window) -> list[ListedAccount]:
    """Whom ``account`` blocks, most recent block first (suspended accounts left out, as Mastodon)."""
    rows = await _paged(Block.filter(account_id=account.id, target_account__suspended_at=None), window
                        ).select_related("target_account")
    if window.min_id is not None:
        rows = list(reversed(rows))
    return [ListedAccount(cursor=row.id, account=row.target_account) for row in rows]


async def muted_accounts(account: Account, window: Window) -> list[ListedAccount]:
    """Whom ``account`` mutes (expired mutes are over), most recent mute first."""
    now = datetime.now(UTC)
    query = Mute.filter(account_id=account.id, target_account__suspended_at=None).filter(
        Q(expires_at=None) | Q(expires_at__gt=now))
    rows = await _paged(query, window).select_related("target_account")
    if window.min_id is not None:
        rows = list(reversed(rows))
    return [ListedAccount(cursor=row.id, account=row.target_account, expires_at=row.expires_at) for row in rows]


async def directory(viewer: Account | None, *, offset: int, limit: int, order: str) -> list[Account]:
    """Local, discoverable, approved and unsuspended accounts: ``order`` ``active`` (latest post first,
    never-posted last) or ``new`` (newest account first). A signed-in reader does not see accounts they
    block or mute, or that block them."""
    clauses = ["a.domain IS NULL", "a.discoverable = ?", "a.suspended_at IS NULL", "u.approved = ?"]
    values: list[object] = [True, True]
    if viewer is not None:
        clauses.append("NOT EXISTS (SELECT 1 FROM blocks b WHERE (b.account_id = ? AND b.target_account_id = a.id) "
                       "OR (b.account_id = a.id AND b.target_account_id = ?))")
        clauses.append("NOT EXISTS (SELECT 1 FROM mutes m WHERE m.account_id = ? AND m.target_account_id = a.id)")
        values += [viewer.id, viewer.id, viewer.id]
    if order == "new":
        sort = "id DESC"
    else:  # NULLs last on both databases: accounts that never posted come after every poster
        sort = "CASE WHEN last_status IS NULL THEN 1 ELSE 0 END, last_status DESC, id DESC"
    rows = await raw_rows(
        f"SELECT id, last_status FROM (SELECT a.id AS id, (SELECT MAX(s.id) FROM statuses s "
        f"WHERE s.account_id = a.id AND s.deleted_at IS NULL) AS last_status FROM accounts a "
        f"JOIN users u ON u.account_id = a.id WHERE {' AND '.join(clauses)}) AS listed "
        f"ORDER BY {sort} LIMIT ? OFFSET ?", [*values, limit, offset])
    ids = [int(row["id"]) for row in rows]  # type: ignore[call-overload]
    found = {a.id: a for a in await Account.filter(id__in=ids)}
    return [found[i] for i in ids if i in found]
