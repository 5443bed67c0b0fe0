"""Actor documents: ``/users/NAME`` and ``/@NAME`` answer ActivityStreams JSON to servers and the HTML
profile to browsers; ``/actor`` is the instance's ``Application`` actor."""

from __future__ import annotations

from quart import Blueprint, Response, current_app, redirect, render_template, request

from cara_fed.errors import NotFound
from cara_fed.federation.convert import account_to_ap, instance_actor_to_ap
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import accounts, instance
from cara_fed.web.negotiation import activity_response, wants_activitystreams
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
    account = await accounts.get_public_local_account(username)
    settings = app_state(current_app).settings
    urls = LocalUrls(settings)
    if wants_activitystreams(request.headers.get("Accept")):
        return activity_response(account_to_ap(account, urls))
    html = await render_template("profile.html", account=account, instance=settings.instance,
                                 actor_url=urls.actor(account.username), handle=f"@{account.username}@"
                                 f"{settings.instance.domain}")
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    return response


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
