"""Portfolios as ActivityPub collections (issue 6 point 1; wire format: federation/portfolio.py):
``/users/NAME/portfolio`` and ``/users/NAME/portfolio/series/ID``, each an ``OrderedCollection`` whose
pages (``?page=1``...) list the works' Note ids in order. Browsers are sent to the artist's profile page."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, redirect, request

from cara_fed.federation.portfolio import PAGE_SIZE, collection_page, portfolio_collection, series_collection
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account
from cara_fed.services import accounts, portfolio_views
from cara_fed.services.portfolio_series import get_series
from cara_fed.web.negotiation import activity_response, wants_activitystreams
from cara_fed.web.state import app_state

bp = Blueprint("portfolio", __name__)

MAX_PAGE = 10_000


def _page() -> int | None:
    value = request.args.get("page")
    if value is None:
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE:
        abort(400, "page must be a positive number")
    return int(value)


def _to_profile(account: Account, urls: LocalUrls) -> Response:
    response = redirect(urls.profile(account.username), 302)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/users/<username>/portfolio")
async def portfolio(username: str) -> Response:
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    if not wants_activitystreams(request.headers.get("Accept")):
        return _to_profile(account, urls)
    page = _page()
    if page is None:
        total, _ = await portfolio_views.collection_items(account.id, limit=0)
        series = await portfolio_views.list_series(account)
        return activity_response(portfolio_collection(account, total, [(s, s.work_count) for s in series], urls))
    total, ids = await portfolio_views.collection_items(account.id, limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE)
    items = [urls.status(account.username, i) for i in ids]
    return activity_response(collection_page(urls.portfolio(account.username), page, items, total))


@bp.get("/users/<username>/portfolio/series/<int:series_id>")
async def series(username: str, series_id: int) -> Response:
    account = await accounts.get_public_local_account(username)
    found = await get_series(account, series_id)
    urls = LocalUrls(app_state(current_app).settings)
    if not wants_activitystreams(request.headers.get("Accept")):
        return _to_profile(account, urls)
    page = _page()
    if page is None:
        return activity_response(series_collection(account, found, found.work_count, urls))
    total, ids = await portfolio_views.collection_items(account.id, series_id=found.id, limit=PAGE_SIZE,
                                                        offset=(page - 1) * PAGE_SIZE)
    items = [urls.status(account.username, i) for i in ids]
    return activity_response(collection_page(urls.portfolio_series(account.username, found.id), page, items, total))
