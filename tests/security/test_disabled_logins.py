"""A login a moderator disabled (Mastodon's "freeze", users.disabled) over real HTTP: its tokens answer 403
"Your login is currently disabled" on user endpoints and write nothing, public endpoints read them as no
token, streams are refused and closed; it gets no new token (password grant, a code from before, the
authorize form) and no web session, and an existing web session stops working. Nothing is revoked: once
enabled, the same tokens and the same cookie work again. Every refusal is checked to store nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from cara_fed.models import (
    Account, Block, Favourite, Follow, OAuthCode, OAuthToken, Report, Series, Status, User,
)
from cara_fed.services import moderation_accounts as moderation
from tests.support.api import ApiUser, make_user
from tests.support.oauth_flow import App, OAuthClient, stored
from tests.support.servers import RunningServer
from tests.support.studio import WebClient

pytestmark = pytest.mark.usefixtures("database")

DISABLED = {"error": "Your login is currently disabled"}
WAIT = 20.0
SCOPES = "read write follow"


@pytest.fixture
def oauth(server: RunningServer, http: aiohttp.ClientSession) -> OAuthClient:
    return OAuthClient(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


@pytest.fixture
async def app(oauth: OAuthClient) -> App:
    return await oauth.register(name="Good app", scopes=SCOPES)


async def password_token(oauth: OAuthClient, app: App, login: str = "mira", password: str = "correct horse battery"
                         ) -> Any:
    return await oauth.token({"grant_type": "password", "username": login, "password": password,
                              "scope": SCOPES}, app=app)


async def writes() -> dict[str, int]:
    """What a refused request of mira's must leave as it was."""
    return {"statuses": await Status.all().count(), "follows": await Follow.all().count(),
            "favourites": await Favourite.all().count(), "blocks": await Block.all().count(),
            "reports": await Report.all().count(), "series": await Series.all().count(),
            "renamed": await Account.filter(display_name="Sneaky").count()}


async def test_a_disabled_logins_token_gets_403_everywhere_and_writes_nothing(
        oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    other = await make_user("olga")
    post = await Status.create(account=other.account, local=True, visibility="public", content="<p>hi</p>",
                               text="hi")
    issued = await password_token(oauth, app)
    assert issued.status == 200, issued.body
    token = {"Authorization": f"Bearer {issued.body['access_token']}"}
    result = await moderation.disable_login(None, mira.account.id)
    assert result.changed == {"disabled": True}
    before = await writes()
    tokens_before = await stored()
    attempts: list[tuple[str, str, Any]] = [
        ("GET", "/api/v1/accounts/verify_credentials", None), ("GET", "/api/v1/timelines/home", None),
        ("GET", "/api/v1/notifications", None), ("POST", "/api/v1/statuses", {"status": "sneaking in"}),
        ("POST", f"/api/v1/accounts/{other.account.id}/follow", {}),
        ("POST", f"/api/v1/accounts/{other.account.id}/block", {}),
        ("POST", f"/api/v1/statuses/{post.id}/favourite", {}),
        ("PATCH", "/api/v1/accounts/update_credentials", {"display_name": "Sneaky"}),
        ("POST", "/api/v1/reports", {"account_id": str(other.account.id), "comment": "x"})]
    for method, path, body in attempts:
        for headers, kw in ((token, {}), (mira.auth, {}), ({}, {"params": {"access_token": mira.token}})):
            answer = await oauth.request(method, path, headers=headers, json=body, **kw)
            assert answer.status == 403 and answer.body == DISABLED, (method, path, answer.status, answer.body)
    assert await writes() == before
    assert await stored() == tokens_before  # nothing revoked either
    # Public endpoints read the token as none; the account itself stays visible (a freeze hides nothing).
    public = await oauth.request("GET", "/api/v1/timelines/public", headers=token)
    assert public.status == 200 and [s["id"] for s in public.body] == [str(post.id)]
    profile = await oauth.request("GET", f"/api/v1/accounts/{mira.account.id}", headers=token)
    assert profile.status == 200 and profile.body["username"] == "mira"
    assert (await oauth.request("GET", "/api/v1/apps/verify_credentials", headers=token)).status == 200
    # Enabled again: the very same tokens work.
    await moderation.enable_login(None, mira.account.id)
    for headers in (token, mira.auth):
        assert (await oauth.whoami(headers["Authorization"][7:])).status == 200
    posted = await oauth.request("POST", "/api/v1/statuses", headers=token, json={"status": "back again"})
    assert posted.status == 200 and await Status.exists(account_id=mira.account.id, text="back again")


def ws_url(server: RunningServer, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/streaming?" + query


@pytest.fixture
def settings(settings: Any) -> Any:
    return settings.replace(api={"streaming_poll_seconds": 0.05})  # the stream's token check runs often


async def test_streams_are_refused_and_an_open_one_is_closed(http: aiohttp.ClientSession, server: RunningServer,
                                                             mira: ApiUser) -> None:
    async with http.ws_connect(ws_url(server, f"stream=user&access_token={mira.token}")) as ws:
        await moderation.disable_login(None, mira.account.id)
        message = await asyncio.wait_for(ws.receive(), WAIT)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
    with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
        async with http.ws_connect(ws_url(server, f"stream=user&access_token={mira.token}")):
            pass
    assert refused.value.status == 401
    await moderation.enable_login(None, mira.account.id)
    async with http.ws_connect(ws_url(server, f"stream=user&access_token={mira.token}")) as ws:
        assert not ws.closed


async def test_no_token_by_password_by_code_or_by_the_authorize_form(oauth: OAuthClient, app: App,
                                                                     mira: ApiUser) -> None:
    early_code = await oauth.code(app, "mira", scope=SCOPES)  # given before the freeze
    await moderation.disable_login(None, mira.account.id)
    await User.filter(id=mira.user.id).update(last_sign_in_at=None)
    before = await stored()
    right = await password_token(oauth, app)
    assert right.status == 400 and right.body == {"error": "invalid_grant",
                                                 "error_description": DISABLED["error"]}
    by_email = await password_token(oauth, app, login="mira@example.org")
    assert by_email.status == 400 and by_email.body["error_description"] == DISABLED["error"]
    # The wrong password says nothing about the freeze (no telling strangers which logins are frozen).
    wrong = await password_token(oauth, app, password="not the password")
    assert wrong.status == 400 and wrong.body["error_description"] == "Invalid email, username or password."
    exchanged = await oauth.exchange(app, early_code)
    assert exchanged.status == 400 and exchanged.body["error_description"] == DISABLED["error"]
    page = await oauth.open_authorize(oauth.query(app, scope=SCOPES))
    assert page.status == 200
    refused = await oauth.submit(page.form(), "mira")
    assert refused.status == 403 and refused.location is None and DISABLED["error"] in refused.text
    wrong_form = await oauth.submit(page.form(), "mira", password="nope nope nope")
    assert wrong_form.status == 401 and "disabled" not in wrong_form.text
    assert await stored() == before  # no code, no token, nothing revoked
    user = await User.get(id=mira.user.id)
    assert user.last_sign_in_at is None  # a refused sign-in is not a sign-in
    assert await OAuthCode.filter(used_at=None).count() == 1  # the early code, untouched
    # Enabled: each way works again, the early code too (it has not expired).
    await moderation.enable_login(None, mira.account.id)
    assert (await password_token(oauth, app)).status == 200
    assert (await oauth.exchange(app, early_code)).status == 200
    assert (await oauth.authorize(app, "mira", scope=SCOPES)).status == 302


async def test_a_suspended_and_disabled_login_is_told_it_is_suspended(oauth: OAuthClient, app: App,
                                                                      mira: ApiUser) -> None:
    await moderation.disable_login(None, mira.account.id)
    await moderation.suspend_account(None, mira.account.id)
    before = await stored()
    answer = await password_token(oauth, app)
    assert answer.status == 400 and answer.body["error_description"] == "This account is suspended."
    assert await stored() == before


async def test_no_web_sign_in_and_an_open_session_stops_working(http: aiohttp.ClientSession,
                                                                server: RunningServer, mira: ApiUser) -> None:
    browser = WebClient(http, server)
    assert (await browser.sign_in("mira")).status == 303 and browser.session
    assert (await browser.get("/studio")).status == 200
    csrf = await browser.token_for("/studio/order")
    await moderation.disable_login(None, mira.account.id)
    await User.filter(id=mira.user.id).update(last_sign_in_at=None)
    before = (await stored(), await writes())
    # The open session: every page sends it to the sign-in page, every form is refused.
    page = await browser.get("/studio")
    assert page.status == 303 and (page.location or "").startswith("/auth/sign_in")
    posted = await browser.post("/studio/series", {"name": "Forged", "csrf_token": csrf})
    assert posted.status == 401 and not await Series.exists(name="Forged")
    # A new sign-in is refused with the reason, and starts no session.
    fresh = WebClient(http, server)
    refused = await fresh.sign_in("mira")
    assert refused.status == 403 and "Your login is currently disabled" in refused.text
    assert fresh.session is None
    wrong = await fresh.sign_in("mira", "not the password")
    assert wrong.status == 422 and "disabled" not in wrong.text
    # A forced password change does not open a way in either.
    await User.filter(id=mira.user.id).update(must_change_password=True)
    forced = await fresh.sign_in("mira")
    assert forced.status == 403 and "Your login is currently disabled" in forced.text and fresh.session is None
    await User.filter(id=mira.user.id).update(must_change_password=False)
    assert (await stored(), await writes()) == before
    assert (await User.get(id=mira.user.id)).last_sign_in_at is None
    # Enabled: the same cookie works again (it was never revoked), and signing in works.
    await moderation.enable_login(None, mira.account.id)
    assert (await browser.get("/studio")).status == 200
    assert (await fresh.sign_in("mira")).status == 303 and fresh.session
    assert await OAuthToken.filter(user_id=mira.user.id, revoked_at=None).count() == 3  # api, old and new web
