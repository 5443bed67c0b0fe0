"""Signing up through the Mastodon API (issue 7 point 1): ``POST /api/v1/accounts`` with an app token in each
registration mode, Mastodon's 422 ``details``, pending accounts that cannot sign in until approved, invites,
and what the instance endpoints tell clients about the mode. Over real HTTP on loopback, both databases."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from cara_fed.models import Account, Invite, OAuthApp, OAuthToken, User
from cara_fed.services import invites, registrations, sign_up_approvals
from cara_fed.settings import Settings
from tests.support.api import Api
from tests.support.oauth_flow import OAuthClient
from tests.support.openapi import assert_entity
from tests.support.servers import RunningServer
from tests.support.signups import PASSWORD, api_sign_up, app_token, counts, set_mode

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # An Instance entity needs a valid contact email to pass the openapi.json check of tests/support/api.py.
    return settings.replace(instance={"contact_email": "admins@art.example"})


@pytest.fixture
def oauth(server: RunningServer, http: aiohttp.ClientSession) -> OAuthClient:
    return OAuthClient(http, server.url)


@pytest.fixture
def api(server: RunningServer, http: aiohttp.ClientSession) -> Api:
    return Api(http, server.url)


async def test_closed_registrations_answer_403_and_store_nothing(oauth: OAuthClient) -> None:
    _, token = await app_token(oauth)  # the settings fixture leaves registrations.mode at its default
    before = await counts()
    got = await api_sign_up(oauth, token)
    assert got.status == 403 and got.body == {"error": "Registrations are closed"}
    assert await counts() == before


async def test_open_registrations_answer_a_working_token_with_the_apps_scopes(oauth: OAuthClient) -> None:
    await set_mode("open")
    app, token = await app_token(oauth, scopes="read write follow push")
    got = await api_sign_up(oauth, token, username="Mira_Art", email="Mira@Example.org", locale="pt-BR")
    assert got.status == 200, got.body
    assert_entity("Token", got.body)
    assert got.body["token_type"] == "Bearer" and got.body["scope"] == "read write follow push"
    assert got.headers["Cache-Control"] == "no-store"
    me = await oauth.whoami(got.body["access_token"])
    assert me.status == 200 and me.body["username"] == "Mira_Art" and me.body["acct"] == "Mira_Art"
    user = await User.get(account__username="Mira_Art")
    assert user.email == "mira@example.org" and user.approved and user.role == "user"
    assert user.locale == "pt-BR"
    row = await OAuthToken.get(user_id=user.id)
    assert row.app_id == (await OAuthApp.get(client_id=app.client_id)).id  # the app that signed them up
    # The password works with the apps' usual sign-in too.
    login = await oauth.token({"grant_type": "password", "username": "mira@example.org", "password": PASSWORD,
                               "scope": "read"}, app=app)
    assert login.status == 200, login.body


async def test_form_encoded_sign_ups_work_too(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, as_json=False, agreement="1")
    assert got.status == 200, got.body


async def test_approval_mode_needs_a_reason_and_leaves_the_account_pending_until_approved(
        oauth: OAuthClient) -> None:
    await set_mode("approval")
    app, token = await app_token(oauth)
    before = await counts()
    missing = await api_sign_up(oauth, token)
    assert missing.status == 422
    assert missing.body["details"] == {"reason": [{"error": "ERR_BLANK", "description": "can't be blank"}]}
    assert await counts() == before

    got = await api_sign_up(oauth, token, reason="I paint birds and would like to share them here.")
    assert got.status == 200, got.body
    assert_entity("Token", got.body)
    pending_token = got.body["access_token"]
    user = await User.get(account__username="mira")
    assert not user.approved and user.sign_up_reason == "I paint birds and would like to share them here."
    # As Mastodon, the token exists but cannot be used before approval: 403 with the reason (a client shows
    # it; a 401 would make it drop the token).
    waiting = await oauth.whoami(pending_token)
    assert waiting.status == 403 and waiting.body == {"error": "Your login is currently pending approval"}
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 400 and login.body["error"] == "invalid_grant"
    assert "waiting for approval" in login.body["error_description"]
    page = await oauth.open_authorize(oauth.query(app))
    refused = await oauth.submit(page.form(), "mira")
    assert refused.status == 403 and "waiting for approval" in refused.text
    # The pending account is not public yet (Mastodon answers 404 for it).
    async with oauth.http.get(oauth.base_url + "/users/mira",
                              headers={"Accept": "application/activity+json"}) as actor:
        assert actor.status == 404

    assert [p.username for p in await sign_up_approvals.pending_sign_ups(None)] == ["mira"]
    approved = await sign_up_approvals.approve(None, user.account_id)
    assert approved.changed == {"approved": True} and approved.action == "approve"
    assert approved.by_account_id is None
    assert (await sign_up_approvals.approve(None, user.account_id)).noop  # already approved: nothing changes
    assert (await oauth.whoami(pending_token)).status == 200
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 200, login.body


async def test_rejecting_a_pending_sign_up_deletes_it_and_frees_the_name(oauth: OAuthClient) -> None:
    await set_mode("approval")
    _, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, reason="hello")
    user = await User.get(account__username="mira")
    gone = await sign_up_approvals.reject(None, user.account_id)
    assert gone.username == "mira" and gone.reason == "hello"
    assert not await Account.exists(username="mira") and not await User.exists(email="mira@example.org")
    assert (await oauth.whoami(got.body["access_token"])).status == 401
    again = await api_sign_up(oauth, token, reason="second try")
    assert again.status == 200, again.body


async def test_approved_accounts_cannot_be_rejected(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    await api_sign_up(oauth, token)
    user = await User.get(account__username="mira")
    with pytest.raises(registrations.ValidationFailed):
        await sign_up_approvals.reject(None, user.account_id)
    assert await User.exists(id=user.id)


async def test_invite_mode_needs_a_valid_code_and_counts_its_uses(oauth: OAuthClient) -> None:
    await set_mode("invite")
    _, token = await app_token(oauth)
    invite = await invites.create_invite(None, max_uses=2)
    before = await counts()
    none = await api_sign_up(oauth, token)
    assert none.status == 422 and none.body["details"]["invite_code"][0]["error"] == "ERR_BLANK"
    wrong = await api_sign_up(oauth, token, invite_code="not-a-code")
    assert wrong.status == 422 and wrong.body["details"]["invite_code"][0]["error"] == "ERR_INVALID"
    assert await counts() == before

    first = await api_sign_up(oauth, token, invite_code=invite.code)
    assert first.status == 200, first.body
    assert (await oauth.whoami(first.body["access_token"])).status == 200  # approved at once
    second = await api_sign_up(oauth, token, username="zoe", email="zoe@example.org", invite_code=invite.code)
    assert second.status == 200, second.body
    assert (await Invite.get(id=invite.id)).uses == 2
    assert (await User.get(account__username="zoe")).invite_code == invite.code
    before = await counts()
    third = await api_sign_up(oauth, token, username="max", email="max@example.org", invite_code=invite.code)
    assert third.status == 422 and third.body["details"]["invite_code"][0]["error"] == "ERR_INVALID"
    assert await counts() == before


@pytest.mark.parametrize("state", ["expired", "revoked"])
async def test_expired_and_revoked_invites_are_refused(oauth: OAuthClient, state: str) -> None:
    await set_mode("invite")
    _, token = await app_token(oauth)
    invite = await invites.create_invite(None, expires_in=timedelta(hours=1))
    if state == "expired":
        await Invite.filter(id=invite.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    else:
        await invites.revoke_invite(None, invite.id)
    before = await counts()
    got = await api_sign_up(oauth, token, invite_code=invite.code)
    assert got.status == 422 and list(got.body["details"]) == ["invite_code"]
    assert await counts() == before


async def test_a_valid_invite_skips_the_approval_queue(oauth: OAuthClient) -> None:
    await set_mode("approval")
    _, token = await app_token(oauth)
    invite = await invites.create_invite(None, max_uses=1)
    got = await api_sign_up(oauth, token, invite_code=invite.code)  # no reason needed either
    assert got.status == 200, got.body
    assert (await User.get(account__username="mira")).approved
    assert (await oauth.whoami(got.body["access_token"])).status == 200


async def test_validation_errors_have_mastodons_details_shape(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    before = await counts()
    got = await api_sign_up(oauth, token, username="mira!", password="", agreement=False, email="nope",
                            locale="not a locale")
    assert got.status == 422
    assert_entity("ValidationError", got.body)
    details = got.body["details"]
    assert details["username"] == [{"error": "ERR_INVALID",
                                    "description": "must contain only letters, numbers and underscores"}]
    assert details["password"] == [{"error": "ERR_BLANK", "description": "can't be blank"}]
    assert details["agreement"] == [{"error": "ERR_ACCEPTED", "description": "must be accepted"}]
    assert details["email"][0]["error"] == "ERR_INVALID"
    assert details["locale"][0]["error"] == "ERR_INCLUSION"
    assert got.body["error"].startswith("Validation failed: Username must contain only letters")
    assert "Password can't be blank" in got.body["error"]
    assert "Agreement must be accepted" in got.body["error"]
    assert await counts() == before


async def test_usernames_and_emails_are_taken_whatever_their_case(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    assert (await api_sign_up(oauth, token, username="mira", email="mira@example.org")).status == 200
    before = await counts()
    got = await api_sign_up(oauth, token, username="MIRA", email="Mira@EXAMPLE.org")
    assert got.status == 422
    assert got.body["details"] == {
        "username": [{"error": "ERR_TAKEN", "description": "has already been taken"}],
        "email": [{"error": "ERR_TAKEN", "description": "has already been taken"}]}
    assert await counts() == before


@pytest.mark.parametrize("name", ["admin", "ADMIN", "Root", "actor", "inbox", "users", "api", "oauth",
                                  "well_known", "nodeinfo", "media", "static", "about", "ai_policy", "robots",
                                  "auth", "settings", "studio", "tags", "explore", "moderator", "postmaster"])
async def test_reserved_usernames_are_refused(oauth: OAuthClient, name: str) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    before = await counts()
    got = await api_sign_up(oauth, token, username=name)
    assert got.status == 422
    assert got.body["details"] == {"username": [{"error": "ERR_RESERVED", "description": "is reserved"}]}
    assert await counts() == before


@pytest.mark.parametrize(("name", "code"), [
    ("", "ERR_BLANK"), ("a" * 31, "ERR_TOO_LONG"), ("mi ra", "ERR_INVALID"), ("mira.art", "ERR_INVALID"),
    ("mira-art", "ERR_INVALID"), (".well-known", "ERR_INVALID"), ("ｍira", "ERR_INVALID"),  # fullwidth m
    ("mіra", "ERR_INVALID"),  # Cyrillic i
    ("mi\nra", "ERR_INVALID"), ("mira\x00", "ERR_INVALID"), ("mira/../admin", "ERR_INVALID"),
    ("@mira", "ERR_INVALID"),
])
async def test_malformed_usernames_are_refused(oauth: OAuthClient, name: str, code: str) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    before = await counts()
    got = await api_sign_up(oauth, token, username=name)
    assert got.status == 422, got.body
    assert got.body["details"]["username"][0]["error"] == code
    assert await counts() == before


async def test_surrounding_spaces_are_dropped_as_in_a_form_field(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, username=" mira\n", email=" Mira@Example.org ")
    assert got.status == 200, got.body
    assert (await User.get(account__username="mira")).email == "mira@example.org"


async def test_the_instance_actors_name_is_taken(oauth: OAuthClient) -> None:
    await set_mode("open")
    _, token = await app_token(oauth)
    got = await api_sign_up(oauth, token, username="art_example")  # a free name, for contrast
    assert got.status == 200
    taken = await api_sign_up(oauth, token, username="art.example", email="x@example.org")
    assert taken.status == 422 and taken.body["details"]["username"][0]["error"] == "ERR_INVALID"


@pytest.mark.parametrize(("mode", "enabled", "approval", "invites_enabled", "message"), [
    ("closed", False, False, False, "Registrations are closed"),
    ("open", True, False, True, None),
    ("approval", True, True, True, None),
    ("invite", False, False, True, "Sign-up on this server is by invitation only"),
])
async def test_the_instance_endpoints_tell_clients_the_mode(api: Api, mode: str, enabled: bool,
                                                            approval: bool, invites_enabled: bool,
                                                            message: str | None) -> None:
    await set_mode(mode)
    v2 = await api.get("/api/v2/instance")
    assert v2.status == 200
    assert v2.body["registrations"] == {"enabled": enabled, "approval_required": approval, "message": message,
                                        "url": None}
    v1 = await api.get("/api/v1/instance")
    assert v1.status == 200
    assert (v1.body["registrations"], v1.body["approval_required"], v1.body["invites_enabled"]) == (
        enabled, approval, invites_enabled)


async def test_the_admins_choice_wins_over_the_settings_file(settings: Settings) -> None:
    file_open = settings.replace(registrations={"mode": "open"})
    assert await registrations.effective_mode(file_open) == "open"
    await set_mode("closed")
    assert await registrations.effective_mode(file_open) == "closed"
    await set_mode("approval")
    assert await registrations.effective_mode(file_open) == "approval"
