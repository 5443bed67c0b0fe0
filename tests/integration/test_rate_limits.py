"""Rate limits over real HTTP (security.md F-41): request N+1 answers 429 ``{"error": "Too many requests"}``
with X-RateLimit-Limit/Remaining/Reset (and the headers ride on ordinary API answers too); per token and
per IP are separate buckets; Mastodon's own numbers for app registrations and API sign-ups; sign-in
attempts per address and per account on the OAuth forms; the counter is shared by two servers on one
database; the key function (IPv6 by /64) and the limits table as unit tests.

Clients connect from 127.0.0.2: 127.0.0.1 itself is safelisted, as in Mastodon. Limits of 300 requests
are made small by replacing entries of ``services.rate_limits.LIMITS`` for the test (never 300 requests)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import aiohttp
import orjson
import pytest
from multidict import CIMultiDict

from cara_fed.app import create_app
from cara_fed.models import RateLimitBucket
from cara_fed.services import login_limits, rate_limits
from cara_fed.services.rate_limits import (
    Limit, RequestFacts, client_ip, request_limits, throttle_key, trusted_networks,
)
from cara_fed.settings import Settings
from tests.support.api import ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.oauth_flow import OAuthClient
from tests.support.servers import RunningServer, serve_asgi

pytestmark = pytest.mark.usefixtures("database")

RESET_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """A client connecting from 127.0.0.2 (not the safelisted 127.0.0.1)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as session:
        yield session


def small(monkeypatch: pytest.MonkeyPatch, name: str, limit: int, period: int = 300) -> None:
    monkeypatch.setitem(rate_limits.LIMITS, name, Limit(name, limit, period))


async def get(client: aiohttp.ClientSession, url: str, who: ApiUser | None = None,
              headers: dict[str, str] | None = None) -> tuple[int, CIMultiDict[str], object]:
    sent = {**(who.auth if who else {}), **(headers or {})}
    async with client.get(url, headers=sent) as response:
        text = await response.text()
        body = orjson.loads(text) if text.startswith(("{", "[")) else text
        return response.status, CIMultiDict(response.headers), body


# -- unit: who the client is, which limits apply ------------------------------------------------------------

@pytest.mark.parametrize(("ip", "key"), [
    ("203.0.113.7", "203.0.113.7"),
    ("2001:db8:1:2:aaaa:bbbb:cccc:dddd", "2001:db8:1:2::/64"),
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("2001:db8:1:3::1", "2001:db8:1:3::/64"),
    ("::ffff:203.0.113.7", "203.0.113.7"),
    ("[2001:db8:1:2::5]:443", "2001:db8:1:2::/64"),
    ("203.0.113.7:5678", "203.0.113.7"),
])
def test_throttle_key_groups_ipv6_by_64(ip: str, key: str) -> None:
    assert throttle_key(ip) == key


def test_client_ip_believes_only_trusted_proxies() -> None:
    proxies = trusted_networks(["127.0.0.1", "10.0.0.0/8", "not-an-address.example"])
    assert client_ip("198.51.100.4", ["203.0.113.9"], proxies) == "198.51.100.4"  # peer not a proxy
    assert client_ip("127.0.0.1", ["203.0.113.9"], ()) == "127.0.0.1"  # nothing trusted by default
    assert client_ip("127.0.0.1", ["203.0.113.9"], proxies) == "203.0.113.9"
    # The rightmost untrusted address is the client: what the client wrote itself on the left is ignored.
    assert client_ip("127.0.0.1", ["6.6.6.6, 203.0.113.9, 10.1.2.3"], proxies) == "203.0.113.9"
    assert client_ip("127.0.0.1", ["6.6.6.6", "203.0.113.9"], proxies) == "203.0.113.9"  # two headers
    assert client_ip("127.0.0.1", ["garbage, 10.1.2.3"], proxies) == "10.1.2.3"  # stops at the last proxy
    assert client_ip("127.0.0.1", ["10.9.9.9"], proxies) == "10.9.9.9"  # all proxies: the leftmost
    assert client_ip("127.0.0.1", [], proxies) == "127.0.0.1"
    assert client_ip("::ffff:127.0.0.1", ["2001:db8::1"], proxies) == "2001:db8::1"


def test_limits_table_follows_mastodon() -> None:
    def names(**facts: object) -> list[str]:
        base: dict[str, object] = {"method": "GET", "path": "/api/v1/timelines/home", "ip_key": "203.0.113.7"}
        found = request_limits(RequestFacts(**{**base, **facts}))  # type: ignore[arg-type]
        return [limit.name for limit, _ in found]

    assert names(user_id=1, token_id=2) == ["throttle_authenticated_api", "throttle_per_token_api"]
    assert names() == ["throttle_unauthenticated_api"]
    assert names(token_id=2) == ["throttle_per_token_api", "throttle_unauthenticated_api"]  # app-only token
    assert names(path="/users/mira", paging=True) == ["throttle_unauthenticated_paging"]
    assert names(path="/@mira") == []
    assert "throttle_api_media" in names(method="POST", path="/api/v2/media", user_id=1, token_id=2)
    assert "throttle_api_delete" in names(method="DELETE", path="/api/v1/statuses/12", user_id=1, token_id=2)
    assert "throttle_api_delete" in names(method="POST", path="/api/v1/statuses/12/unreblog", user_id=1,
                                          token_id=2)
    assert names(method="POST", path="/api/v1/apps") == ["throttle_unauthenticated_api",
                                                         "throttle_oauth_application_registrations/ip"]
    assert "throttle_api_sign_up" in names(method="POST", path="/api/v1/accounts", token_id=2)
    assert "rate_limit/statuses" in names(method="POST", path="/api/v1/statuses", user_id=1, token_id=2)
    limits = {limit.name: (limit.limit, limit.period) for limit in rate_limits.LIMITS.values()}
    assert limits["throttle_authenticated_api"] == (1500, 300)
    assert limits["throttle_per_token_api"] == (300, 300)
    assert limits["throttle_unauthenticated_api"] == (300, 300) and limits["throttle_api_media"] == (30, 1800)
    assert limits["throttle_api_sign_up"] == (5, 1800)
    assert limits["throttle_oauth_application_registrations/ip"] == (5, 600)


async def test_counting_windows_and_purge() -> None:
    limit = Limit("test", 2, 60)
    start = 1_700_000_040_000  # inside a minute-aligned window ending at ...100_000 (60 s windows)
    counts = [h.count for h in [(await rate_limits.hit([(limit, "x")], now=start + n))[0] for n in range(3)]]
    assert counts == [1, 2, 3]
    [third] = await rate_limits.hit([(limit, "x")], now=start)
    assert third.exceeded and third.remaining == 0 and third.reset_at_ms == 1_700_000_100_000
    [fresh] = await rate_limits.hit([(limit, "x")], now=1_700_000_100_000)  # the next window starts at 1
    assert fresh.count == 1 and fresh.reset_at_ms == 1_700_000_160_000
    both = await rate_limits.hit([(limit, "x"), (Limit("other", 9, 60), "x")], now=1_700_000_100_001)
    assert [h.count for h in both] == [2, 1]
    assert await rate_limits.purge_expired(now=1_700_000_160_000 + rate_limits.KEEP_EXPIRED_MS + 1) == 2
    assert await RateLimitBucket.all().count() == 0


# -- over HTTP --------------------------------------------------------------------------------------------

async def test_request_n_plus_1_is_429_with_mastodon_headers(
        server: RunningServer, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_unauthenticated_api", 3)
    url = f"{server.url}/api/v1/instance/rules"
    seen = []
    for _ in range(3):
        status, headers, _body = await get(client, url)
        assert status == 200
        seen.append((headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]))
        assert RESET_RE.fullmatch(headers["X-RateLimit-Reset"])
    assert seen == [("3", "2"), ("3", "1"), ("3", "0")]
    status, headers, body = await get(client, url)
    assert status == 429 and body == {"error": "Too many requests"}
    assert headers["X-RateLimit-Limit"] == "3" and headers["X-RateLimit-Remaining"] == "0"
    reset = datetime.strptime(headers["X-RateLimit-Reset"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert reset.timestamp() % 300 == 0  # the end of Mastodon's aligned 5-minute window
    assert 0 < int(headers["Retry-After"]) <= 300
    assert headers["Content-Type"].startswith("application/json")
    assert "noai" in headers.get("X-Robots-Tag", "")  # the app's other headers are still there
    # Other clients are not affected; the local machine itself is never limited (Mastodon's safelist).
    async with aiohttp.ClientSession() as local:
        status, headers, _ = await get(local, url)
        assert status == 200 and "X-RateLimit-Limit" not in headers


async def test_per_token_and_per_ip_are_separate(server: RunningServer, client: aiohttp.ClientSession,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_per_token_api", 2)
    small(monkeypatch, "throttle_unauthenticated_api", 4)
    mira, juno = await make_user("mira"), await make_user("juno")
    url = f"{server.url}/api/v1/accounts/verify_credentials"
    assert [(await get(client, url, mira))[0] for _ in range(3)] == [200, 200, 429]
    status, headers, _ = await get(client, url, juno)  # another token, same address
    assert status == 200 and headers["X-RateLimit-Limit"] == "2" and headers["X-RateLimit-Remaining"] == "1"
    public = f"{server.url}/api/v1/instance/rules"
    assert [(await get(client, public))[0] for _ in range(5)] == [200, 200, 200, 200, 429]
    assert (await get(client, url, juno))[0] == 200  # the address being out of requests does not stop a user


async def test_authenticated_user_limit_spans_tokens(server: RunningServer, client: aiohttp.ClientSession,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from cara_fed.services.tokens import issue_token, parse_scopes

    small(monkeypatch, "throttle_authenticated_api", 3)
    mira = await make_user("mira")
    second = ApiUser(account=mira.account, user=mira.user,
                     token=(await issue_token(None, mira.user, parse_scopes("read"))).access_token)
    url = f"{server.url}/api/v1/accounts/verify_credentials"
    statuses = [(await get(client, url, who))[0] for who in (mira, second, mira, second)]
    assert statuses == [200, 200, 200, 429]


async def test_app_registrations_five_per_ten_minutes(server: RunningServer,
                                                      client: aiohttp.ClientSession) -> None:
    form = {"client_name": "Throttle Test", "redirect_uris": "urn:ietf:wg:oauth:2.0:oob", "scopes": "read"}
    statuses = []
    for _ in range(6):
        async with client.post(f"{server.url}/api/v1/apps", data=form) as response:
            statuses.append(response.status)
            last = (CIMultiDict(response.headers), await response.json())
    assert statuses == [200] * 5 + [429]
    assert last[1] == {"error": "Too many requests"} and last[0]["X-RateLimit-Limit"] == "5"


async def test_api_sign_ups_five_per_half_hour(server: RunningServer, client: aiohttp.ClientSession) -> None:
    statuses = []
    for n in range(6):
        async with client.post(f"{server.url}/api/v1/accounts", data={"username": f"new{n}"}) as response:
            statuses.append(response.status)
    assert statuses[:5] != [429] * 5 and 429 not in statuses[:5] and statuses[5] == 429
    assert await RateLimitBucket.filter(key="throttle_api_sign_up:127.0.0.2").count() == 1


async def test_media_uploads_per_user(server: RunningServer, client: aiohttp.ClientSession,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_api_media", 1, 1800)
    mira = await make_user("mira")
    statuses = []
    for _ in range(2):
        form = aiohttp.FormData()
        form.add_field("file", b"not an image", filename="x.png", content_type="image/png")
        async with client.post(f"{server.url}/api/v2/media", data=form, headers=mira.auth) as response:
            statuses.append(response.status)
    assert statuses[0] != 429 and statuses[1] == 429


async def test_headers_on_ordinary_api_answers_show_the_most_limited_bucket(
        server: RunningServer, client: aiohttp.ClientSession, monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_authenticated_paging", 10, 900)
    mira = await make_user("mira")
    status, headers, _ = await get(client, f"{server.url}/api/v1/timelines/home?max_id=99999999999", mira)
    assert status == 200 and (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("10", "9")
    status, headers, _ = await get(client, f"{server.url}/api/v1/timelines/home", mira)
    assert (headers["X-RateLimit-Limit"], headers["X-RateLimit-Remaining"]) == ("300", "298")
    status, headers, _ = await get(client, f"{server.url}/@mira")
    assert "X-RateLimit-Limit" not in headers  # web pages are not API answers


async def test_turned_off(settings: Settings, fediverse: FakeFediverse, client: aiohttp.ClientSession,
                          monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_unauthenticated_api", 1)
    app = create_app(settings.replace(rate_limits={"enabled": False}),
                     http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as running:
        statuses = [(await get(client, f"{running.url}/api/v1/instance/rules"))[0] for _ in range(3)]
    assert statuses == [200, 200, 200]
    assert await RateLimitBucket.all().count() == 0


async def test_two_servers_share_the_counter(settings: Settings, fediverse: FakeFediverse,
                                             client: aiohttp.ClientSession,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    small(monkeypatch, "throttle_unauthenticated_api", 3)
    first = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    second = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(first) as one, serve_asgi(second) as two:
        urls = [f"{s.url}/api/v1/instance/rules" for s in (one, two, one, two)]
        assert [(await get(client, url))[0] for url in urls] == [200, 200, 200, 429]


# -- sign-in attempts on the OAuth forms -------------------------------------------------------------------

async def test_password_grant_login_attempts(server: RunningServer, client: aiohttp.ClientSession,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_limits, "PER_ADDRESS", (2, 300))
    await make_user("mira")
    flow = OAuthClient(client, server.url)
    app = await flow.register(scopes="read")

    async def attempt(password: str) -> tuple[int, CIMultiDict[str], object]:
        async with client.post(f"{server.url}/oauth/token", data={
                "grant_type": "password", "client_id": app.client_id, "client_secret": app.client_secret,
                "username": "mira@example.org", "password": password, "scope": "read"}) as response:
            return response.status, CIMultiDict(response.headers), await response.json()

    assert (await attempt("wrong"))[0] == 400
    assert (await attempt("wrong again"))[0] == 400
    status, headers, body = await attempt("correct horse battery")  # even the right password, for now
    assert status == 429 and body == {"error": "Too many requests"} and int(headers["Retry-After"]) > 0
    assert headers["Cache-Control"] == "no-store"


async def test_login_attempts_per_account_across_addresses(settings: Settings, fediverse: FakeFediverse,
                                                           client: aiohttp.ClientSession,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_limits, "PER_ACCOUNT", (2, 3600))
    await make_user("mira")
    app_ = create_app(settings.replace(rate_limits={"trusted_proxies": ("127.0.0.2",)}),
                      http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app_) as running:
        flow = OAuthClient(client, running.url)
        registered = await flow.register(scopes="read")
        statuses = []
        for n, login in enumerate(("mira", "MIRA@example.org", "mira")):  # any spelling names the account
            proxied = {"X-Forwarded-For": f"203.0.113.{n}"}
            async with client.post(f"{running.url}/oauth/token", headers=proxied,
                                   data={"grant_type": "password", "client_id": registered.client_id,
                                         "client_secret": registered.client_secret, "username": login,
                                         "password": "wrong", "scope": "read"}) as response:
                statuses.append(response.status)
    assert statuses == [400, 400, 429]


async def test_authorize_form_login_attempts(server: RunningServer, client: aiohttp.ClientSession,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(login_limits, "PER_ADDRESS", (1, 300))
    await make_user("mira")
    flow = OAuthClient(client, server.url)
    app = await flow.register(scopes="read")
    page = await flow.open_authorize(flow.query(app, scope="read"))
    assert page.status == 200, page.text[:300]
    first = await flow.submit(page.form(), login="mira", password="wrong")
    assert first.status == 401, first.text[:300]  # a wrong password (LoginFailed)
    second = await flow.submit(page.form(), login="mira", password="correct horse battery")
    assert second.status == 429 and "Too many sign-in attempts" in second.text
    assert int(second.headers["Retry-After"]) > 0
