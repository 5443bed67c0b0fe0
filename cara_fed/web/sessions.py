"""Signed-in browsers, for every server-rendered page that needs one (the studio, the admin pages).

* :func:`current_web_user` is the session of this request (services/web_sessions.WebSession: ``user``,
  ``account``, ``role``) or None; :func:`signed_in` guards a view: not signed in -> the sign-in page (and
  back afterwards), a forced password change pending -> the change form, a role outside ``roles`` -> 403.
* Every POST to a guarded view must carry the session's anti-forgery token (``csrf_token`` form field or
  ``X-CSRF-Token`` header, compared in constant time) and, when the browser sends one, an ``Origin`` of
  this instance: SameSite=Lax cookies alone leave same-site attackers and old browsers (OWASP CSRF
  Prevention Cheat Sheet). A refused form stores nothing: the check runs before the view.
* :func:`render_page` renders a template with ``csrf_token``, ``web_user`` and ``instance`` and the
  headers every private page gets (no caching, no framing, scripts only from this server).

The cookie holds a random token (``HttpOnly``, ``SameSite=Lax``, ``Path=/``, and ``Secure`` with the
``__Host-`` prefix when the instance is served over https); the database keeps only its digest."""

from __future__ import annotations

import functools
import ipaddress
import secrets
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, ParamSpec
from urllib.parse import quote, urlsplit

from quart import Response, current_app, g, redirect, render_template, request

from cara_fed.services import web_sessions
from cara_fed.services.web_sessions import WebSession
from cara_fed.web.state import app_state

P = ParamSpec("P")
View = Callable[P, Awaitable[Any]]

SESSION_COOKIE = "cara_session"
ANONYMOUS_COOKIE = "cara_csrf"  # before sign-in: what the sign-in form's token is bound to
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
SIGN_IN_PATH = "/auth/sign_in"
CHANGE_PASSWORD_PATH = "/auth/password"  # services/sign_in.PASSWORD_CHANGE_REQUIRED names it
HOME_PATH = "/studio"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Private pages: never cached or framed; scripts, styles and forms only from here. Images may also be
# blob: (the studio previews chosen files before they are sent).
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
}


class CsrfRefused(Exception):
    """A form without this browser's anti-forgery token, or sent from another site."""


def https() -> bool:
    return app_state(current_app).settings.scheme == "https"


def cookie_name(base: str) -> str:
    """``__Host-`` cookies are only accepted when Secure, for path / and without Domain (RFC 6265bis
    section 4.1.3.2): another host of the domain cannot plant or overwrite them."""
    return f"__Host-{base}" if https() else base


def set_cookie(response: Response, base: str, value: str, *, max_age: int | None = None) -> None:
    response.set_cookie(cookie_name(base), value, max_age=max_age, path="/", secure=https(), httponly=True,
                        samesite="Lax")


def delete_cookie(response: Response, base: str) -> None:
    response.delete_cookie(cookie_name(base), path="/", secure=https(), httponly=True, samesite="Lax")


def session_secret() -> str | None:
    return request.cookies.get(cookie_name(SESSION_COOKIE))


async def current_web_user() -> WebSession | None:
    """The signed-in session of this request (looked up once per request), or None."""
    if "web_session" not in g:
        g.web_session = await web_sessions.find_session(session_secret())
    session: WebSession | None = g.web_session
    return session


def forget_current_user() -> None:
    g.pop("web_session", None)


# -- anti-forgery -----------------------------------------------------------------------------------------


async def _key() -> bytes:
    if "csrf_key" not in g:
        g.csrf_key = await web_sessions.csrf_key()
    key: bytes = g.csrf_key
    return key


async def csrf_token() -> str:
    """This browser's form token: the session's once signed in, else one bound to a random cookie that
    :func:`render_page` sets (for the sign-in and sign-up forms)."""
    session = await current_web_user()
    if session is not None:
        return web_sessions.csrf_token(await _key(), "session", session.token_digest)
    value = request.cookies.get(cookie_name(ANONYMOUS_COOKIE)) or g.get("new_anonymous_cookie")
    if not value or len(value) > 128:
        value = secrets.token_urlsafe(32)
        g.new_anonymous_cookie = value
    return web_sessions.csrf_token(await _key(), "anonymous", value)


def _origin_is_ours() -> bool:
    """No Origin (older browsers, same-origin GETs) passes here and relies on the token; a present one
    must be this instance's (as configured, or as this request was addressed)."""
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    ours = {app_state(current_app).settings.base_url.lower(), f"{request.scheme}://{request.host}".lower()}
    return origin.lower() in ours


async def _submitted_token() -> str | None:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    form = await request.form
    value = form.get(CSRF_FIELD)
    return value if isinstance(value, str) else None


async def check_csrf(*, anonymous_form: bool = False) -> None:
    """Raise CsrfRefused unless this unsafe request carries this browser's session token, or, for a form
    shown before signing in (``anonymous_form``: sign-in, sign-up), the token of its anonymous cookie."""
    if not _origin_is_ours():
        raise CsrfRefused("cross-site request")
    submitted = await _submitted_token()
    key = await _key()
    session = await current_web_user()
    if session is not None and web_sessions.csrf_matches(key, "session", session.token_digest, submitted):
        return
    anonymous = request.cookies.get(cookie_name(ANONYMOUS_COOKIE))
    anonymous_ok = session is None or anonymous_form
    if anonymous_ok and anonymous and web_sessions.csrf_matches(key, "anonymous", anonymous, submitted):
        return
    raise CsrfRefused("missing or wrong token")


# -- pages ------------------------------------------------------------------------------------------------


async def render_page(template: str, status: int = 200, **context: Any) -> Response:
    """A private page: the template gets ``csrf_token``, ``web_user`` and ``instance``."""
    settings = app_state(current_app).settings
    html = await render_template(template, csrf_token=await csrf_token(), web_user=await current_web_user(),
                                 instance=settings.instance, **context)
    response = Response(html, status=status, content_type="text/html; charset=utf-8", headers=PAGE_HEADERS)
    new_cookie = g.get("new_anonymous_cookie")
    if new_cookie:
        set_cookie(response, ANONYMOUS_COOKIE, new_cookie)
    return response


def see_other(location: str) -> Response:
    """303 after a POST (the browser GETs the new page); Location is a path on this server."""
    response = redirect(location, 303)
    response.headers["Cache-Control"] = "no-store"
    return response


def safe_next(value: str | None, default: str = HOME_PATH) -> str:
    """A same-server path to go back to after signing in, never another site (no scheme, no host, no
    ``//`` or ``/\\`` that browsers read as one)."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")):
        return default
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(ord(c) < 0x21 for c in value):
        return default
    return value


async def refused_page(message: str, status: int) -> Response:
    return await render_page("auth/refused.html", status, message=message)


def signed_in(roles: Iterable[str] | None = None, *,
              allow_password_change: bool = False) -> Callable[[View[P]], View[P]]:
    """Guard a page view. ``roles``: the User roles allowed (``("admin",)``, ``("moderator", "admin")``);
    None: any signed-in user. Unsafe methods must pass the anti-forgery check. ``allow_password_change``
    lets a user whose password must be changed reach the view (the change form, sign-out)."""
    allowed = frozenset(roles) if roles is not None else None
    unknown = (allowed or frozenset()) - frozenset(web_sessions.ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {sorted(unknown)}")

    def decorate(view: View[P]) -> View[P]:
        @functools.wraps(view)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> Any:
            session = await current_web_user()
            if session is None:
                if request.method in UNSAFE_METHODS:
                    return await refused_page("You are not signed in (or your session has ended). Sign in "
                                              "and try again.", 401)
                return see_other(f"{SIGN_IN_PATH}?next={quote(request.full_path.rstrip('?'), safe='/')}")
            if request.method in UNSAFE_METHODS:
                try:
                    await check_csrf()
                except CsrfRefused:
                    return await refused_page("This form has expired or did not come from this site. Go "
                                              "back, reload the page and try again.", 403)
            if session.must_change_password and not allow_password_change:
                return see_other(CHANGE_PASSWORD_PATH)
            if allowed is not None and session.role not in allowed:
                return await refused_page("Your account cannot open this page.", 403)
            return await view(*args, **kwargs)

        return guarded

    return decorate


# -- the client's address (for rate limits) ---------------------------------------------------------------


def _in_networks(address: str, networks: Iterable[str]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


def client_address() -> str:
    """The client's IP (an IPv6 client by its /64, as Mastodon's rate limits): the peer, or, when the peer
    is a trusted proxy (``rate_limits.trusted_proxies``), the last X-Forwarded-For entry not itself one."""
    trusted = app_state(current_app).settings.rate_limits.trusted_proxies
    address = request.remote_addr or ""
    if trusted and _in_networks(address, trusted):
        forwarded = ",".join(request.headers.getlist("X-Forwarded-For"))
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        for hop in reversed(hops):
            address = hop
            if not _in_networks(hop, trusted):
                break
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:64] or "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)
