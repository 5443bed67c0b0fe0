"""An account's public collections: outbox (paged by id), followers and following (paged by number; the
items hidden when the account chooses, the counts always shown), featured (pinned posts)."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, request

from cara_fed.federation.collections import ordered_collection, ordered_collection_page
from cara_fed.federation.contexts import OBJECT_CONTEXT
from cara_fed.federation.notes import actor_uri, announce_activity, create_activity, status_to_ap
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import accounts, statuses
from cara_fed.web.negotiation import activity_response
from cara_fed.web.state import app_state

bp = Blueprint("collections", __name__)


def _id_arg(name: str) -> int | None:
    value = request.args.get(name)
    if value is None:
        return None
    if not value.isdigit() or len(value) > 19:
        abort(400, f"{name} must be a status id")
    return int(value)


@bp.get("/users/<username>/outbox")
async def outbox(username: str) -> Response:
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    base = urls.outbox(account.username)
    if request.args.get("page") != "true":
        return activity_response(ordered_collection(base, await statuses.outbox_count(account),
                                                    first=f"{base}?page=true"))
    max_id, min_id = _id_arg("max_id"), _id_arg("min_id")
    rows = await statuses.outbox_page(account, max_id=max_id, min_id=min_id)
    items = [announce_activity(s, urls) if s.reblog_of_id else create_activity(s, urls) for s in rows]
    for item in items:
        item.pop("@context", None)
    page_id = f"{base}?page=true" + (f"&max_id={max_id}" if max_id is not None else "") + (
        f"&min_id={min_id}" if min_id is not None else "")
    return activity_response(ordered_collection_page(
        page_id, base, items, context=OBJECT_CONTEXT,
        next_page=f"{base}?page=true&max_id={rows[-1].id}" if rows else None,
        prev_page=f"{base}?page=true&min_id={rows[0].id}" if rows else None))


async def _account_collection(username: str, which: str) -> Response:
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    base = urls.followers(account.username) if which == "followers" else urls.following(account.username)
    page_arg = request.args.get("page")
    loader = statuses.followers_page if which == "followers" else statuses.following_page
    if page_arg is None:
        follower_count, following_count = await statuses.follow_counts(account)
        total = follower_count if which == "followers" else following_count
        first = None if account.hide_collections else f"{base}?page=1"
        return activity_response(ordered_collection(base, total, first=first))
    if account.hide_collections:
        abort(403, "This account hides this collection")
    if not page_arg.isdigit() or not 1 <= int(page_arg) <= 10_000:
        abort(400, "page must be a positive number")
    page = int(page_arg)
    result = await loader(account, page)
    items = [actor_uri(a, urls) for a in result.accounts]
    more = page * statuses.PAGE_SIZE < result.total
    return activity_response(ordered_collection_page(
        f"{base}?page={page}", base, items, total=result.total,
        next_page=f"{base}?page={page + 1}" if more else None,
        prev_page=f"{base}?page={page - 1}" if page > 1 else None))


@bp.get("/users/<username>/followers")
async def followers(username: str) -> Response:
    return await _account_collection(username, "followers")


@bp.get("/users/<username>/following")
async def following(username: str) -> Response:
    return await _account_collection(username, "following")


@bp.get("/users/<username>/collections/featured")
async def featured(username: str) -> Response:
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    pinned = await statuses.pinned_statuses(account)
    items = [status_to_ap(s, urls, with_context=False) for s in pinned]
    return activity_response(ordered_collection(urls.featured(account.username), len(items), items=items,
                                                context=OBJECT_CONTEXT))
