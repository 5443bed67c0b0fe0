"""Timelines as raw queries: one query for the page of ids, then the rows with their relations (the home
timeline is the API's hottest read; bench/api.py measures it).

Home: the viewer's own posts and those of accounts they follow (boosts only from follows that show boosts;
replies only to the author themself, the viewer, or someone the viewer follows, as Mastodon's FeedManager),
minus muted and blocked accounts. Public: public, original (not boosted) posts of accounts neither
suspended nor silenced. Favourites and bookmarks page by the favourite/bookmark row id, as Mastodon."""

from __future__ import annotations

from cara_fed.db import raw_rows
from cara_fed.models import Account, Status
from cara_fed.services.paging import Page

_NOT_HIDDEN_BY_VIEWER = (
    "s.account_id NOT IN (SELECT target_account_id FROM mutes WHERE account_id = ?) "
    "AND s.account_id NOT IN (SELECT target_account_id FROM blocks WHERE account_id = ?)")
_LIVE_AUTHOR = ("EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id AND a.suspended_at IS NULL)")


async def _ids(sql: str, params: list[object]) -> list[int]:
    return [int(row["id"]) for row in await raw_rows(sql, params)]  # type: ignore[arg-type]


async def home_ids(viewer: Account, page: Page) -> list[int]:
    me = viewer.id
    where, bounds = page.where("s.id")
    sql = (
        "SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND " + where + " AND ("
        "s.account_id = ? OR s.account_id IN (SELECT target_account_id FROM follows WHERE account_id = ?)) "
        "AND (s.reblog_of_id IS NULL OR s.account_id = ? OR s.account_id IN (SELECT target_account_id "
        "FROM follows WHERE account_id = ? AND show_reblogs = ?)) "
        "AND (s.in_reply_to_account_id IS NULL OR s.in_reply_to_account_id = s.account_id "
        "OR s.in_reply_to_account_id = ? "
        "OR s.in_reply_to_account_id IN (SELECT target_account_id FROM follows WHERE account_id = ?)) "
        "AND (s.visibility <> 'direct' OR s.account_id = ? "
        "OR EXISTS (SELECT 1 FROM mentions m WHERE m.status_id = s.id AND m.account_id = ?)) "
        "AND " + _NOT_HIDDEN_BY_VIEWER + " AND " + _LIVE_AUTHOR +
        f" ORDER BY {page.order('s.id')} LIMIT ?")
    params: list[object] = [*bounds, me, me, me, me, True, me, me, me, me, me, me, page.limit]
    return page.newest_first(await _ids(sql, params))


async def public_ids(viewer: Account | None, page: Page, *, local: bool = False, remote: bool = False,
                     only_media: bool = False, tag: str | None = None) -> list[int]:
    where, bounds = page.where("s.id")
    sql = ("SELECT s.id FROM statuses s WHERE s.deleted_at IS NULL AND s.visibility = 'public' "
           "AND s.reblog_of_id IS NULL AND " + where +
           " AND EXISTS (SELECT 1 FROM accounts a WHERE a.id = s.account_id AND a.suspended_at IS NULL "
           "AND a.silenced_at IS NULL)")
    params: list[object] = list(bounds)
    if local:
        sql += " AND s.local = ?"
        params.append(True)
    elif remote:
        sql += " AND s.local = ?"
        params.append(False)
    if only_media:
        sql += " AND EXISTS (SELECT 1 FROM media_attachments ma WHERE ma.status_id = s.id)"
    if tag is not None:
        sql += (" AND EXISTS (SELECT 1 FROM statuses_tags st JOIN tags t ON t.id = st.tag_id "
                "WHERE st.statuses_id = s.id AND t.name = ?)")
        params.append(tag.lower())
    if viewer is not None:
        sql += " AND " + _NOT_HIDDEN_BY_VIEWER
        params += [viewer.id, viewer.id]
    sql += f" ORDER BY {page.order('s.id')} LIMIT ?"
    params.append(page.limit)
    return page.newest_first(await _ids(sql, params))


async def marked_ids(table: str, viewer: Account, page: Page) -> list[tuple[int, int]]:
    """(row id, status id) of the viewer's favourites or bookmarks, newest first."""
    assert table in ("favourites", "bookmarks")
    where, bounds = page.where("x.id")
    rows = await raw_rows(
        f"SELECT x.id AS id, x.status_id AS status_id FROM {table} x JOIN statuses s ON s.id = x.status_id "
        f"WHERE x.account_id = ? AND s.deleted_at IS NULL AND {where} ORDER BY {page.order('x.id')} LIMIT ?",
        [viewer.id, *bounds, page.limit])
    pairs = [(int(r["id"]), int(r["status_id"])) for r in rows]  # type: ignore[arg-type]
    return page.newest_first(pairs)


def in_order(ids: list[int], found: dict[int, Status]) -> list[Status]:
    return [found[i] for i in ids if i in found]
