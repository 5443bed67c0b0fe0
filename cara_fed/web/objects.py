"""Local statuses as ActivityPub objects: ``/users/NAME/statuses/ID`` (a ``Note``, or a ``Tombstone`` with
410 once deleted) and ``.../activity`` (its ``Create``). Browsers get the HTML page."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, redirect, request

from cara_fed.federation.notes import create_activity, status_to_ap, status_uri, tombstone
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Status
from cara_fed.services import accounts, statuses
from cara_fed.web.negotiation import activity_response, wants_activitystreams
from cara_fed.web.pages import status_html
from cara_fed.web.state import app_state

bp = Blueprint("objects", __name__)


async def _load(username: str, status_id: int) -> tuple[Account, Status, LocalUrls]:
    account = await accounts.get_public_local_account(username)
    return account, await statuses.get_local_status(account, status_id), LocalUrls(app_state(current_app).settings)


@bp.get("/users/<username>/statuses/<int:status_id>")
async def note(username: str, status_id: int) -> Response:
    account, status, urls = await _load(username, status_id)
    if status.deleted_at is not None:
        return activity_response(tombstone(status_uri(status, urls)), status=410)
    if wants_activitystreams(request.headers.get("Accept")):
        return activity_response(status_to_ap(status, urls))
    response = redirect(urls.status_page(account.username, status.id), 302)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/users/<username>/statuses/<int:status_id>/activity")
async def note_activity(username: str, status_id: int) -> Response:
    _, status, urls = await _load(username, status_id)
    if status.deleted_at is not None:
        return activity_response(tombstone(urls.status_activity(username, status.id)), status=410)
    return activity_response(create_activity(status, urls))


@bp.get("/@<username>/<int:status_id>")
async def status_page(username: str, status_id: int) -> Response:
    if not wants_activitystreams(request.headers.get("Accept")):
        return await status_html(username, status_id)  # people: the post's page (web/pages.py)
    account, status, urls = await _load(username, status_id)
    if status.deleted_at is not None:
        return Response("This post has been deleted.", status=410, content_type="text/plain; charset=utf-8")
    return activity_response(status_to_ap(status, urls))
