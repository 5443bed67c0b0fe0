"""``/api/v1/portfolio``: the portfolio for the web studio and third-party apps (docs/portfolio-api.md).
Thin routes over services/portfolio.py; the OAuth scopes and errors are the statuses API's: reading needs
no token (``read:statuses`` when one is sent), writing ``write:statuses``; 422 "Validation failed: ...",
404 "Record not found" (also for another artist's works and series, which nobody can change but them)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, current_app, request

from cara_fed.api.auth import authorized, me, viewer
from cara_fed.api.entities.portfolio import series_to_api, work_to_api
from cara_fed.api.params import Params, params, parse_id
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account
from cara_fed.services import portfolio
from cara_fed.settings import Settings
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_portfolio", __name__)

DEFAULT_LIMIT, MAX_LIMIT = 20, 80
WORK_FIELDS = ("title", "description", "medium", "licence")


def _settings() -> Settings:
    return app_state(current_app).settings


def _urls() -> LocalUrls:
    return LocalUrls(_settings())


async def _owner(p: Params) -> Account:
    """Whose portfolio: ``account_id`` (any account not suspended), else the caller's own."""
    account_id = p.id("account_id")
    if account_id is None:
        mine = viewer()
        if mine is None:
            raise ValidationFailed("Validation failed: account_id is required")
        return mine
    account = await Account.filter(id=account_id, suspended_at=None).first()
    if account is None:
        raise NotFound("Record not found")
    return account


def _ids(p: Params, name: str) -> list[int]:
    return [parse_id(v, name) for v in p.list(name)]


def _year(p: Params) -> int | None:
    return p.int("year")


def _text(p: Params, name: str) -> str:
    return p.str(name, "") or ""


def _link(offset: int, limit: int, count: int, total: int) -> str | None:
    """``Link`` with ``next`` (the following page) and ``prev``, keeping the caller's other parameters."""
    base = _settings().base_url + request.path
    kept = [(k, v) for k, v in request.args.items(multi=True) if k not in ("offset", "limit", "access_token")]
    links = []
    if offset + count < total:
        links.append(f'<{base}?{urlencode([*kept, ("limit", str(limit)), ("offset", str(offset + count))])}>; '
                     'rel="next"')
    if offset > 0:
        links.append(f'<{base}?{urlencode([*kept, ("limit", str(limit)), ("offset", str(max(0, offset - limit)))])}>; '
                     'rel="prev"')
    return ", ".join(links) or None


# -- works ------------------------------------------------------------------------------------------------

@bp.get("/api/v1/portfolio")
@authorized("read:statuses", optional=True)
async def index() -> Response:
    p = await params()
    account = await _owner(p)
    limit = p.int("limit", DEFAULT_LIMIT, minimum=1, maximum=MAX_LIMIT, clamp=True) or DEFAULT_LIMIT
    offset = p.int("offset", 0, minimum=0, maximum=1_000_000) or 0
    view = await portfolio.list_portfolio(account, series_id=p.id("series_id"), limit=limit, offset=offset)
    urls = _urls()
    response = json_response([work_to_api(w, urls) for w in view.works])
    link = _link(offset, limit, len(view.works), view.total)
    if link:
        response.headers["Link"] = link
    response.headers["X-Total-Count"] = str(view.total)
    return response


@bp.post("/api/v1/portfolio")
@authorized("write:statuses")
async def create() -> Response:
    p = await params()
    settings = _settings()
    status_id = p.id("status_id")
    if status_id is not None:
        work = await portfolio.make_work_from_status(
            settings, me(), status_id, title=p.str("title"), description=p.str("description"),
            medium=_text(p, "medium"), year=_year(p), licence=p.str("licence") or "all-rights-reserved",
            series_id=p.id("series_id"))
    else:
        work = await portfolio.add_work(
            settings, me(), _ids(p, "media_ids"), title=_text(p, "title"), description=_text(p, "description"),
            medium=_text(p, "medium"), year=_year(p), tags=[str(t) for t in p.list("tags")],
            licence=p.str("licence") or "all-rights-reserved", series_id=p.id("series_id"),
            visibility=p.str("visibility") or "public", sensitive=bool(p.bool("sensitive", False)),
            spoiler_text=_text(p, "spoiler_text"), language=p.str("language") or None,
            idempotency_key=request.headers.get("Idempotency-Key") or None)
    return json_response(work_to_api(work, _urls()))


@bp.post("/api/v1/portfolio/reorder")
@authorized("write:statuses")
async def reorder() -> Response:
    p = await params()
    await portfolio.reorder_works(_settings(), me(), _ids(p, "work_ids"))
    view = await portfolio.list_portfolio(me())
    return json_response({"work_ids": [str(w.id) for w in view.works]})


@bp.get("/api/v1/portfolio/<work_id>")
@authorized("read:statuses", optional=True)
async def show(work_id: str) -> Response:
    return json_response(work_to_api(await portfolio.get_work(parse_id(work_id)), _urls()))


def _alt_texts(p: Params) -> dict[int, str] | None:
    """``media_attributes[][id]`` and ``[description]``, as Mastodon's status edit takes them."""
    if not p.has("media_attributes"):
        return None
    found: dict[int, str] = {}
    for item in p.list("media_attributes"):
        if not isinstance(item, dict) or "id" not in item:
            raise ValidationFailed("Validation failed: media_attributes entries need an id")
        description = item.get("description")
        if description is not None:
            if not isinstance(description, str):
                raise ValidationFailed("Validation failed: media description must be a string")
            found[parse_id(item["id"], "media_attributes id")] = description
    return found


@bp.put("/api/v1/portfolio/<work_id>")
@bp.patch("/api/v1/portfolio/<work_id>")
@authorized("write:statuses")
async def update(work_id: str) -> Response:
    p = await params()
    changes: dict[str, Any] = {name: _text(p, name) for name in WORK_FIELDS if p.has(name)}
    if p.has("year"):
        changes["year"] = _year(p)
    if p.has("tags"):
        changes["tags"] = [str(t) for t in p.list("tags")]
    if p.has("series_id"):
        changes["series_id"] = p.id("series_id")
    if p.has("sensitive"):
        changes["sensitive"] = bool(p.bool("sensitive", False))
    if p.has("spoiler_text"):
        changes["spoiler_text"] = _text(p, "spoiler_text")
    if "licence" in changes and not changes["licence"]:
        raise ValidationFailed("Validation failed: licence can't be blank")
    work = await portfolio.update_work(
        _settings(), me(), parse_id(work_id), alt_texts=_alt_texts(p),
        media_ids=_ids(p, "media_ids") if p.has("media_ids") else None, **changes)
    return json_response(work_to_api(work, _urls()))


@bp.delete("/api/v1/portfolio/<work_id>")
@authorized("write:statuses")
async def remove(work_id: str) -> Response:
    p = await params()
    wid = parse_id(work_id)
    before = await portfolio.get_work(wid, account_id=me().id)
    await portfolio.remove_work(_settings(), me(), wid, delete_post=bool(p.bool("delete_post", False)))
    return json_response(work_to_api(before, _urls()))


# -- series -----------------------------------------------------------------------------------------------

def _series_json(series: portfolio.SeriesView, owner: Account) -> dict[str, Any]:
    return series_to_api(series, owner.username, _urls())


@bp.get("/api/v1/portfolio/series")
@authorized("read:statuses", optional=True)
async def series_index() -> Response:
    account = await _owner(await params())
    return json_response([_series_json(s, account) for s in await portfolio.list_series(account)])


@bp.post("/api/v1/portfolio/series")
@authorized("write:statuses")
async def series_create() -> Response:
    p = await params()
    series = await portfolio.create_series(_settings(), me(), _text(p, "name"), _text(p, "description"))
    return json_response(_series_json(series, me()))


@bp.post("/api/v1/portfolio/series/reorder")
@authorized("write:statuses")
async def series_reorder() -> Response:
    p = await params()
    ordered = await portfolio.reorder_series(_settings(), me(), _ids(p, "series_ids"))
    return json_response([_series_json(s, me()) for s in ordered])


@bp.get("/api/v1/portfolio/series/<series_id>")
@authorized("read:statuses", optional=True)
async def series_show(series_id: str) -> Response:
    series = await portfolio.find_series(parse_id(series_id))
    owner = await Account.get(id=series.account_id)
    return json_response(_series_json(series, owner))


@bp.put("/api/v1/portfolio/series/<series_id>")
@bp.patch("/api/v1/portfolio/series/<series_id>")
@authorized("write:statuses")
async def series_update(series_id: str) -> Response:
    p = await params()
    changes = {name: _text(p, name) for name in ("name", "description") if p.has(name)}
    series = await portfolio.update_series(_settings(), me(), parse_id(series_id), **changes)
    return json_response(_series_json(series, me()))


@bp.delete("/api/v1/portfolio/series/<series_id>")
@authorized("write:statuses")
async def series_delete(series_id: str) -> Response:
    sid = parse_id(series_id)
    before = await portfolio.get_series(me(), sid)
    await portfolio.delete_series(_settings(), me(), sid)
    return json_response(_series_json(before, me()))


@bp.post("/api/v1/portfolio/series/<series_id>/reorder")
@authorized("write:statuses")
async def series_works_reorder(series_id: str) -> Response:
    p = await params()
    sid = parse_id(series_id)
    await portfolio.reorder_series_works(_settings(), me(), sid, _ids(p, "work_ids"))
    view = await portfolio.list_portfolio(me(), series_id=sid)
    return json_response({"work_ids": [str(w.id) for w in view.works]})
