"""``GET/POST /oauth/authorize``: the sign-in and consent page (RFC 6749 section 4.1.1).

Server-rendered, no JavaScript and no cookies (in-app browsers start empty), readable on a phone. Every
error is a page: nothing is redirected until a person has signed in and chosen, so the endpoint cannot be
used to bounce visitors to an arbitrary registered URI. The form re-sends the request's parameters as
hidden fields signed by forms.sign_form, and the whole request is checked again on submit."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from quart import Blueprint, Response, current_app, render_template, request

from cara_fed.api.oauth.forms import describe_scope, sign_form, verify_form
from cara_fed.api.params import params
from cara_fed.errors import CaraError
from cara_fed.services import oauth, sign_in
from cara_fed.services.oauth import FORM_FIELDS, OOB, AuthorizationRequest, AuthorizeRefused
from cara_fed.web.rate_limits import login_limited
from cara_fed.web.state import app_state

bp = Blueprint("oauth_authorize", __name__)

# The page must not be framed (clickjacking a consent page), runs no script and loads nothing. No
# form-action directive: browsers apply it to the redirect after the post, which goes to the app.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                               "base-uri 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


async def _page(template: str, status: int = 200, **context: Any) -> Response:
    settings = app_state(current_app).settings
    html = await render_template(f"oauth/{template}", instance=settings.instance, **context)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


async def _error_page(error: str, message: str, status: int = 400) -> Response:
    return await _page("error.html", status, error=error, message=message)


@bp.errorhandler(CaraError)
async def refused(exc: CaraError) -> Response:
    if isinstance(exc, AuthorizeRefused):
        return await _error_page(exc.error, exc.message)
    return await _error_page("invalid_request", exc.message, exc.status if exc.status < 500 else 400)


async def _form(req: AuthorizationRequest, *, status: int = 200, error: str | None = None,
                login: str = "") -> Response:
    fields = req.form_fields()
    token = sign_form(await oauth.form_signing_key(), fields, int(time.time()))
    return await _page("authorize.html", status, app=req.app, fields=fields, token=token, error=error,
                       login=login, scopes=[(s, describe_scope(s)) for s in req.scopes],
                       out_of_band=req.redirect_uri == OOB, redirect_uri=req.redirect_uri)


@bp.get("/oauth/authorize")
@bp.get("/oauth/authorize/")  # toot opens the page with a trailing slash (toot/api.py)
async def authorize_page() -> Response:
    # Only the query: this is a page, its parameters are in the URL (force_login and lang are accepted and
    # ignored: the page always asks for credentials).
    args = request.args
    req = await oauth.check_authorization_request(**{name: args.get(name) for name in FORM_FIELDS})
    return await _form(req)


def with_query(uri: str, values: dict[str, str]) -> str:
    """``uri`` with ``values`` appended to its query (RFC 6749 section 4.1.2: keep the existing query)."""
    query = urlencode(values)
    if uri.endswith(("?", "&")):
        return uri + query
    return f"{uri}{'&' if '?' in uri else '?'}{query}"


def _redirect(uri: str, values: dict[str, str]) -> Response:
    response = Response("", status=302, headers={"Location": with_query(uri, values)})
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@bp.post("/oauth/authorize")
@bp.post("/oauth/authorize/")
async def authorize_submit() -> Response:
    p = await params()
    fields = {name: p.str(name) or "" for name in FORM_FIELDS}
    if not verify_form(await oauth.form_signing_key(), fields, p.str("authenticity_token"), int(time.time())):
        return await _error_page("invalid_request", "This form has expired or was changed. Go back to the "
                                 "app and start signing in again.")
    req = await oauth.check_authorization_request(**fields)
    state = {"state": req.state} if req.state is not None else {}
    if p.str("decision") == "deny":
        if req.redirect_uri == OOB:
            return await _error_page("access_denied", "You did not authorize the application.", 403)
        return _redirect(req.redirect_uri, {"error": "access_denied",
                                            "error_description": "The resource owner denied the request.",
                                            **state})
    login = p.str("login", max_length=320) or ""
    refused = await login_limited(login)  # Mastodon's login attempt limits, per address and per account
    if refused is not None:
        page = await _form(req, status=429, login=login,
                           error="Too many sign-in attempts. Wait a few minutes and try again.")
        page.headers["Retry-After"] = str(refused.retry_after)
        return page
    try:
        user = await sign_in.sign_in(login, p.str("password"))
    except (sign_in.LoginFailed, sign_in.LoginBlocked) as exc:
        return await _form(req, status=exc.status, error=exc.message, login=login)
    code = await oauth.create_code(req, user)
    if req.redirect_uri == OOB:
        return await _page("oob.html", app=req.app, code=code)
    return _redirect(req.redirect_uri, {"code": code, **state})
