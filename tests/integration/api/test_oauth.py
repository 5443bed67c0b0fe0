"""OAuth2 over real HTTP on loopback: app registration, the authorize page, the token endpoint's three
grants, revocation and the RFC 8414 document, as the clients of shared/reference/mastodon-api.md section 1
use them. The attack cases are in tests/security/test_oauth_attacks.py."""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest

from cara_fed.models import Account, OAuthApp, OAuthCode, OAuthToken, User
from cara_fed.services import accounts
from tests.support.api import make_user
from tests.support.oauth_flow import ALL, CALLBACK, OOB_URI, PASSWORD, TUSKY, OAuthClient, pkce_pair, stored
from tests.support.servers import RunningServer

try:
    from tests.support.openapi import assert_entity
except ImportError:  # the shared helper is being written
    from tests.integration.api._openapi_fallback import assert_entity

pytestmark = pytest.mark.usefixtures("database")

# The redirect URIs real clients register (reference section 1), all of which must be accepted.
CLIENT_URIS = [
    TUSKY,
    "com.tapbots.Ivory.19:/request_token",
    "icecubesapp://",
    "https://elk.zone/api/art.example/oauth/https%3A%2F%2Felk.zone",
    "https://phanpy.social/",
    OOB_URI,
]


@pytest.fixture
def oauth(server: RunningServer, http: aiohttp.ClientSession) -> OAuthClient:
    return OAuthClient(http, server.url)


# -- POST /api/v1/apps ------------------------------------------------------------------------------------


@pytest.mark.parametrize("uri", CLIENT_URIS)
async def test_registering_the_redirect_uris_of_real_clients(oauth: OAuthClient, uri: str) -> None:
    got = await oauth.request("POST", "/api/v1/apps", data={"client_name": "Client", "redirect_uris": uri,
                                                            "scopes": "read write follow push"})
    assert got.status == 200, got.body
    assert got.body["redirect_uris"] == [uri] and got.body["redirect_uri"] == uri
    row = await OAuthApp.get(client_id=got.body["client_id"])
    assert row.redirect_uris == uri  # verbatim: never normalised or decoded


async def test_the_credential_application_shape(oauth: OAuthClient) -> None:
    got = await oauth.request("POST", "/api/v1/apps", data={
        "client_name": "Tusky", "redirect_uris": TUSKY, "scopes": "read write follow push",
        "website": "https://tusky.app"})
    assert got.status == 200
    body = got.body
    assert_entity("CredentialApplication", body)
    assert body["name"] == "Tusky" and body["website"] == "https://tusky.app"
    assert body["scopes"] == ["read", "write", "follow", "push"]
    assert body["client_secret_expires_at"] == 0 and body["vapid_key"] == ""
    assert len(body["client_id"]) >= 32 and len(body["client_secret"]) >= 32
    assert body["id"].isdigit()
    assert got.headers["Access-Control-Allow-Origin"] == "*"


async def test_json_bodies_with_an_array_of_uris_and_the_default_scope(oauth: OAuthClient) -> None:
    got = await oauth.request("POST", "/api/v1/apps", json={
        "client_name": "toot", "redirect_uris": [CALLBACK, OOB_URI]})
    assert got.status == 200, got.body
    assert got.body["redirect_uris"] == [CALLBACK, OOB_URI]
    assert got.body["redirect_uri"] == f"{CALLBACK}\n{OOB_URI}"
    assert got.body["scopes"] == ["read"] and got.body["website"] is None
    row = await OAuthApp.get(client_id=got.body["client_id"])
    assert row.redirect_uris == f"{CALLBACK}\n{OOB_URI}"


async def test_a_string_of_several_uris_split_on_spaces_and_newlines(oauth: OAuthClient) -> None:
    app = await oauth.register(redirect_uris=f"{CALLBACK} {TUSKY}\nicecubesapp://")
    assert app.redirect_uris == [CALLBACK, TUSKY, "icecubesapp://"]


async def test_form_array_keys_and_granular_scopes(oauth: OAuthClient) -> None:
    got = await oauth.request("POST", "/api/v1/apps", data=[
        ("client_name", "Phanpy"), ("redirect_uris[]", "https://phanpy.social/"),
        ("redirect_uris[]", CALLBACK), ("scopes", "read:statuses write:media")])
    assert got.status == 200, got.body
    assert got.body["redirect_uris"] == ["https://phanpy.social/", CALLBACK]
    assert got.body["scopes"] == ["read:statuses", "write:media"]


@pytest.mark.parametrize(("data", "words"), [
    ({"client_name": "x", "redirect_uris": "javascript:alert(1)"}, "forbidden scheme"),
    ({"client_name": "x", "redirect_uris": "JavaScript://%0aalert(1)"}, "forbidden scheme"),
    ({"client_name": "x", "redirect_uris": "data:text/html,<b>hi</b>"}, ""),
    ({"client_name": "x", "redirect_uris": "vbscript:msgbox"}, "forbidden scheme"),
    ({"client_name": "x", "redirect_uris": "https://app.example/cb#frag"}, "fragment"),
    ({"client_name": "x", "redirect_uris": "/relative/callback"}, "absolute"),
    ({"client_name": "x", "redirect_uris": "https:///no-host"}, "host"),
    ({"client_name": "x", "redirect_uris": "https://app.example/caf\u00e9"}, "not a valid URI"),
    ({"client_name": "x", "redirect_uris": ""}, "blank"),
    ({"client_name": "x"}, "blank"),
    ({"redirect_uris": CALLBACK}, "name can't be blank"),
    ({"client_name": "x" * 61, "redirect_uris": CALLBACK}, "too long"),
    ({"client_name": "x", "redirect_uris": CALLBACK, "scopes": "read everything"}, "everything"),
    ({"client_name": "x", "redirect_uris": CALLBACK, "website": "javascript:alert(1)"}, "Website"),
    ({"client_name": "x", "redirect_uris": "https://a.example/" + "a" * 2000}, "too long"),
])
async def test_bad_registrations_are_422_and_store_nothing(oauth: OAuthClient, data: dict[str, str],
                                                           words: str) -> None:
    got = await oauth.request("POST", "/api/v1/apps", data=data)
    assert got.status == 422, got.body
    assert got.body["error"].startswith("Validation failed: ") and words in got.body["error"]
    assert await OAuthApp.all().count() == 0


@pytest.mark.parametrize("uris", [["https://a.example/cb", "javascript:alert(1)"], ["https://a.example/a b"],
                                  [1]])
async def test_bad_uri_arrays_are_refused(oauth: OAuthClient, uris: list[Any]) -> None:
    got = await oauth.request("POST", "/api/v1/apps", json={"client_name": "x", "redirect_uris": uris})
    assert got.status == 422 and got.body["error"].startswith("Validation failed: ")
    assert await OAuthApp.all().count() == 0


async def test_app_verify_credentials_with_an_app_token_and_a_user_token(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register(name="Tusky", redirect_uris=TUSKY)
    app_token = await oauth.token({"grant_type": "client_credentials", "scope": "read"}, app=app)
    user_token = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD,
                                    "scope": "read write"}, app=app)
    for token in (app_token.body["access_token"], user_token.body["access_token"]):
        got = await oauth.whoami(token, "/api/v1/apps/verify_credentials")
        assert got.status == 200, got.body
        assert_entity("Application", got.body)
        assert got.body["name"] == "Tusky" and got.body["redirect_uris"] == [TUSKY]
        assert "client_secret" not in got.body and "client_id" not in got.body
    anonymous = await oauth.request("GET", "/api/v1/apps/verify_credentials")
    assert anonymous.status == 401 and anonymous.body == {"error": "The access token is invalid"}


# -- the authorize page -----------------------------------------------------------------------------------


async def test_the_authorize_page_is_a_self_contained_phone_friendly_form(oauth: OAuthClient) -> None:
    app = await oauth.register(name="Tusky", redirect_uris=TUSKY, scopes="read write follow push")
    page = await oauth.open_authorize(oauth.query(app, scope="read write:statuses", state="s1"))
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page.text
    assert "Tusky" in page.text and "read" in page.text and "write:statuses" in page.text
    assert "<script" not in page.text.lower() and "Set-Cookie" not in page.headers
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in page.headers[
        "Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store"
    form = page.form()
    assert form["client_id"] == app.client_id and form["redirect_uri"] == TUSKY
    assert form["scope"] == "read write:statuses" and form["state"] == "s1"
    assert form["authenticity_token"]
    assert 'name="login"' in page.text and 'name="password"' in page.text


async def test_toot_opens_the_page_with_a_trailing_slash(oauth: OAuthClient) -> None:
    app = await oauth.register(redirect_uris=OOB_URI, scopes="read write follow")
    page = await oauth.open_authorize(oauth.query(app, scope="read write follow"), slash=True)
    assert page.status == 200 and page.form()["client_id"] == app.client_id


async def test_the_app_name_and_state_are_escaped(oauth: OAuthClient) -> None:
    app = await oauth.register(name='<script>alert(1)</script>', redirect_uris=CALLBACK)
    page = await oauth.open_authorize(oauth.query(app, state='"><script>x</script>'))
    assert page.status == 200
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert page.form()["state"] == '"><script>x</script>'


# -- the authorization-code flow, end to end --------------------------------------------------------------


async def test_authorization_code_with_pkce_end_to_end(oauth: OAuthClient) -> None:
    mira = await make_user("mira")
    app = await oauth.register(name="Tusky", redirect_uris=TUSKY, scopes=ALL)
    verifier, challenge = pkce_pair()
    page = await oauth.open_authorize(oauth.query(app, state="xyz-1", challenge=challenge))
    assert page.status == 200
    answer = await oauth.submit(page.form(), "mira@example.org")
    assert answer.status == 302
    assert answer.location is not None and answer.location.startswith(TUSKY + "?code=")
    query = answer.redirect_query()
    assert query["state"] == "xyz-1"
    row = await OAuthCode.get()
    assert row.code_digest != query["code"] and row.user_id == mira.user.id
    assert row.code_challenge == challenge

    got = await oauth.exchange(app, query["code"], verifier=verifier)
    assert got.status == 200, got.body
    assert_entity("Token", got.body)
    assert got.body["token_type"] == "Bearer" and got.body["scope"] == ALL
    assert abs(got.body["created_at"] - time.time()) < 60 and isinstance(got.body["created_at"], int)
    assert got.headers["Cache-Control"] == "no-store"
    assert got.headers["Access-Control-Allow-Origin"] == "*"
    token = got.body["access_token"]
    rows = await OAuthToken.filter(app__client_id=app.client_id)
    assert len(rows) == 1 and rows[0].token_digest != token and rows[0].user_id == mira.user.id

    me = await oauth.whoami(token)
    assert me.status == 200, me.body
    assert me.body["id"] == str(mira.account.id) and me.body["username"] == "mira"

    revoked = await oauth.revoke(app, token)
    assert revoked.status == 200 and revoked.body == {}
    assert (await oauth.whoami(token)).status == 401


async def test_login_by_username_and_without_pkce(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register(redirect_uris=CALLBACK, scopes="read write")
    code = await oauth.code(app, "Mira", scope="read")
    got = await oauth.exchange(app, code)
    assert got.status == 200 and got.body["scope"] == "read"
    assert (await oauth.whoami(got.body["access_token"], "/api/v1/timelines/home")).status == 200


async def test_email_login_ignores_case(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    assert await oauth.code(app, "MIRA@Example.ORG")


async def test_the_default_scope_is_read_and_plus_separates(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register(scopes=ALL)
    page = await oauth.open_authorize(oauth.query(app, scope=None))
    assert page.form()["scope"] == "read"
    page = await oauth.open_authorize(f"response_type=code&client_id={app.client_id}&redirect_uri="
                                      f"https%3A%2F%2Fapp.example%2Fcallback&scope=read+write+follow")
    assert page.status == 200 and page.form()["scope"] == "read write follow"


async def test_the_code_is_appended_to_an_existing_query(oauth: OAuthClient) -> None:
    await make_user("mira")
    uri = "https://app.example/cb?server=art.example"
    app = await oauth.register(redirect_uris=uri)
    answer = await oauth.authorize(app, "mira", state="a b&c")
    assert answer.location is not None and answer.location.startswith(uri + "&code=")
    assert answer.redirect_query()["state"] == "a b&c" and answer.redirect_query()["server"] == "art.example"


async def test_out_of_band_shows_the_code(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register(name="toot", redirect_uris=OOB_URI, scopes="read write follow")
    page = await oauth.open_authorize(oauth.query(app, scope="read write follow"), slash=True)
    assert "shown a code" in page.text
    answer = await oauth.submit(page.form(), "mira")
    assert answer.status == 200 and answer.location is None
    code = answer.text.split('<code class="code" id="code">', 1)[1].split("</code>", 1)[0]
    got = await oauth.exchange(app, code)
    assert got.status == 200 and got.body["scope"] == "read write follow"


async def test_a_wrong_password_shows_the_form_again(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    page = await oauth.open_authorize(oauth.query(app, state="st"))
    before = await stored()
    for login, password in [("mira", "wrong password"), ("nobody", "correct horse battery"), ("mira", "")]:
        answer = await oauth.submit(page.form(), login, password)
        assert answer.status == 401 and answer.location is None
        assert "Invalid email, username or password." in answer.text
        again = answer.form()
        assert again["state"] == "st" and again["authenticity_token"]
        assert 'value="correct horse battery"' not in answer.text
    assert await stored() == before


@pytest.mark.parametrize("blocked", ["suspended", "unapproved"])
async def test_suspended_and_unapproved_accounts_cannot_authorize(oauth: OAuthClient, blocked: str) -> None:
    mira = await make_user("mira")
    if blocked == "suspended":
        await accounts.suspend("mira")
    else:
        await User.filter(id=mira.user.id).update(approved=False)
    app = await oauth.register()
    page = await oauth.open_authorize(oauth.query(app))
    before = await stored()
    answer = await oauth.submit(page.form(), "mira")
    assert answer.status == 403 and answer.location is None
    assert await stored() == before
    got = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert got.status == 400 and got.body["error"] == "invalid_grant"
    assert await stored() == before


async def test_deny_redirects_with_access_denied(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    page = await oauth.open_authorize(oauth.query(app, state="s"))
    answer = await oauth.submit(page.form(), None, None, decision="deny")
    assert answer.status == 302
    assert answer.redirect_query()["error"] == "access_denied" and answer.redirect_query()["state"] == "s"
    assert await OAuthCode.all().count() == 0


async def test_a_user_suspended_after_authorizing_cannot_exchange_the_code(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    code = await oauth.code(app, "mira")
    await accounts.suspend("mira")
    got = await oauth.exchange(app, code)
    assert got.status == 400 and got.body["error"] == "invalid_grant"


# -- POST /oauth/token: the other grants, client authentication, errors -----------------------------------


async def test_password_grant_as_toot_and_mastodon_py_send_it(oauth: OAuthClient) -> None:
    mira = await make_user("mira")
    app = await oauth.register(redirect_uris=OOB_URI, scopes=ALL)
    for login, as_json in [("mira@example.org", False), ("mira", True)]:
        got = await oauth.token({"grant_type": "password", "username": login, "password": PASSWORD,
                                 "scope": ALL}, app=app, as_json=as_json)
        assert got.status == 200, got.body
        assert got.body["scope"] == ALL and got.body["token_type"] == "Bearer"
        me = await oauth.whoami(got.body["access_token"])
        assert me.status == 200 and me.body["id"] == str(mira.account.id)
    assert (await User.get(id=mira.user.id)).last_sign_in_at is not None


async def test_password_grant_with_http_basic_and_the_default_scope(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register(scopes=ALL)
    got = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD},
                            app=app, basic=True)
    assert got.status == 200 and got.body["scope"] == "read"


async def test_a_wrong_password_is_invalid_grant(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    before = await stored()
    for login in ("mira", "nobody@example.org"):
        got = await oauth.token({"grant_type": "password", "username": login, "password": "nope nope"},
                                app=app)
        assert got.status == 400 and got.body["error"] == "invalid_grant"
        assert isinstance(got.body["error_description"], str)
    assert await stored() == before


async def test_client_credentials_give_an_app_token(oauth: OAuthClient) -> None:
    app = await oauth.register(scopes="read write")
    got = await oauth.token({"grant_type": "client_credentials", "scope": "read write",
                             "redirect_uri": OOB_URI}, app=app, as_json=True)  # as toot sends it
    assert got.status == 200 and got.body["scope"] == "read write"
    row = await OAuthToken.filter(user_id=None).first()
    assert row is not None and row.app_id is not None
    # an app token is not a user: user endpoints answer 422, as Mastodon's
    home = await oauth.whoami(got.body["access_token"], "/api/v1/timelines/home")
    assert home.status == 422 and home.body == {"error": "This method requires an authenticated user"}


@pytest.mark.parametrize(("data", "status", "error"), [
    ({}, 400, "invalid_request"),
    ({"grant_type": "refresh_token", "refresh_token": "x"}, 400, "unsupported_grant_type"),
    ({"grant_type": "implicit"}, 400, "unsupported_grant_type"),
    ({"grant_type": "client_credentials", "client_id": "no", "client_secret": "no"}, 401, "invalid_client"),
    ({"grant_type": "client_credentials", "client_secret": "x"}, 401, "invalid_client"),
    ({"grant_type": "authorization_code", "code": ""}, 400, "invalid_request"),
])
async def test_token_errors_follow_rfc_6749(oauth: OAuthClient, data: dict[str, str], status: int,
                                            error: str) -> None:
    app = await oauth.register()
    if data.get("grant_type") == "authorization_code":
        data = {**data, "client_id": app.client_id, "client_secret": app.client_secret}
    got = await oauth.token(data)
    assert got.status == status and got.body["error"] == error, got.body
    assert isinstance(got.body["error_description"], str)
    assert got.headers["Cache-Control"] == "no-store"


async def test_a_wrong_secret_in_basic_gets_www_authenticate(oauth: OAuthClient) -> None:
    app = await oauth.register()
    app.client_secret = "wrong"
    got = await oauth.token({"grant_type": "client_credentials"}, app=app, basic=True)
    assert got.status == 401 and got.body["error"] == "invalid_client"
    assert got.headers["WWW-Authenticate"].startswith("Basic")


async def test_an_unreadable_body_is_invalid_request(oauth: OAuthClient) -> None:
    got = await oauth.request("POST", "/oauth/token", data=b"[1,2]",
                              headers={"Content-Type": "application/json"})
    assert got.status == 400 and got.body["error"] == "invalid_request"


async def test_cors_preflight_on_the_token_endpoint(oauth: OAuthClient) -> None:
    got = await oauth.request("OPTIONS", "/oauth/token", headers={
        "Origin": "https://elk.zone", "Access-Control-Request-Method": "POST"})
    assert got.status == 200 and got.headers["Access-Control-Allow-Origin"] == "*"


# -- POST /oauth/revoke -----------------------------------------------------------------------------------


async def test_revoke_is_idempotent_and_ignores_unknown_tokens(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    for _ in range(2):
        got = await oauth.revoke(app, token)
        assert got.status == 200 and got.body == {}
    assert (await OAuthToken.get(app__client_id=app.client_id)).revoked_at is not None
    assert (await oauth.revoke(app, "never-issued")).status == 200
    missing = await oauth.request("POST", "/oauth/revoke", data={"client_id": app.client_id,
                                                                  "client_secret": app.client_secret})
    assert missing.status == 400 and missing.body["error"] == "invalid_request"


async def test_revoke_needs_the_client_credentials(oauth: OAuthClient) -> None:
    await make_user("mira")
    app = await oauth.register()
    token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    got = await oauth.request("POST", "/oauth/revoke",
                              data={"client_id": app.client_id, "client_secret": "no", "token": token})
    assert got.status == 401 and got.body["error"] == "invalid_client"
    assert (await oauth.whoami(token, "/api/v1/timelines/home")).status == 200


# -- RFC 8414 ----------------------------------------------------------------------------------------------


async def test_authorization_server_metadata(oauth: OAuthClient) -> None:
    got = await oauth.request("GET", "/.well-known/oauth-authorization-server")
    assert got.status == 200 and got.headers["Access-Control-Allow-Origin"] == "*"
    body = got.body
    base = "https://art.example"
    assert body["issuer"] == base
    assert body["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert body["token_endpoint"] == f"{base}/oauth/token"
    assert body["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert body["app_registration_endpoint"] == f"{base}/api/v1/apps"
    assert body["response_types_supported"] == ["code"]
    assert body["grant_types_supported"] == ["authorization_code", "password", "client_credentials"]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["token_endpoint_auth_methods_supported"] == ["client_secret_basic", "client_secret_post"]
    assert {"read", "write", "follow", "push", "profile", "read:statuses", "admin:write:reports"} <= set(
        body["scopes_supported"])
    assert body["service_documentation"].startswith("https://")
    assert body["response_modes_supported"] == ["query"]


async def test_account_rows_untouched_by_the_flow(oauth: OAuthClient) -> None:
    """Signing in records the sign-in time and nothing else on the account."""
    mira = await make_user("mira")
    before = await Account.get(id=mira.account.id)
    app = await oauth.register()
    await oauth.exchange(app, await oauth.code(app, "mira"))
    after = await Account.get(id=mira.account.id)
    assert (before.username, before.suspended_at, before.updated_at) == (after.username, after.suspended_at,
                                                                         after.updated_at)
