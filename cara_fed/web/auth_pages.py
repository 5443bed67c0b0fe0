"""``/auth/sign_in``, ``/auth/sign_out`` and ``/auth/password`` (also ``/auth/change_password``): signing
in to the web pages with the same accounts as the apps (email or username and password,
services/sign_in.py), a session cookie (web/sessions.py), and the password change (forced when a
moderator asked for one: services/sign_in.PASSWORD_CHANGE_REQUIRED).

Sign-in is rate-limited per address and per account (services/login_limits.py), refuses suspended, not
yet approved and disabled ("frozen" by a moderator) accounts with a message that says so (only after
the right password: the answer must not tell strangers which accounts exist), and starts a new session each
time (no session fixation)."""

from __future__ import annotations

from quart import Blueprint, Response, request

from cara_fed.models import User
from cara_fed.services import login_limits, sign_in, web_sessions
from cara_fed.services.tokens import DISABLED
from cara_fed.web.sessions import (
    ANONYMOUS_COOKIE, CHANGE_PASSWORD_PATH, HOME_PATH, SESSION_COOKIE, CsrfRefused, check_csrf, client_address,
    current_web_user, delete_cookie, forget_current_user, render_page, safe_next, see_other, session_secret,
    set_cookie, signed_in,
)

bp = Blueprint("auth_pages", __name__)

LOGIN_MAX = 320  # an email address at most
# The sign-in services' refusals (after the right password), as the sign-in page words them.
_BLOCKED = {
    "This account is suspended.": "This account is suspended: it cannot sign in.",
    "This account is waiting for approval.": "This account is waiting for approval by the moderators. You can "
                                             "sign in once it is approved.",
    DISABLED: "Your login is currently disabled: a moderator froze it. Your profile and posts stay "
                       "up, but you cannot sign in until the moderators lift it.",
}


async def _sign_in_form(status: int = 200, *, error: str | None = None, login: str = "",
                        next_path: str = "") -> Response:
    return await render_page("auth/sign_in.html", status, error=error, login=login, next_path=next_path)


@bp.get("/auth/sign_in")
async def sign_in_page() -> Response:
    next_path = safe_next(request.args.get("next"), "")
    if await current_web_user() is not None:
        return see_other(next_path or HOME_PATH)
    return await _sign_in_form(next_path=next_path)


async def _account_key(login: str) -> str:
    user = await sign_in.find_login(login)
    return f"user:{user.id}" if user is not None else f"login:{login.strip().lstrip('@').lower()}"


@bp.post("/auth/sign_in")
async def sign_in_submit() -> Response:
    form = await request.form
    login = (form.get("login") or "")[:LOGIN_MAX]
    password = form.get("password") or ""
    next_path = safe_next(form.get("next"), "")
    try:
        await check_csrf(anonymous_form=True)
    except CsrfRefused:
        return await _sign_in_form(403, error="This form has expired. Please sign in again.", login=login,
                                   next_path=next_path)
    verdict = await login_limits.login_attempt(client_address(), await _account_key(login))
    if not verdict.allowed:
        response = await _sign_in_form(429, error="Too many sign-in attempts. Please wait "
                                       f"{_minutes(verdict.retry_after)} and try again.", login=login,
                                       next_path=next_path)
        response.headers["Retry-After"] = str(verdict.retry_after)
        return response
    try:
        user = await sign_in.sign_in(login, password)
    except sign_in.LoginFailed as exc:
        return await _sign_in_form(422, error=exc.message, login=login, next_path=next_path)
    except sign_in.LoginBlocked as exc:
        # The password was right, but a new one must be chosen: a session for the change form only.
        if exc.message == sign_in.PASSWORD_CHANGE_REQUIRED:
            found = await sign_in.find_login(login)
            if found is not None:
                return await _signed_in_response(found, CHANGE_PASSWORD_PATH)
        message = _BLOCKED.get(exc.message, exc.message)
        return await _sign_in_form(403, error=message, login=login, next_path=next_path)
    return await _signed_in_response(user, next_path or HOME_PATH)


async def _signed_in_response(user: User, target: str) -> Response:
    """A new session (any session the browser had before is over: no session fixation) and on to
    ``target``; a user whose password must be changed first only gets the change form
    (web/sessions.signed_in sends every other page there)."""
    await web_sessions.end_session(session_secret())
    secret = await web_sessions.start_session(user)
    forget_current_user()
    response = see_other(CHANGE_PASSWORD_PATH if user.must_change_password else target)
    set_cookie(response, SESSION_COOKIE, secret, max_age=int(web_sessions.SESSION_LIFETIME.total_seconds()))
    delete_cookie(response, ANONYMOUS_COOKIE)
    return response


def _minutes(seconds: int) -> str:
    minutes = max(1, -(-seconds // 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@bp.post("/auth/sign_out")
@signed_in(allow_password_change=True)
async def sign_out() -> Response:
    await web_sessions.end_session(session_secret())
    forget_current_user()
    response = see_other("/")
    delete_cookie(response, SESSION_COOKIE)
    return response


@bp.get("/auth/password")
@bp.get("/auth/change_password")
@signed_in(allow_password_change=True)
async def change_password_page() -> Response:
    session = await current_web_user()
    assert session is not None
    return await render_page("auth/change_password.html", errors={}, forced=session.must_change_password,
                             done=request.args.get("done") == "1")


@bp.post("/auth/password")
@bp.post("/auth/change_password")
@signed_in(allow_password_change=True)
async def change_password_submit() -> Response:
    session = await current_web_user()
    assert session is not None
    form = await request.form
    errors = await web_sessions.change_password(session, form.get("current_password") or "",
                                                form.get("password") or "",
                                                form.get("password_confirmation") or "")
    if errors:
        return await render_page("auth/change_password.html", 422, errors=errors,
                                 forced=session.must_change_password, done=False)
    return see_other(f"{CHANGE_PASSWORD_PATH}?done=1")
