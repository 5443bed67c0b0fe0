"""Notifications (docs: methods/notifications): list with ``types[]`` / ``exclude_types[]`` / ``account_id``
(Ivory passes several ``types[]``, jointakahe/takahe#473), one, dismiss, clear, and the unread count read
from the ``notifications`` marker (Mastodon 4.3)."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, me, my_user
from cara_fed.api.entities.notifications import notifications_to_api
from cara_fed.api.pagination import Page, page_params, with_link
from cara_fed.api.params import Params, params
from cara_fed.errors import NotFound
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import notifications as service
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_notifications", __name__)

DEFAULT_LIMIT = 40
MAX_LIMIT = 80


def _urls() -> LocalUrls:
    return LocalUrls(app_state(current_app).settings)


def _filter(p: Params) -> service.NotificationFilter:
    return service.NotificationFilter(
        types=tuple(str(t) for t in p.list("types")),
        exclude_types=tuple(str(t) for t in p.list("exclude_types")),
        from_account_id=p.id("account_id"))


def _path_id(value: str) -> int:
    """An id in the path: anything that is not one cannot name a notification (404, as a missing one)."""
    if not value.isdigit() or len(value) > 19:
        raise NotFound("Record not found")
    return int(value)


def _window(page: Page) -> service.Window:
    return service.Window(limit=page.limit, max_id=page.max_id, since_id=page.since_id, min_id=page.min_id)


@bp.get("/api/v1/notifications")
@authorized("read:notifications")
async def index() -> Response:
    page = page_params(DEFAULT_LIMIT, MAX_LIMIT)
    rows = await service.list_notifications(me(), _filter(await params()), _window(page))
    entities = await notifications_to_api(rows, _urls(), me())
    # The cursors are the rows read, even if one could not be rendered: the next page starts after them.
    return with_link(json_response(entities), [row.id for row in rows])


@bp.get("/api/v1/notifications/unread_count")
@authorized("read:notifications")
async def unread_count() -> Response:
    p = await params()
    limit = p.int("limit", service.UNREAD_DEFAULT_LIMIT, minimum=1, maximum=service.UNREAD_MAX_LIMIT,
                  clamp=True) or service.UNREAD_DEFAULT_LIMIT
    count = await service.unread_count(me(), my_user().id, _filter(p), limit)
    return json_response({"count": count})


@bp.get("/api/v1/notifications/<notification_id>")
@authorized("read:notifications")
async def show(notification_id: str) -> Response:
    row = await service.get_notification(me(), _path_id(notification_id))
    entities = await notifications_to_api([row], _urls(), me())
    if not entities:
        raise NotFound("Record not found")
    return json_response(entities[0])


@bp.post("/api/v1/notifications/clear")
@authorized("write:notifications")
async def clear() -> Response:
    await service.clear(me())
    return json_response({})


@bp.post("/api/v1/notifications/<notification_id>/dismiss")
@authorized("write:notifications")
async def dismiss(notification_id: str) -> Response:
    await service.dismiss(me(), _path_id(notification_id))
    return json_response({})


@bp.post("/api/v1/notifications/dismiss")
@authorized("write:notifications")
async def dismiss_legacy() -> Response:
    """``POST /api/v1/notifications/dismiss`` with ``id`` in the body: removed in Mastodon 3.0, still sent by
    old clients and libraries."""
    notification_id = (await params()).id("id")
    if notification_id is None:
        raise NotFound("Record not found")
    await service.dismiss(me(), notification_id)
    return json_response({})
