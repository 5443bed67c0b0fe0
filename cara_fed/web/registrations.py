"""The sign-up page: ``GET/POST /auth/sign_up``, and ``/invite/CODE`` links that prefill an invite code.

Server-rendered, no JavaScript, no cookies, as the OAuth authorize page (api/oauth/authorize.py): cara_fed
has no browser sessions, so a forged cross-site POST could not act as anyone. The forms still carry an
anti-forgery token, ``<unix time>.<HMAC-SHA256>`` over the form's purpose and that time, keyed from the
instance actor's private key like api/oauth/forms.py (a bot must fetch the page first; a form older than
an hour is refused), and a POST whose ``Origin`` (or ``Sec-Fetch-Site``) says it came from another site is
refused (OWASP CSRF cheat sheet, "Verifying origin with standard headers")."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import urlsplit

from quart import Blueprint, Response, current_app, render_template, request

from cara_fed.api.oauth.forms import FORM_MAX_AGE
from cara_fed.api.params import params
from cara_fed.errors import Forbidden, ValidationFailed
from cara_fed.services import instance, invites, registrations
from cara_fed.services.registrations import FieldError, SignUpForm, SignUpInvalid
from cara_fed.web.state import app_state

bp = Blueprint("web_registrations", __name__)

# As the authorize page: never framed, no script, nothing cached, and no Referer (an /invite/CODE page
# would otherwise send its code to any site it links to).
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; "
                               "base-uri 'none'; form-action 'self'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_CLOCK_SKEW = 60
# Caps before the service sees a value (it reports over-long values per field; these keep absurd input cheap).
_LIMITS = {"username": 64, "email": 400, "password": 2048, "password_confirmation": 2048, "reason": 4000,
           "invite_code": 128}


# -- the anti-forgery token -------------------------------------------------------------------------------


async def _key() -> bytes:
    actor = await instance.instance_actor()
    if actor is None or not actor.private_key_pem:
        raise RuntimeError("the instance actor has no private key yet")
    return hmac.new(actor.private_key_pem.encode(), b"cara_fed web forms v1", hashlib.sha256).digest()


def _mac(key: bytes, purpose: str, issued: int) -> str:
    digest = hmac.new(key, f"{purpose}\n{issued}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def form_token(purpose: str) -> str:
    now = int(time.time())
    return f"{now}.{_mac(await _key(), purpose, now)}"


async def token_ok(purpose: str, token: str | None) -> bool:
    if not token or len(token) > 128:
        return False
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued, now = int(issued_text), int(time.time())
    if not now - FORM_MAX_AGE <= issued <= now + _CLOCK_SKEW:
        return False
    return hmac.compare_digest(mac.encode(), _mac(await _key(), purpose, issued).encode())


def _same_origin() -> bool:
    """False when the browser says the POST came from another site. The Origin's host must be this
    server's (its configured domain, or the Host the browser addressed, which a page on another site
    cannot choose); no Origin at all (older browsers, non-browser clients) passes on the token alone."""
    if request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site":
        return False
    origin = request.headers.get("Origin")
    if origin is None:
        return True
    host = urlsplit(origin).netloc.lower()
    ours = {urlsplit(app_state(current_app).settings.base_url).netloc.lower(), request.host.lower()}
    return bool(host) and host in ours


# -- pages ------------------------------------------------------------------------------------------------


async def _page(template: str, status: int = 200, **context: Any) -> Response:
    settings = app_state(current_app).settings
    html = await render_template(f"auth/{template}", instance=settings.instance, **context)
    return Response(html, status=status, content_type="text/html; charset=utf-8", headers=_PAGE_HEADERS)


async def _sign_up_form(*, status: int = 200, values: dict[str, str] | None = None,
                        errors: dict[str, list[FieldError]] | None = None,
                        notice: str | None = None) -> Response:
    settings = app_state(current_app).settings
    info = await registrations.registration_info(settings)
    if info.mode == "closed":
        return await _page("closed.html", status=403 if request.method == "POST" else 200,
                           message=registrations.CLOSED_MESSAGE)
    values = values or {}
    return await _page("sign_up.html", status, mode=info.mode, values=values, errors=errors or {},
                       notice=notice, token=await form_token("sign_up"),
                       show_invite=info.mode == "invite" or bool(values.get("invite_code")),
                       domain=settings.instance.domain)


@bp.get("/auth/sign_up")
async def sign_up_page() -> Response:
    code = request.args.get("invite_code", "")[:_LIMITS["invite_code"]]
    return await _sign_up_form(values={"invite_code": code} if code else {})


@bp.get("/invite/<code>")
async def invite_page(code: str) -> Response:
    """An invite link (Mastodon's ``/invite/CODE``): the sign-up form with the code filled in."""
    code = code[:_LIMITS["invite_code"]]
    notice = None
    if await invites.find_valid_invite(code) is None:
        notice = "This invite link cannot be used any more: it has expired, been used up or been withdrawn."
        code = ""
    return await _sign_up_form(values={"invite_code": code} if code else {}, notice=notice)


def _text(p: Any, name: str) -> str:
    """A form field as text, cut at its cap (past the service's own limit, so it is still reported as too
    long); a field sent twice or as something else than text counts as empty."""
    try:
        return (p.str(name) or "")[:_LIMITS[name]]
    except ValidationFailed:
        return ""


@bp.post("/auth/sign_up")
async def sign_up_submit() -> Response:
    p = await params()
    if not _same_origin() or not await token_ok("sign_up", p.str("authenticity_token")):
        return await _page("error.html", 403, message="This form has expired or did not come from this "
                           "server. Open the sign-up page again.")
    values = {name: _text(p, name) for name in ("username", "email", "reason", "invite_code")}
    password = _text(p, "password")
    form = SignUpForm(username=values["username"], email=values["email"], password=password,
                      agreement=bool(p.bool("agreement")), locale=request.accept_languages.best or "en",
                      reason=values["reason"], invite_code=values["invite_code"])
    form = _with_supported_locale(form)
    settings = app_state(current_app).settings
    try:
        if password != _text(p, "password_confirmation"):
            await registrations.check_sign_up(settings, form, extra={"password_confirmation": [
                FieldError("ERR_CONFIRMATION", "does not match the password")]})
        result = await registrations.sign_up(settings, form)
    except SignUpInvalid as exc:
        return await _sign_up_form(status=422, values=values, errors=exc.details)
    except Forbidden:
        return await _sign_up_form()
    return await _page("signed_up.html", username=result.account.username, approved=result.approved,
                       domain=settings.instance.domain)


def _with_supported_locale(form: SignUpForm) -> SignUpForm:
    """The browser's first language if it looks like a language tag, else English (never an error here)."""
    locale = (form.locale or "en").replace("_", "-")
    if not registrations.LOCALE_RE.fullmatch(locale) or len(locale) > 16:
        locale = "en"
    return SignUpForm(username=form.username, email=form.email, password=form.password,
                      agreement=form.agreement, locale=locale, reason=form.reason,
                      invite_code=form.invite_code)
