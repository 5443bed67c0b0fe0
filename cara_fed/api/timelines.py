"""Timelines (docs: methods/timelines) and the viewer's favourites and bookmarks: a page of ids from one
query (services/timelines.py), then the statuses and their entity data in a fixed number of queries."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, me, viewer
from cara_fed.api.entities.statuses import load_statuses, statuses_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params
from cara_fed.errors import NotFound
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Tag
from cara_fed.services import timelines
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_timelines", __name__)


async def _statuses_page(ids: list[int], cursors: list[int] | None = None) -> Response:
    found = await load_statuses(ids)
    statuses = timelines.in_order(ids, found)
    urls = LocalUrls(app_state(current_app).settings)
    response = json_response(await statuses_to_api(statuses, urls, viewer()))
    return with_link(response, cursors if cursors is not None else ids)


@bp.get("/api/v1/timelines/home")
@authorized("read:statuses")
async def home() -> Response:
    return await _statuses_page(await timelines.home_ids(me(), page_params(20, 40)))


@bp.get("/api/v1/timelines/public")
@authorized("read:statuses", optional=True)
async def public() -> Response:
    p = await params()
    ids = await timelines.public_ids(viewer(), page_params(20, 40), local=bool(p.bool("local", False)),
                                     remote=bool(p.bool("remote", False)),
                                     only_media=bool(p.bool("only_media", False)))
    return await _statuses_page(ids)


@bp.get("/api/v1/timelines/tag/<hashtag>")
@authorized("read:statuses", optional=True)
async def tag(hashtag: str) -> Response:
    p = await params()
    ids = await timelines.public_ids(viewer(), page_params(20, 40), local=bool(p.bool("local", False)),
                                     remote=bool(p.bool("remote", False)),
                                     only_media=bool(p.bool("only_media", False)), tag=hashtag.lstrip("#"))
    return await _statuses_page(ids)


@bp.get("/api/v1/tags/<name>")
@authorized("read", optional=True)
async def tag_entity(name: str) -> Response:
    row = await Tag.filter(name=name.lower()).first()
    if row is None:
        raise NotFound("Record not found")
    urls = LocalUrls(app_state(current_app).settings)
    return json_response({"id": str(row.id), "name": row.name, "url": urls.tag(row.name), "history": [],
                          "following": False})


@bp.get("/api/v1/favourites")
@authorized("read:favourites")
async def favourites() -> Response:
    pairs = await timelines.marked_ids("favourites", me(), page_params(20, 40))
    return await _statuses_page([s for _, s in pairs], [r for r, _ in pairs])


@bp.get("/api/v1/bookmarks")
@authorized("read:bookmarks")
async def bookmarks() -> Response:
    pairs = await timelines.marked_ids("bookmarks", me(), page_params(20, 40))
    return await _statuses_page([s for _, s in pairs], [r for r, _ in pairs])


