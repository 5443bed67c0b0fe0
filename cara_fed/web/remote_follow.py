"""Following across servers from the web, both ways.

* ``/@NAME/remote_follow``: the "Follow from your server" form (the profile page carries the same form).
  POST looks up the visitor's server (services/remote_follow.py) and answers 303 to its subscribe page;
  a handle that cannot be used is shown again with the reason next to the field (422).
* ``/authorize_interaction?uri=...``: our own subscribe template (LocalUrls.subscribe_template, published in
  our WebFinger answers): shows the account or post and a link to sign in and follow it (the studio signs in
  and completes the follow)."""

from __future__ import annotations

from urllib.parse import quote

from quart import Blueprint, Response, current_app, redirect, request

from cara_fed.errors import Gone, NotFound
from cara_fed.services.pages import PageAccount
from cara_fed.services.remote_follow import RemoteFollowRefused, interaction_target, subscribe_url
from cara_fed.web import page_views as views
from cara_fed.web.pages import local_artist
from cara_fed.web.state import app_state

bp = Blueprint("remote_follow", __name__)

HANDLE_MAX = 320
SIGN_IN_PATH = "/auth/sign_in"  # the web studio's


async def _form(account: PageAccount, handle: str = "", error: str | None = None, status: int = 200
                ) -> Response:
    urls = views.urls()
    description = views.plain(account.note) or \
        f"Follow {account.name} ({views.handle(account)}) from your fediverse server."
    meta = views.PageMeta(title=f"Follow {account.name} from your server", description=description,
                          url=f"{urls.profile(account.username)}/remote_follow",
                          feed=f"{urls.profile(account.username)}.atom")
    html = await views.render("remote_follow.html", meta=meta, account=account, handle=views.handle(account),
                              profile_path=views.profile_path(account),
                              avatar=views.avatar_url(account, urls),
                              visitor=handle, error=error)
    response = Response(html, status=status, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store" if error else "public, max-age=300"
    return response


@bp.get("/@<username>/remote_follow")
async def remote_follow_form(username: str) -> Response:
    try:
        account = await local_artist(username)
    except (NotFound, Gone) as error:
        return await views.error_page(error)
    return await _form(account)


@bp.post("/@<username>/remote_follow")
async def remote_follow(username: str) -> Response:
    try:
        account = await local_artist(username)
    except (NotFound, Gone) as error:
        return await views.error_page(error)
    handle = str((await request.form).get("handle", ""))[:HANDLE_MAX]
    federation = app_state(current_app).federation
    if federation is None:  # only while starting or stopping
        return await _form(account, handle, "The server is starting, please try again.", 503)
    try:
        target = await subscribe_url(federation, handle, views.urls().actor(account.username))
    except RemoteFollowRefused as refused:
        return await _form(account, handle, refused.message, 422)
    response = redirect(target, 303)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/authorize_interaction")
async def authorize_interaction() -> Response:
    uri = request.args.get("uri", "")[:2048]
    settings = views.settings()
    urls = views.urls()
    target = await interaction_target(urls, settings.instance.domain, uri) if uri else None
    here = f"/authorize_interaction?uri={quote(uri, safe='')}"
    meta = views.PageMeta(title=f"Follow or reply · {settings.instance.name}",
                          description=f"Sign in to {settings.instance.name} to follow or reply.",
                          url=urls.base + here)
    html = await views.render(
        "authorize_interaction.html", meta=meta, uri=uri, target=target,
        target_handle=views.handle(target.account) if target else None,
        target_avatar=views.avatar_url(target.account, urls) if target else None,
        target_path=views.profile_path(target.account) if target else None,
        sign_in=f"{SIGN_IN_PATH}?next={quote(here, safe='')}")
    response = Response(html, content_type="text/html; charset=utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response
