"""Attacks on sign-up (issue 7 point 1; security.md F-42/F-43 for the token rules): who may call
``POST /api/v1/accounts``, parameters that try to grant more than a sign-up gives (role, approval), races
for an invite's last use and for one username, oversized and wrongly typed input, look-alike and reserved
names, pending accounts trying to act, forged sign-up forms. Every refusal is checked to store nothing."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest

from cara_fed.models import Account, Invite, OAuthToken, Status, User
from cara_fed.services import invites
from tests.support.api import make_user
from tests.support.oauth_flow import OAuthClient
from tests.support.servers import RunningServer
from tests.support.signups import PASSWORD, api_sign_up, app_token, counts, open_page, set_mode, submit_form

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def oauth(server: RunningServer, http: aiohttp.ClientSession) -> OAuthClient:
    return OAuthClient(http, server.url)


# -- who may sign people up ---------------------------------------------------------------------------------


async def test_no_token_is_401_and_stores_nothing(oauth: OAuthClient) -> None:
    await set_mode("open")
    before = await counts()
    got = await api_sign_up(oauth, None)
    assert got.status == 401 and got.body == {"error": "The access token is invalid"}
    got = await api_sign_up(oauth, "made-up-token")
    assert got.status == 401
    assert await counts() == before


async def test_a_token_without_the_write_scope_is_403(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth, scopes="read write", token_scope="read")
    before = await counts()
    got = await api_sign_up(oauth, token)
    assert got.status == 403 and got.body == {"error": "This action is outside the authorized scopes"}
    assert await counts() == before


async def test_a_revoked_app_token_is_401(oauth: OAuthClient) -> None:
    await set_mode("open")
    app, token = await app_token(oauth)
    assert (await oauth.revoke(app, token)).status == 200
    before = await counts()
    assert (await api_sign_up(oauth, token)).status == 401
    assert await counts() == before


async def test_a_token_of_no_application_cannot_sign_people_up(oauth: OAuthClient) -> None:
    await set_mode("open")
    someone = await make_user("someone", scopes="read write")  # a token with no app behind it
    before = await counts()
    got = await api_sign_up(oauth, someone.token)
    assert got.status == 403 and got.body == {"error": "This method requires an application token"}
    assert await counts() == before


# -- asking for more than a sign-up gives ------------------------------------------------------------


async def test_role_and_approval_parameters_are_ignored(oauth: OAuthClient) -> None:
    await set_mode("approval")
    _, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, reason="hi", role="admin", approved=True, confirmed_at="2020-01-01",
                            must_change_password=False, user={"role": "admin"}, account={"locked": True})
    assert got.status == 200, got.body
    user = await User.get(account__username="mira").select_related("account")
    assert user.role == "user" and user.approved is False and user.account.locked is False
    assert (await oauth.whoami(got.body["access_token"])).status == 403  # pending approval


async def test_a_pending_accounts_token_can_do_nothing(oauth: OAuthClient) -> None:
    await set_mode("approval")
    app, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, reason="hi")
    pending = {"Authorization": f"Bearer {got.body['access_token']}"}
    stored_before = (await counts(), await Status.all().count(),
                     await Account.filter(display_name="x").count())
    for method, path, body in [("GET", "/api/v1/timelines/home", None),
                               ("POST", "/api/v1/statuses", {"status": "sneaking in"}),
                               ("PATCH", "/api/v1/accounts/update_credentials", {"display_name": "x"})]:
        answer = await oauth.request(method, path, headers=pending, json=body)
        assert answer.status == 403, (path, answer.body)
        assert answer.body == {"error": "Your login is currently pending approval"}
    assert (await counts(), await Status.all().count(),
            await Account.filter(display_name="x").count()) == stored_before == (stored_before[0], 0, 0)
    # Public endpoints read it as no token at all; an app-level one sees only the app.
    public = await oauth.request("GET", "/api/v1/timelines/public", headers=pending)
    assert public.status == 200 and public.body == []
    app_check = await oauth.request("GET", "/api/v1/apps/verify_credentials", headers=pending)
    assert app_check.status == 200 and app_check.body["name"]
    page = await oauth.open_authorize(oauth.query(app))
    before = await counts()
    refused = await oauth.submit(page.form(), "mira")
    assert refused.status == 403 and refused.location is None
    assert await counts() == before


async def test_closed_means_closed_even_with_a_valid_invite(oauth: OAuthClient) -> None:
    _, token = await app_token(oauth)  # mode: the settings' default, closed
    invite = await invites.create_invite(None, max_uses=5)
    before = await counts()
    got = await api_sign_up(oauth, token, invite_code=invite.code)
    assert got.status == 403
    assert await counts() == before and (await Invite.get(id=invite.id)).uses == 0


# -- races -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("max_uses", "tries"), [(1, 6), (3, 8)])
async def test_concurrent_sign_ups_never_use_an_invite_more_than_allowed(oauth: OAuthClient, max_uses: int,
                                                                         tries: int) -> None:
    await set_mode("invite")
    _, token = await app_token(oauth)
    invite = await invites.create_invite(None, max_uses=max_uses)
    before = await counts()
    answers = await asyncio.gather(*[
        api_sign_up(oauth, token, username=f"artist{n}", email=f"artist{n}@example.org",
                    invite_code=invite.code)
        for n in range(tries)])
    statuses = sorted(a.status for a in answers)
    assert statuses == [200] * max_uses + [422] * (tries - max_uses), [a.body for a in answers]
    for answer in answers:
        if answer.status == 422:
            assert list(answer.body["details"]) == ["invite_code"]
    assert (await Invite.get(id=invite.id)).uses == max_uses
    after = await counts()
    assert after["users"] - before["users"] == max_uses == await User.filter(invite_code=invite.code).count()
    assert after["accounts"] - before["accounts"] == max_uses


async def test_concurrent_sign_ups_for_one_name_make_one_account(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    answers = await asyncio.gather(*[
        api_sign_up(oauth, token, username="mira" if n % 2 else "MIRA", email=f"mira{n}@example.org")
        for n in range(6)])
    assert sorted(a.status for a in answers) == [200] + [422] * 5, [a.body for a in answers]
    for answer in answers:
        if answer.status == 422:
            assert answer.body["details"] == {"username": [{"error": "ERR_TAKEN",
                                                            "description": "has already been taken"}]}
    assert await User.filter(account__acct_key="mira@").count() == 1
    assert await OAuthToken.filter(user_id__isnull=False).count() == 1


# -- hostile input -------------------------------------------------------------------------------------


@pytest.mark.parametrize("fields", [
    {"username": "a" * 10_000},
    {"password": "p" * 1_000_000},
    {"reason": "r" * 1_000_000},
    {"email": "e" * 5_000 + "@example.org"},
    {"invite_code": "c" * 10_000},
    {"locale": "x" * 5_000},
    {"username": ["mira", "zoe"]},
    {"username": {"$ne": ""}},
    {"email": ["a@example.org"]},
    {"agreement": {"yes": True}},
    {"invite_code": "' OR 1=1 --"},
    {"username": "аdmin"},  # Cyrillic a: a look-alike of a reserved name
    {"username": "ad\u200bmin"},  # zero-width space
    {"username": "mira\u202egnp"},  # right-to-left override
    {"username": "../../etc/passwd"},
    {"username": "<script>alert(1)</script>"},
    {"email": "mira@example.org\r\nBcc: everyone@example.org"},
    {"email": "mira@localhost"},
])
async def test_hostile_input_is_refused_without_a_500(oauth: OAuthClient, fields: dict[str, Any]) -> None:
    await set_mode("invite" if "invite_code" in fields else "open")
    _, token = await app_token(oauth)
    before = await counts()
    got = await api_sign_up(oauth, token, **fields)
    assert got.status == 422, got.body
    assert isinstance(got.body["error"], str) and got.body["error"].startswith("Validation failed")
    assert await counts() == before


async def test_a_body_that_is_not_an_object_is_400(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    before = await counts()
    got = await oauth.request("POST", "/api/v1/accounts", data=b'["mira"]',
                              headers={"Authorization": f"Bearer {token}",
                                       "Content-Type": "application/json"})
    assert got.status == 400
    assert await counts() == before


# -- the web form --------------------------------------------------------------------------------------


async def test_a_sign_up_form_cannot_be_posted_without_its_page(http: aiohttp.ClientSession,
                                                                server: RunningServer) -> None:
    await set_mode("open")
    before = await counts()
    async with http.post(server.url + "/auth/sign_up", data={
            "username": "mira", "email": "mira@example.org", "password": PASSWORD,
            "password_confirmation": PASSWORD, "agreement": "1"}) as response:
        assert response.status == 403
    page = await open_page(http, server.url)
    token = page.form()["authenticity_token"]
    issued, _, mac = token.partition(".")
    forged = page.text.replace(token, f"{int(issued) + 30}.{mac}")  # a later time under the same MAC
    page.text = forged
    assert (await submit_form(http, server.url, page)).status == 403
    assert await counts() == before


async def test_the_form_never_reflects_markup(http: aiohttp.ClientSession, server: RunningServer) -> None:
    await set_mode("approval")
    page = await open_page(http, server.url)
    answer = await submit_form(http, server.url, page, username='"><script>alert(1)</script>',
                               email='x@example.org"><img src=x>', reason="<b>bold</b>")
    assert answer.status == 422
    assert "<script>alert(1)</script>" not in answer.text and "<img src=x>" not in answer.text
    assert "&lt;script&gt;" in answer.text and "&lt;b&gt;bold&lt;/b&gt;" in answer.text
    assert "script-src" not in answer.headers["Content-Security-Policy"]  # default-src 'none': no script runs
