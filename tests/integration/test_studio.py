"""The web studio over real HTTP (issue 6 point 6): signing in and out, the session cookie, and the
studio's forms (uploading, editing, deleting and ordering works, the profile)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image

from cara_fed.models import Account, OAuthToken, User
from cara_fed.settings import Settings
from cara_fed.services import web_sessions
from tests.support.api import make_user
from tests.support.servers import RunningServer
from tests.support.studio import SESSION_COOKIE, WebClient


@pytest.fixture
async def web(server: RunningServer, http: aiohttp.ClientSession) -> AsyncIterator[WebClient]:
    yield WebClient(http, server)


async def test_sign_in_sets_a_session_cookie_and_opens_the_studio(web: WebClient, database: None) -> None:
    await make_user("ada")
    answer = await web.sign_in("ada")
    assert answer.status == 303, answer.text
    assert answer.location == "/studio"
    cookie = next(jar[SESSION_COOKIE] for jar in answer.set_cookies if SESSION_COOKIE in jar)
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["domain"]
    assert int(cookie["max-age"]) == int(web_sessions.SESSION_LIFETIME.total_seconds())
    # Stored as a token of the built-in web app, only its digest.
    row = await OAuthToken.get(token_digest=web_sessions.digest(web.session or "")).prefetch_related("app")
    assert row.app.client_id == web_sessions.WEB_CLIENT_ID and row.scopes == "read write follow"
    assert await OAuthToken.filter(token_digest=web.session).count() == 0
    page = await web.get("/auth/password")
    assert page.status == 200 and "Sign out" in page.text and "@ada" in page.text


async def test_sign_in_by_email_and_sign_out(web: WebClient, database: None) -> None:
    await make_user("bea")
    answer = await web.sign_in("BEA@example.org")
    assert answer.status == 303 and web.session
    secret = web.session
    token = await web.token_for("/auth/password")
    out = await web.post("/auth/sign_out", {"csrf_token": token})
    assert out.status == 303 and out.location == "/"
    assert web.session is None
    row = await OAuthToken.get(token_digest=web_sessions.digest(secret))
    assert row.revoked_at is not None
    # The old cookie no longer works.
    web.cookies["__Host-cara_session"] = secret
    again = await web.get("/auth/password")
    assert again.status == 303 and again.location.startswith("/auth/sign_in?next=")


async def test_wrong_password_and_unknown_login(web: WebClient, database: None) -> None:
    await make_user("cy")
    wrong = await web.sign_in("cy", "not the password")
    assert wrong.status == 422 and "Invalid email, username or password." in wrong.text
    unknown = await web.sign_in("nobody", "not the password")
    assert unknown.status == 422 and "Invalid email, username or password." in unknown.text
    assert web.session is None
    assert await OAuthToken.all().count() == 1  # make_user's own token only


async def test_pending_and_suspended_users_are_refused(web: WebClient, database: None) -> None:
    pending = await make_user("dee")
    await User.filter(id=pending.user.id).update(approved=False)
    answer = await web.sign_in("dee")
    assert answer.status == 403 and "waiting for approval" in answer.text and web.session is None
    suspended = await make_user("eve")
    from datetime import UTC, datetime
    from cara_fed.models import Account
    await Account.filter(id=suspended.account.id).update(suspended_at=datetime.now(UTC))
    answer = await web.sign_in("eve")
    assert answer.status == 403 and "suspended" in answer.text and web.session is None
    # A wrong password says nothing about the account's state.
    answer = await web.sign_in("eve", "wrong password!")
    assert answer.status == 422 and "suspended" not in answer.text


async def test_next_goes_back_only_to_this_server(web: WebClient, database: None) -> None:
    await make_user("fay")
    page = await web.get("/auth/password")
    assert page.status == 303 and page.location == "/auth/sign_in?next=/auth/password"
    token = await web.token_for("/auth/sign_in?next=/auth/password")
    answer = await web.post("/auth/sign_in", {"login": "fay", "password": "correct horse battery",
                                               "next": "//evil.example/x", "csrf_token": token})
    assert answer.location == "/studio"


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def media_files(settings: Settings) -> set[str]:
    root = Path(settings.media.root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def profile_form(**overrides: Any) -> aiohttp.FormData:
    values: dict[str, Any] = {"display_name": "Ada L.", "note": "Paints #gouache", "field_name_0": "Shop",
                              "field_value_0": "https://shop.example", "commissions": "open", "locked": "1",
                              "indexable": "1", "pixels_untouched": "1"}
    values.update(overrides)
    form = aiohttp.FormData()
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            form.add_field(name, value, filename=f"{name}.png", content_type="image/png")
        else:
            form.add_field(name, value)
    return form


async def test_profile_edit(web: WebClient, database: None, settings: Settings) -> None:
    artist = await make_user("gil")
    await web.sign_in("gil")
    page = await web.get("/studio/profile")
    assert page.status == 200 and 'name="display_name"' in page.text
    saved = await web.submit("/studio/profile", "/studio/profile", profile_form(avatar=png()))
    assert saved.status == 303 and saved.location == "/studio/profile?saved=1", saved.text
    account = await Account.get(id=artist.account.id)
    user = await User.get(id=artist.user.id)
    assert account.display_name == "Ada L." and "gouache" in account.note and account.locked and account.indexable
    assert account.profile_fields[0]["name"] == "Shop"
    assert user.commissions == "open" and user.pixels_untouched
    assert account.avatar_path and account.avatar_path in media_files(settings)
    # Unticked boxes are off again; a new avatar replaces the old file.
    old_avatar = account.avatar_path
    saved = await web.submit("/studio/profile", "/studio/profile",
                             profile_form(locked=None, indexable=None, pixels_untouched=None, commissions="waitlist",
                                          avatar=png(colour=(1, 2, 3))))
    assert saved.status == 303
    account = await Account.get(id=artist.account.id)
    user = await User.get(id=artist.user.id)
    assert not account.locked and not account.indexable and not user.pixels_untouched
    assert user.commissions == "waitlist"
    assert account.avatar_path != old_avatar and old_avatar not in media_files(settings)


async def test_profile_errors_are_shown_beside_their_fields_and_nothing_is_kept(
        web: WebClient, database: None, settings: Settings) -> None:
    artist = await make_user("hal")
    await web.sign_in("hal")
    files_before = media_files(settings)
    refused = await web.submit("/studio/profile", "/studio/profile",
                               profile_form(display_name="x" * 31, commissions="sometimes", header=png()))
    assert refused.status == 422
    assert 'id="display_name-error"' in refused.text and 'aria-describedby="display_name-hint display_name-error"' in refused.text
    assert 'id="commissions-error"' in refused.text
    assert "x" * 31 in refused.text  # what was typed is kept in the form
    account = await Account.get(id=artist.account.id)
    assert account.display_name == "" and account.header_path is None
    assert media_files(settings) == files_before
    # A broken image is refused beside its field; the other one processed with it is not kept.
    refused = await web.submit("/studio/profile", "/studio/profile",
                               profile_form(avatar=png(), header=b"not an image at all"))
    assert refused.status == 422 and 'id="header-error"' in refused.text
    account = await Account.get(id=artist.account.id)
    assert account.avatar_path is None and account.header_path is None and account.display_name == ""
    assert media_files(settings) == files_before
