"""Actor documents: ``/users/NAME`` and ``/@NAME`` answer ActivityStreams JSON to servers and the HTML
profile to browsers; ``/actor`` is the instance's ``Application`` actor."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, redirect, request

from cara_fed.errors import NotFound
from cara_fed.federation.convert import account_to_ap, instance_actor_to_ap
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import accounts, instance
from cara_fed.web.negotiation import activity_response, wants_activitystreams
from cara_fed.web.profile_page import profile_html
from cara_fed.web.state import app_state

bp = Blueprint("actors", __name__)


@bp.get("/users/<username>")
async def actor(username: str) -> Response:
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    if wants_activitystreams(request.headers.get("Accept")):
        return activity_response(account_to_ap(account, urls))
    response = redirect(urls.profile(account.username), 302)
    response.headers["Vary"] = "Accept"
    return response


@bp.get("/@<username>")
async def profile(username: str) -> Response:
    if not wants_activitystreams(request.headers.get("Accept")):
        return await profile_html(username)  # people: the profile and portfolio (web/profile_page.py)
    account = await accounts.get_public_local_account(username)
    urls = LocalUrls(app_state(current_app).settings)
    return activity_response(account_to_ap(account, urls))


@bp.get("/actor")
async def instance_actor() -> Response:
    actor_row = await instance.instance_actor()
    if actor_row is None:
        raise NotFound("Record not found")
    urls = LocalUrls(app_state(current_app).settings)
    if wants_activitystreams(request.headers.get("Accept")):
        return activity_response(instance_actor_to_ap(actor_row, urls))
    response = redirect(urls.base + "/", 302)
    response.headers["Vary"] = "Accept"
    return response
