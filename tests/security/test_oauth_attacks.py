"""OAuth2 attacks (security.md F-42 and F-43) over real HTTP: redirect_uri variants at authorize and at the
token endpoint, code replay and expiry, PKCE downgrade and wrong verifiers, a code or token crossing apps,
scope escalation, app tokens on user endpoints, forged or tampered consent forms. Every refusal is checked
to have stored no code and no token (and to have revoked nothing it should not)."""

from __future__ import annotations

import asyncio
import base64
import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from cara_fed.api.oauth.forms import sign_form
from cara_fed.models import OAuthApp, OAuthCode, OAuthToken
from cara_fed.services.oauth import form_signing_key
from tests.support.api import ApiUser, make_user
from tests.support.oauth_flow import ALL, CALLBACK, OOB_URI, TUSKY, App, OAuthClient, Page, pkce_pair, stored
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

OTHER_APP_URI = "https://other.example/callback"


@pytest.fixture
def oauth(server: RunningServer, http: aiohttp.ClientSession) -> OAuthClient:
    return OAuthClient(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


@pytest.fixture
async def app(oauth: OAuthClient) -> App:
    return await oauth.register(name="Good app", redirect_uris=f"{CALLBACK}\n{TUSKY}",
                                scopes="read write follow")


@pytest.fixture
async def other_app(oauth: OAuthClient) -> App:
    return await oauth.register(name="Other app", redirect_uris=OTHER_APP_URI, scopes=ALL)


def assert_refused_page(page: Page, words: str = "") -> None:
    """A refused authorize request: an HTML page, never a redirect anywhere."""
    assert page.status == 400, (page.status, page.text[:300])
    assert page.location is None
    assert page.headers["Content-Type"].startswith("text/html")
    assert "authenticity_token" not in page.text
    assert words in page.text


# -- redirect_uri (RFC 6749 section 3.1.2.3: exact match) -------------------------------------------------

REDIRECT_VARIANTS = [
    CALLBACK + "/",  # trailing slash
    "https://app.example/Callback",  # case of the path
    "https://APP.example/callback",  # case of the host
    "HTTPS://app.example/callback",  # case of the scheme
    CALLBACK + "?next=evil",  # extra query
    CALLBACK + "#frag",
    CALLBACK + ".evil.example",  # the registered one is a prefix
    "https://app.example/callbac",  # a prefix of the registered one
    "https://app.example/callback/../evil",
    "https://app.example/%63allback",  # percent-encoded variant
    "https%3A%2F%2Fapp.example%2Fcallback",
    "https://app.example:443/callback",  # default port spelled out
    "http://app.example/callback",  # scheme downgrade
    " " + CALLBACK,
    "oauth2redirect://com.keylesspalace.tusky",  # Tusky's without its slash
    "oauth2redirect://com.keylesspalace.tusky/?x=1",
    OOB_URI,  # not registered by this app
    OTHER_APP_URI,  # another app's
    "",
]


@pytest.mark.parametrize("redirect_uri", REDIRECT_VARIANTS)
async def test_authorize_refuses_redirect_uri_variants(oauth: OAuthClient, app: App, other_app: App,
                                                       mira: ApiUser, redirect_uri: str) -> None:
    before = await stored()
    page = await oauth.open_authorize(oauth.query(app, redirect_uri=redirect_uri, state="s"))
    assert_refused_page(page)
    assert await stored() == before


async def test_authorize_refuses_a_missing_redirect_uri(oauth: OAuthClient, app: App) -> None:
    page = await oauth.open_authorize({"response_type": "code", "client_id": app.client_id})
    assert_refused_page(page, "redirect_uri")


@pytest.mark.parametrize("client_id", ["", "unknown-client", "x" * 500])
async def test_authorize_refuses_unknown_clients(oauth: OAuthClient, client_id: str) -> None:
    page = await oauth.open_authorize({"response_type": "code", "client_id": client_id,
                                       "redirect_uri": CALLBACK})
    assert_refused_page(page, "not known")


@pytest.mark.parametrize("redirect_uri", REDIRECT_VARIANTS)
async def test_token_refuses_redirect_uri_variants(oauth: OAuthClient, app: App, other_app: App,
                                                   mira: ApiUser, redirect_uri: str) -> None:
    code = await oauth.code(app, "mira", scope="read")
    before = await stored()
    got = await oauth.exchange(app, code, redirect_uri=redirect_uri)
    assert got.status == 400 and got.body["error"] == "invalid_grant", got.body
    assert await stored() == before
    # The code is bound to the URI used at authorize, not merely to one the app registered.
    other_registered = await oauth.exchange(app, code, redirect_uri=TUSKY)
    assert other_registered.status == 400 and other_registered.body["error"] == "invalid_grant"
    assert await stored() == before


async def test_token_refuses_a_missing_redirect_uri(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    code = await oauth.code(app, "mira", scope="read")
    before = await stored()
    got = await oauth.token({"grant_type": "authorization_code", "code": code}, app=app)
    assert got.status == 400 and got.body["error"] == "invalid_grant"
    assert await stored() == before


async def test_errors_after_the_uri_is_trusted_are_not_redirected(oauth: OAuthClient, app: App) -> None:
    """Anyone can register an app: auto-redirecting errors would be an open redirector."""
    for query in [{"response_type": "token"}, {"scope": "admin:write"}, {"code_challenge_method": "plain",
                                                                         "code_challenge": "a" * 43}]:
        page = await oauth.open_authorize({**oauth.query(app), **query})
        assert_refused_page(page)


# -- codes: replay, expiry, another app ---------------------------------------------------------------------


async def test_a_reused_code_is_refused_and_revokes_its_token(oauth: OAuthClient, app: App,
                                                              mira: ApiUser) -> None:
    code = await oauth.code(app, "mira", scope="read")
    first = await oauth.exchange(app, code)
    assert first.status == 200
    token = first.body["access_token"]
    assert (await oauth.whoami(token)).status == 200
    before = await stored()
    second = await oauth.exchange(app, code)
    assert second.status == 400 and second.body["error"] == "invalid_grant"
    codes, tokens, live = await stored()
    assert (codes, tokens, live) == (before[0], before[1], before[2] - 1)  # no new token; the first revoked
    assert (await oauth.whoami(token)).status == 401
    # mira's other tokens (another app, the test's own) are untouched
    assert (await oauth.whoami(mira.token, "/api/v1/timelines/home")).status == 200


async def test_concurrent_exchanges_of_one_code_give_one_token(oauth: OAuthClient, app: App,
                                                               mira: ApiUser) -> None:
    code = await oauth.code(app, "mira", scope="read")
    results = await asyncio.gather(*(oauth.exchange(app, code) for _ in range(4)))
    assert sorted(r.status for r in results) == [200, 400, 400, 400]
    assert await OAuthToken.filter(app__client_id=app.client_id).count() == 1


async def test_an_expired_code_is_refused(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    code = await oauth.code(app, "mira", scope="read")
    row = await OAuthCode.get()
    assert timedelta(minutes=9) < row.expires_at - datetime.now(UTC) <= timedelta(minutes=10)
    await OAuthCode.filter(id=row.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    before = await stored()
    got = await oauth.exchange(app, code)
    assert got.status == 400 and got.body["error"] == "invalid_grant" and "expired" in got.body[
        "error_description"]
    assert await stored() == before


@pytest.mark.parametrize("code", ["", "made-up-code", "a" * 600])
async def test_unknown_codes_are_refused(oauth: OAuthClient, app: App, code: str) -> None:
    before = await stored()
    got = await oauth.exchange(app, code)
    assert got.status == 400 and got.body["error"] in ("invalid_grant", "invalid_request")
    assert await stored() == before


async def test_a_code_used_by_another_app_is_refused(oauth: OAuthClient, app: App, other_app: App,
                                                     mira: ApiUser) -> None:
    code = await oauth.code(app, "mira", scope="read")
    before = await stored()
    for redirect_uri in (CALLBACK, OTHER_APP_URI):
        got = await oauth.exchange(other_app, code, redirect_uri=redirect_uri)
        assert got.status == 400 and got.body["error"] == "invalid_grant"
    # with the right client id but another app's secret: not even a client
    got = await oauth.token({"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK,
                             "client_id": app.client_id, "client_secret": other_app.client_secret})
    assert got.status == 401 and got.body["error"] == "invalid_client"
    assert await stored() == before
    assert (await oauth.exchange(app, code)).status == 200  # the rightful app still can


# -- PKCE (RFC 7636) ---------------------------------------------------------------------------------------


async def test_wrong_or_missing_verifiers_are_refused(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    verifier, challenge = pkce_pair()
    code = await oauth.code(app, "mira", scope="read", challenge=challenge)
    other_verifier, other_challenge = pkce_pair()
    before = await stored()
    for bad in [None, "", other_verifier, challenge, verifier[:-1], verifier + "x", verifier.upper(),
                "a" * 129]:
        got = await oauth.exchange(app, code, verifier=bad)
        assert got.status == 400, (bad, got.body)
        assert got.body["error"] in ("invalid_grant", "invalid_request")
    assert await stored() == before
    assert (await oauth.exchange(app, code, verifier=verifier)).status == 200


async def test_a_verifier_for_a_code_without_challenge_is_refused(oauth: OAuthClient, app: App,
                                                                  mira: ApiUser) -> None:
    """PKCE downgrade: the attacker strips the challenge from the request and sends a verifier anyway."""
    code = await oauth.code(app, "mira", scope="read")
    before = await stored()
    got = await oauth.exchange(app, code, verifier=pkce_pair()[0])
    assert got.status == 400 and got.body["error"] == "invalid_grant"
    assert await stored() == before


@pytest.mark.parametrize(("challenge", "method"), [
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "plain"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", None),  # no method means plain
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM", "s256"),
    ("too-short", "S256"),
    ("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c=", "S256"),
    (None, "S256"),
])
async def test_authorize_refuses_plain_and_malformed_challenges(
        oauth: OAuthClient, app: App, challenge: str | None, method: str | None) -> None:
    query = oauth.query(app, challenge=challenge, method=method)
    if challenge is None:
        query["code_challenge_method"] = method or ""
    before = await stored()
    assert_refused_page(await oauth.open_authorize(query))
    assert await stored() == before


# -- scope escalation --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scope", ["read write follow push", "push", "admin:read",
                                   "write:statuses read admin", "read:statuses profile", "everything",
                                   "read:nonsense"])
async def test_authorize_refuses_scopes_beyond_the_app(oauth: OAuthClient, mira: ApiUser, scope: str) -> None:
    narrow = await oauth.register(scopes="read write follow")
    if scope.startswith("read:statuses"):
        narrow = await oauth.register(scopes="read")
    before = await stored()
    assert_refused_page(await oauth.open_authorize(oauth.query(narrow, scope=scope)), "scope")
    assert await stored() == before


async def test_granular_scopes_within_the_app_are_allowed(oauth: OAuthClient, mira: ApiUser) -> None:
    narrow = await oauth.register(scopes="read follow")
    code = await oauth.code(narrow, "mira", scope="read:statuses read:follows write:blocks")
    got = await oauth.exchange(narrow, code)
    assert got.status == 200 and got.body["scope"] == "read:statuses read:follows write:blocks"


@pytest.mark.parametrize("scope", ["read write", "write", "read admin:read", "follow", "nonsense"])
async def test_token_refuses_scopes_beyond_the_code(oauth: OAuthClient, app: App, mira: ApiUser,
                                                    scope: str) -> None:
    code = await oauth.code(app, "mira", scope="read")
    before = await stored()
    got = await oauth.exchange(app, code, scope=scope)
    assert got.status == 400 and got.body["error"] == "invalid_scope"
    assert await stored() == before
    narrower = await oauth.exchange(app, code, scope="read:statuses")  # narrowing is fine
    assert narrower.status == 200 and narrower.body["scope"] == "read:statuses"


@pytest.mark.parametrize("grant", ["password", "client_credentials"])
@pytest.mark.parametrize("scope", ["push", "read push", "admin:read", "admin:write:accounts", "nonsense"])
async def test_other_grants_refuse_scopes_beyond_the_app(oauth: OAuthClient, app: App, mira: ApiUser,
                                                         grant: str, scope: str) -> None:
    before = await stored()
    data = {"grant_type": grant, "scope": scope}
    if grant == "password":
        data |= {"username": "mira", "password": "correct horse battery"}
    got = await oauth.token(data, app=app)
    assert got.status == 400 and got.body["error"] == "invalid_scope"
    assert await stored() == before


async def test_a_read_token_cannot_write(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    got = await oauth.request("POST", "/api/v1/statuses", headers={"Authorization": f"Bearer {token}"},
                              data={"status": "hello"})
    assert got.status == 403 and got.body == {"error": "This action is outside the authorized scopes"}


async def test_an_app_token_on_user_endpoints(oauth: OAuthClient, app: App) -> None:
    token = (await oauth.token({"grant_type": "client_credentials", "scope": "read write"}, app=app)).body[
        "access_token"]
    for method, path in [("GET", "/api/v1/accounts/verify_credentials"), ("GET", "/api/v1/timelines/home"),
                         ("POST", "/api/v1/statuses")]:
        got = await oauth.request(method, path, headers={"Authorization": f"Bearer {token}"},
                                  data={"status": "hi"} if method == "POST" else None)
        assert got.status == 422 and got.body == {"error": "This method requires an authenticated user"}, path


# -- ownership: another user's token, another app's token ---------------------------------------------------


async def test_an_app_cannot_revoke_another_apps_token(oauth: OAuthClient, app: App, other_app: App,
                                                       mira: ApiUser) -> None:
    eve = await make_user("eve")
    mira_token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    eve_token = (await oauth.exchange(other_app, await oauth.code(other_app, "eve", scope="read",
                                                                 redirect_uri=OTHER_APP_URI),
                                      redirect_uri=OTHER_APP_URI)).body["access_token"]
    before = await stored()
    got = await oauth.revoke(other_app, mira_token)  # eve's app, mira's token
    assert got.status == 403 and got.body["error"] == "unauthorized_client"
    got = await oauth.revoke(other_app, mira.token)  # a token of no app at all
    assert got.status == 403
    assert await stored() == before
    me = await oauth.whoami(mira_token)
    assert me.status == 200 and me.body["id"] == str(mira.account.id)
    # each token acts as its own user only
    assert (await oauth.whoami(eve_token)).body["id"] == str(eve.account.id)


async def test_app_verify_credentials_shows_only_the_tokens_app(oauth: OAuthClient, app: App, other_app: App,
                                                                mira: ApiUser) -> None:
    token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    got = await oauth.whoami(token, "/api/v1/apps/verify_credentials")
    assert got.status == 200 and got.body["name"] == "Good app"


async def test_revoked_and_made_up_tokens_are_401(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    token = (await oauth.exchange(app, await oauth.code(app, "mira", scope="read"))).body["access_token"]
    assert (await oauth.revoke(app, token)).status == 200
    for bad in (token, token + "x", "x" * 600):
        got = await oauth.whoami(bad)
        assert got.status == 401 and got.body == {"error": "The access token is invalid"}


async def test_client_authentication_cannot_mix_methods(oauth: OAuthClient, app: App, other_app: App) -> None:
    basic = base64.b64encode(f"{app.client_id}:{app.client_secret}".encode()).decode()
    before = await stored()
    for data in [{"client_secret": app.client_secret}, {"client_id": other_app.client_id}]:
        got = await oauth.request("POST", "/oauth/token", headers={"Authorization": f"Basic {basic}"},
                                  data={"grant_type": "client_credentials", **data})
        assert got.status == 400 and got.body["error"] == "invalid_request"
    for header in ["Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode()]:
        got = await oauth.request("POST", "/oauth/token", headers={"Authorization": header},
                                  data={"grant_type": "client_credentials"})
        assert got.status == 401 and got.body["error"] == "invalid_client"
    assert await stored() == before


# -- the consent form: forgery and tampering ----------------------------------------------------------------


async def test_a_forged_form_token_is_refused(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    form = (await oauth.open_authorize(oauth.query(app, scope="read"))).form()
    before = await stored()
    for token in ["", "x", f"{int(time.time())}.AAAA", "1.2.3", form["authenticity_token"] + "A",
                  form["authenticity_token"].replace(".", ".x", 1)]:
        page = await oauth.submit({**form, "authenticity_token": token}, "mira")
        assert_refused_page(page, "expired or was changed")
    missing = {k: v for k, v in form.items() if k != "authenticity_token"}
    assert_refused_page(await oauth.submit(missing, "mira"))
    assert await stored() == before


@pytest.mark.parametrize(("field", "value"), [
    ("scope", "read write"),  # escalate within the app's scopes
    ("scope", "read write follow"),
    ("redirect_uri", TUSKY),  # another URI the app registered
    ("redirect_uri", OTHER_APP_URI),
    ("state", "attacker-state"),
    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"),  # swap the challenge
    ("code_challenge", ""),  # strip PKCE
    ("code_challenge_method", ""),
    ("client_id", "OTHER"),
    ("response_type", "token"),
])
async def test_tampered_hidden_fields_are_refused(oauth: OAuthClient, app: App, other_app: App, mira: ApiUser,
                                                  field: str, value: str) -> None:
    verifier, challenge = pkce_pair()
    form = (await oauth.open_authorize(oauth.query(app, scope="read", state="s", challenge=challenge))).form()
    if value == "OTHER":
        value = other_app.client_id
    before = await stored()
    page = await oauth.submit({**form, field: value}, "mira")
    assert_refused_page(page, "expired or was changed")
    assert await stored() == before


async def test_a_form_token_from_another_request_is_refused(oauth: OAuthClient, app: App,
                                                            mira: ApiUser) -> None:
    """A token signed for a read-only request does not carry over to a wider one."""
    narrow = (await oauth.open_authorize(oauth.query(app, scope="read"))).form()
    wide = (await oauth.open_authorize(oauth.query(app, scope="read write"))).form()
    before = await stored()
    page = await oauth.submit({**wide, "authenticity_token": narrow["authenticity_token"]}, "mira")
    assert_refused_page(page)
    assert await stored() == before


async def test_an_expired_form_is_refused(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    form = (await oauth.open_authorize(oauth.query(app, scope="read"))).form()
    key = await form_signing_key()
    fields = {k: v for k, v in form.items() if k != "authenticity_token"}
    old = sign_form(key, fields, int(time.time()) - 3700)
    future = sign_form(key, fields, int(time.time()) + 3600)
    before = await stored()
    for token in (old, future):
        assert_refused_page(await oauth.submit({**form, "authenticity_token": token}, "mira"))
    assert await stored() == before
    fresh = sign_form(key, fields, int(time.time()) - 60)  # the same key, in time: accepted
    assert (await oauth.submit({**form, "authenticity_token": fresh}, "mira")).status == 302


async def test_a_form_for_a_deleted_app_is_refused(oauth: OAuthClient, app: App, mira: ApiUser) -> None:
    form = (await oauth.open_authorize(oauth.query(app, scope="read"))).form()
    await OAuthApp.filter(client_id=app.client_id).delete()
    page = await oauth.submit(form, "mira")
    assert_refused_page(page, "not known")
    assert await OAuthCode.all().count() == 0


async def test_login_errors_do_not_reveal_which_accounts_exist(oauth: OAuthClient, app: App,
                                                               mira: ApiUser) -> None:
    form = (await oauth.open_authorize(oauth.query(app, scope="read"))).form()
    unknown = await oauth.submit(form, "nobody@example.org", "whatever pass")
    wrong = await oauth.submit(form, "mira@example.org", "whatever pass")
    assert unknown.status == wrong.status == 401
    same_token = wrong.text.replace(wrong.form()["authenticity_token"], unknown.form()["authenticity_token"])
    assert unknown.text.replace("nobody@example.org", "X") == same_token.replace("mira@example.org", "X")
