"""Reading accounts for the client API: one account (by id or by handle), its statuses as the reader may
see them, its followers and following, and the reader's pending follow requests. Lists are paged by a row
id (statuses by their id; followers, following and requests by the Follow/FollowRequest row id, as
Mastodon's Api::V1::Accounts::FollowerAccountsController does)."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.expressions import Q

from cara_fed.db import in_list, raw_rows
from cara_fed.errors import NotFound
from cara_fed.models import Account
from cara_fed.models.accounts import acct_key
from cara_fed.services.paging import Page
from cara_fed.services.visibility import VISIBLE_TO_VIEWER_PARAMS, VISIBLE_TO_VIEWER_SQL

NOT_FOUND = "Record not found"


def visible() -> Q:
    """Accounts the API shows: not suspended, and local ones only with an approved login (the instance
    actor is an account row without one, and is not a person to show; a sign-up waiting for approval is
    nobody yet)."""
    return Q(suspended_at=None) & (Q(domain__not_isnull=True) | Q(user__approved=True))


async def get_account(account_id: int) -> Account:
    """A visible account, else NotFound (unknown and suspended alike, as Mastodon answers)."""
    account = await Account.filter(visible(), id=account_id).first()
    if account is None:
        raise NotFound(NOT_FOUND)
    return account


def split_handle(handle: str, local_domain: str) -> tuple[str, str | None]:
    """``name``, ``@name``, ``name@host`` or ``@name@host`` -> (name, host or None); our domain is local."""
    text = handle.strip().removeprefix("@")
    username, _, domain = text.partition("@")
    if not domain or domain.lower() == local_domain.lower():
        return username, None
    return username, domain.lower()


async def lookup_account(handle: str, local_domain: str) -> Account:
    """The account with this handle in our database (no WebFinger: Mastodon's /accounts/lookup)."""
    username, domain = split_handle(handle, local_domain)
    if not username:
        raise NotFound(NOT_FOUND)
    account = await Account.filter(visible(), acct_key=acct_key(username, domain)).first()
    if account is None:
        raise NotFound(NOT_FOUND)
    return account


# -- statuses ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StatusFilter:
    only_media: bool = False
    exclude_replies: bool = False
    exclude_reblogs: bool = False
    pinned: bool = False
    tagged: str | None = None


async def _blocks_between(a: int, b: int) -> bool:
    rows = await raw_rows("SELECT 1 AS x FROM blocks WHERE (account_id = ? AND target_account_id = ?) "
                          "OR (account_id = ? AND target_account_id = ?)", [a, b, b, a])
    return bool(rows)


async def account_status_ids(account: Account, viewer: Account | None, page: Page,
                             filters: StatusFilter) -> list[int]:
    """Ids of ``account``'s statuses (and boosts) that ``viewer`` may see, newest first.

    Visibility as Mastodon's AccountStatusesFilter: anyone sees public and unlisted; followers also see
    private; the owner sees everything. Nothing when one of the two blocks the other."""
    if viewer is not None and viewer.id != account.id and await _blocks_between(viewer.id, account.id):
        return []
    clauses = ["s.account_id = ?", "s.deleted_at IS NULL"]
    values: list[object] = [account.id]
    if viewer is None:
        clauses.append("s.visibility IN ('public', 'unlisted')")
    elif viewer.id != account.id:  # followers see private posts, the people mentioned see theirs
        clauses.append(VISIBLE_TO_VIEWER_SQL)
        values += [viewer.id] * VISIBLE_TO_VIEWER_PARAMS
    # A boost shows only while its original is there.
    clauses.append("(s.reblog_of_id IS NULL OR EXISTS (SELECT 1 FROM statuses o WHERE o.id = s.reblog_of_id "
                   "AND o.deleted_at IS NULL))")
    if filters.only_media:
        clauses.append("EXISTS (SELECT 1 FROM media_attachments m WHERE m.status_id = s.id)")
    if filters.exclude_replies:  # a reply to oneself (a thread) is kept, as Mastodon keeps it
        clauses.append("(s.in_reply_to_id IS NULL OR s.in_reply_to_account_id = s.account_id)")
    if filters.exclude_reblogs:
        clauses.append("s.reblog_of_id IS NULL")
    if filters.pinned:
        clauses.append("EXISTS (SELECT 1 FROM status_pins p WHERE p.status_id = s.id AND p.account_id = ?)")
        values.append(account.id)
    if filters.tagged:
        clauses.append("EXISTS (SELECT 1 FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
                       "WHERE st.statuses_id = s.id AND t.name = ?)")
        values.append(filters.tagged.lstrip("#").lower())
    where, bounds = page.where("s.id")
    rows = await raw_rows(f"SELECT s.id AS id FROM statuses s WHERE {' AND '.join(clauses)} AND {where} "
                          f"ORDER BY {page.order('s.id')} LIMIT ?", [*values, *bounds, page.limit])
    return page.newest_first([int(r["id"]) for r in rows])  # type: ignore[call-overload]


# -- account lists ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class AccountRow:
    """An account in a paged list, with the id of the row that put it there (the paging cursor)."""
    cursor: int
    account: Account


async def _account_rows(table: str, match_column: str, show_column: str, owner_id: int,
                        page: Page) -> list[AccountRow]:
    where, bounds = page.where("r.id")
    rows = await raw_rows(f"SELECT r.id AS cursor, a.id AS account_id FROM {table} r "
                          f"JOIN accounts a ON a.id = r.{show_column} "
                          f"WHERE r.{match_column} = ? AND a.suspended_at IS NULL AND {where} "
                          f"ORDER BY {page.order('r.id')} LIMIT ?", [owner_id, *bounds, page.limit])
    pairs = page.newest_first([(int(r["cursor"]), int(r["account_id"])) for r in rows])  # type: ignore[call-overload]
    accounts = {a.id: a for a in await Account.filter(id__in=[p[1] for p in pairs])}
    return [AccountRow(cursor, accounts[account_id]) for cursor, account_id in pairs if account_id in accounts]


async def followers(account: Account, viewer: Account | None, page: Page) -> list[AccountRow]:
    """Who follows ``account``, latest follow first; nobody but the owner sees a hidden list."""
    if account.hide_collections and (viewer is None or viewer.id != account.id):
        return []
    return await _account_rows("follows", "target_account_id", "account_id", account.id, page)


async def following(account: Account, viewer: Account | None, page: Page) -> list[AccountRow]:
    if account.hide_collections and (viewer is None or viewer.id != account.id):
        return []
    return await _account_rows("follows", "account_id", "target_account_id", account.id, page)


async def follow_requests(account: Account, page: Page) -> list[AccountRow]:
    """Who asks to follow ``account`` (a locked one), latest first."""
    return await _account_rows("follow_requests", "target_account_id", "account_id", account.id, page)


async def familiar_followers(viewer: Account, account_ids: list[int], per_account: int = 40
                             ) -> dict[int, list[Account]]:
    """For each account, the accounts ``viewer`` follows that follow it (Mastodon's FamiliarFollowersPresenter:
    followers who hide their collections are left out)."""
    ids: list[object] = list(dict.fromkeys(account_ids))
    if not ids:
        return {}
    rows = await raw_rows(
        f"SELECT f.target_account_id AS target, f.account_id AS follower FROM follows f "
        f"JOIN follows mine ON mine.target_account_id = f.account_id AND mine.account_id = ? "
        f"JOIN accounts a ON a.id = f.account_id "
        f"WHERE f.target_account_id IN ({in_list(ids)}) AND a.suspended_at IS NULL AND a.hide_collections = ? "
        f"ORDER BY f.id DESC", [viewer.id, *ids, False])
    wanted: dict[int, list[int]] = {}
    for row in rows:
        found = wanted.setdefault(int(row["target"]), [])  # type: ignore[call-overload]
        if len(found) < per_account:
            found.append(int(row["follower"]))  # type: ignore[call-overload]
    accounts = {a.id: a for a in await Account.filter(id__in=[i for v in wanted.values() for i in v])}
    return {target: [accounts[i] for i in wanted.get(target, []) if i in accounts]  # type: ignore[misc]
            for target in ids}
