"""Attacks on the web studio and its sign-in (issue 6 point 6): forged and cross-site forms, other
artists' works, stolen or stale session cookies, password guessing. Every refusal is checked to have
stored nothing."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from PIL import Image

from cara_fed.models import Account, MediaAttachment, OAuthToken, Series, Status, User, Work
from cara_fed.services import accounts, login_limits, portfolio, web_sessions
from cara_fed.services.moderation_accounts import force_password_reset
from tests.support.api import make_user
from tests.support.servers import RunningServer
from tests.support.studio import SESSION_COOKIE, WebClient


@pytest.fixture
async def web(server: RunningServer, http: aiohttp.ClientSession) -> AsyncIterator[WebClient]:
    yield WebClient(http, server)


@pytest.fixture
async def other(server: RunningServer, http: aiohttp.ClientSession) -> AsyncIterator[WebClient]:
    """A second browser."""
    yield WebClient(http, server)


def png(colour: tuple[int, int, int] = (90, 20, 200)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), colour).save(out, "PNG")
    return out.getvalue()


def work_form(token: str | None, title: str = "Forged") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("files[]", png(), filename="a.png", content_type="image/png")
    form.add_field("alt[]", "an image")
    for name, value in {"title": title, "licence": "all-rights-reserved"}.items():
        form.add_field(name, value)
    if token is not None:
        form.add_field("csrf_token", token)
    return form


async def snapshot() -> dict[str, Any]:
    return {"works": await Work.all().count(), "statuses": await Status.all().count(),
            "media": await MediaAttachment.all().count(), "series": await Series.all().count(),
            "accounts": [(a.display_name, a.locked, a.indexable) for a in await Account.all().order_by("id")],
            "tokens": await OAuthToken.filter(revoked_at=None).count()}


async def signed_in(web: WebClient, name: str) -> Any:
    artist = await make_user(name)
    answer = await web.sign_in(name)
    assert answer.status == 303 and web.session
    return artist


# -- forged forms -------------------------------------------------------------------------------------------


async def test_forms_without_or_with_a_wrong_token_store_nothing(web: WebClient, other: WebClient,
                                                                 database: None) -> None:
    await signed_in(web, "ana")
    await signed_in(other, "ben")
    before = await snapshot()
    forged = [
        ("/studio/works/new", lambda token: work_form(token)),
        ("/studio/profile", lambda token: {"display_name": "pwned", "commissions": "open", "indexable": "1",
                                           **({"csrf_token": token} if token is not None else {})}),
        ("/studio/series", lambda token: {"name": "Forged", **({"csrf_token": token} if token else {})}),
        ("/auth/password", lambda token: {"current_password": "correct horse battery", "password": "x" * 12,
                                          "password_confirmation": "x" * 12,
                                          **({"csrf_token": token} if token else {})}),
        ("/auth/sign_out", lambda token: {"csrf_token": token} if token else {}),
    ]
    other_token = await other.token_for("/studio/profile")  # a real token, of another session
    for path, make in forged:
        for token in (None, "", "0" * 64, other_token, other_token.upper()):
            answer = await web.post(path, make(token))
            assert answer.status == 403, (path, token, answer.status)
            assert "did not come from this site" in answer.text
    assert await snapshot() == before
    assert (await web.get("/studio")).status == 200  # still signed in: the forged sign-out did nothing


async def test_a_cross_site_origin_is_refused_even_with_the_right_token(web: WebClient,
                                                                        database: None) -> None:
    await signed_in(web, "cam")
    before = await snapshot()
    token = await web.token_for("/studio/profile")
    answer = await web.post("/studio/profile",
                            {"display_name": "pwned", "commissions": "open", "csrf_token": token},
                            headers={"Origin": "https://evil.example"})
    assert answer.status == 403
    answer = await web.post("/studio/works/new", work_form(token), headers={"Origin": "null"})
    assert answer.status == 403
    assert await snapshot() == before
    # The instance's own origin passes.
    answer = await web.post("/studio/profile",
                            {"display_name": "fine", "commissions": "open", "csrf_token": token},
                            headers={"Origin": "https://art.example"})
    assert answer.status == 303


async def test_sign_in_form_needs_its_token(web: WebClient, database: None) -> None:
    await make_user("dan")
    tokens = await OAuthToken.all().count()
    answer = await web.post("/auth/sign_in", {"login": "dan", "password": "correct horse battery"})
    assert answer.status == 403 and web.session is None
    answer = await web.post("/auth/sign_in", {"login": "dan", "password": "correct horse battery",
                                               "csrf_token": "f" * 64})
    assert answer.status == 403 and web.session is None
    # A token made for another browser's cookie does not fit this one (login CSRF).
    page_token = await web.token_for("/auth/sign_in")
    web.cookies["__Host-cara_csrf"] = "planted-by-the-attacker"
    answer = await web.post("/auth/sign_in", {"login": "dan", "password": "correct horse battery",
                                               "csrf_token": page_token})
    assert answer.status == 403 and web.session is None
    assert await OAuthToken.all().count() == tokens


# -- other artists' things -------------------------------------------------------------------------------


async def test_another_artists_work_and_series_cannot_be_touched(web: WebClient, other: WebClient,
                                                                 database: None, settings: Any) -> None:
    owner = await signed_in(web, "eli")
    token = await web.token_for("/studio/works/new")
    answer = await web.post("/studio/works/new", work_form(token, "Mine"))
    assert answer.status == 303, answer.text
    work = await Work.get(account_id=owner.account.id)
    await portfolio.create_series(settings, await Account.get(id=owner.account.id), "Owner's series")
    series = await Series.get(account_id=owner.account.id)
    await signed_in(other, "fox")
    before = await snapshot()
    token = await other.token_for("/studio/profile")
    pages = (f"/studio/works/{work.id}", f"/studio/works/{work.id}/delete", f"/studio/series/{series.id}")
    for path in pages:
        assert (await other.get(path)).status == 404, path
    attempts = [
        (f"/studio/works/{work.id}",
         {"title": "Stolen", "licence": "all-rights-reserved", "csrf_token": token}),
        (f"/studio/works/{work.id}/delete", {"keep_post": "0", "csrf_token": token}),
        (f"/studio/series/{series.id}", {"name": "Stolen", "csrf_token": token}),
        (f"/studio/series/{series.id}/order", {"csrf_token": token}),
        (f"/studio/series/{series.id}/delete", {"csrf_token": token}),
        ("/studio/works/not-a-number", {"csrf_token": token}),
    ]
    for path, data in attempts:
        answer = await other.post(path, data)
        assert answer.status == 404, (path, answer.status)
    # The other artist's order form cannot move this work either (unknown ids are ignored or refused).
    answer = await other.post("/studio/order", {f"position_{work.id}": "1", "move": f"{work.id}:down",
                                                "csrf_token": token})
    assert answer.status in (303, 404)
    assert await snapshot() == before
    assert (await Work.get(id=work.id)).title == "Mine"


# -- sessions --------------------------------------------------------------------------------------------


async def test_suspending_an_account_ends_its_web_session_at_once(web: WebClient, database: None) -> None:
    await signed_in(web, "gus")
    token = await web.token_for("/studio/profile")
    await accounts.suspend("gus")
    page = await web.get("/studio")
    assert page.status == 303 and page.location is not None and page.location.startswith("/auth/sign_in")
    answer = await web.post("/studio/profile", {"display_name": "still here", "commissions": "open",
                                                "csrf_token": token})
    assert answer.status == 401
    assert (await Account.get(username="gus")).display_name == ""


async def test_an_unapproved_or_password_reset_account_loses_its_session(web: WebClient, other: WebClient,
                                                                        database: None) -> None:
    first = await signed_in(web, "hana")
    await User.filter(id=first.user.id).update(approved=False)
    assert (await web.get("/studio")).status == 303
    second = await signed_in(other, "ivo")
    await force_password_reset(None, second.account.id)
    assert (await other.get("/studio")).status == 303
    # Signing in again leads only to the password form; other pages send back there.
    answer = await other.sign_in("ivo")
    assert answer.status == 303 and answer.location == "/auth/password"
    page = await other.get("/studio")
    assert page.status == 303 and page.location == "/auth/password"
    token = await other.token_for("/auth/password")
    answer = await other.post("/auth/password", {"current_password": "correct horse battery",
                                                 "password": "a much better one", "password_confirmation":
                                                 "a much better one", "csrf_token": token})
    assert answer.status == 303
    assert (await other.get("/studio")).status == 200
    assert not (await User.get(id=second.user.id)).must_change_password


async def test_api_tokens_and_expired_sessions_are_not_sessions(web: WebClient, database: None) -> None:
    artist = await make_user("jay")
    web.cookies[SESSION_COOKIE] = artist.token  # an API token (another app's) in the cookie
    assert (await web.get("/studio")).status == 303
    await web.sign_in("jay")
    row = await OAuthToken.get(token_digest=web_sessions.digest(web.session or ""))
    await OAuthToken.filter(id=row.id).update(created_at=datetime.now(UTC) - web_sessions.SESSION_LIFETIME
                                              - timedelta(minutes=1))
    assert (await web.get("/studio")).status == 303
    assert (await OAuthToken.get(id=row.id)).revoked_at is not None


async def test_signing_in_replaces_the_session_the_browser_had(web: WebClient, database: None) -> None:
    await signed_in(web, "kim")
    first = web.session
    await make_user("lea")
    # A sign-in form opened before (in another tab), sent while the browser holds kim's session.
    del web.cookies[SESSION_COOKIE]
    token = await web.token_for("/auth/sign_in")
    web.cookies[SESSION_COOKIE] = first or ""
    answer = await web.post("/auth/sign_in", {"login": "lea", "password": "correct horse battery",
                                               "csrf_token": token})
    assert answer.status == 303 and web.session and web.session != first
    assert (await OAuthToken.get(token_digest=web_sessions.digest(first or ""))).revoked_at is not None


async def test_sign_in_is_rate_limited_per_account(web: WebClient, database: None) -> None:
    await make_user("max")
    attempts, _ = login_limits.PER_ACCOUNT
    for _ in range(attempts):
        answer = await web.sign_in("max", "wrong password")
        assert answer.status == 422
    answer = await web.sign_in("max")  # even the right password, until the window ends
    assert answer.status == 429 and int(answer.headers["Retry-After"]) > 0 and web.session is None
    assert "Too many sign-in attempts" in answer.text
    # By email too: the same account.
    answer = await web.sign_in("max@example.org")
    assert answer.status == 429
