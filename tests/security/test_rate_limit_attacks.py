"""Attacks on the rate limits (security.md F-41, cf. GHSA-c2r5-cfqr-c553): a client over its limit tries to
get a fresh bucket by sending X-Forwarded-For (believed only from a configured proxy), by prepending a
spoofed address to the proxy's header, by rotating addresses inside its IPv6 /64, or by switching
between its token and no token. Each must stay refused; a real second client behind the trusted proxy
must not be."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiohttp
import pytest

from cara_fed.app import create_app
from cara_fed.models import RateLimitBucket
from cara_fed.services import rate_limits
from cara_fed.services.rate_limits import Limit
from cara_fed.settings import Settings
from tests.support.api import make_user
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi

pytestmark = pytest.mark.usefixtures("database")

LIMIT = 2


@pytest.fixture(autouse=True)
def small_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("throttle_unauthenticated_api", "throttle_per_token_api"):
        monkeypatch.setitem(rate_limits.LIMITS, name, Limit(name, LIMIT, 300))


@pytest.fixture
async def client() -> AsyncIterator[aiohttp.ClientSession]:
    """An attacker connecting from 127.0.0.2 (127.0.0.1 is safelisted, as in Mastodon)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))) as session:
        yield session


@pytest.fixture
async def behind_proxy(settings: Settings, fediverse: FakeFediverse) -> AsyncIterator[RunningServer]:
    """The app with 127.0.0.2 as its trusted proxy (the client connecting from there plays nginx)."""
    app = create_app(settings.replace(rate_limits={"trusted_proxies": ("127.0.0.2",)}),
                     http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as running:
        yield running


async def status_of(client: aiohttp.ClientSession, base: str, headers: dict[str, str] | None = None) -> int:
    async with client.get(f"{base}/api/v1/instance/rules", headers=headers or {}) as response:
        return response.status


async def exhaust(client: aiohttp.ClientSession, base: str, headers: dict[str, str] | None = None) -> None:
    assert [await status_of(client, base, headers) for _ in range(LIMIT)] == [200] * LIMIT
    assert await status_of(client, base, headers) == 429


@pytest.mark.parametrize("forwarded", ["203.0.113.50", "127.0.0.1", "::1", "10.0.0.1, 203.0.113.51",
                                       "garbage", "203.0.113.52:443", ", , ,"])
async def test_x_forwarded_for_from_an_untrusted_peer_does_not_reset_the_bucket(
        server: RunningServer, client: aiohttp.ClientSession, forwarded: str) -> None:
    await exhaust(client, server.url)
    assert await status_of(client, server.url, {"X-Forwarded-For": forwarded}) == 429
    others = {"X-Real-IP": "203.0.113.53", "Forwarded": "for=203.0.113.54"}
    assert await status_of(client, server.url, others) == 429
    keys = set(await RateLimitBucket.all().values_list("key", flat=True))
    assert keys == {"throttle_unauthenticated_api:127.0.0.2"}  # nothing counted under a claimed address


async def test_a_trusted_proxy_is_believed_for_each_client(behind_proxy: RunningServer,
                                                           client: aiohttp.ClientSession) -> None:
    await exhaust(client, behind_proxy.url, {"X-Forwarded-For": "203.0.113.7"})
    # Another real client behind the proxy has its own bucket...
    assert await status_of(client, behind_proxy.url, {"X-Forwarded-For": "203.0.113.8"}) == 200
    # ...but the limited one cannot escape by writing a fake first hop (the proxy appends the real one).
    spoofed = {"X-Forwarded-For": "198.51.100.1, 203.0.113.7"}
    assert await status_of(client, behind_proxy.url, spoofed) == 429
    two_headers = [("X-Forwarded-For", "198.51.100.2"), ("X-Forwarded-For", "203.0.113.7")]
    async with client.get(f"{behind_proxy.url}/api/v1/instance/rules", headers=two_headers) as response:
        assert response.status == 429
    # The proxy itself, forwarding a request without the header, is a client like any other.
    assert await status_of(client, behind_proxy.url) == 200


async def test_rotating_inside_an_ipv6_64_does_not_reset_the_bucket(behind_proxy: RunningServer,
                                                                    client: aiohttp.ClientSession) -> None:
    addresses = ["2001:db8:aa:bb::1", "2001:db8:aa:bb::2", "2001:db8:aa:bb:ffff:ffff:ffff:ffff"]
    statuses = [await status_of(client, behind_proxy.url, {"X-Forwarded-For": a}) for a in addresses]
    assert statuses == [200, 200, 429]
    assert await status_of(client, behind_proxy.url, {"X-Forwarded-For": "[2001:db8:aa:bb::9]:1234"}) == 429
    next_64 = {"X-Forwarded-For": "2001:db8:aa:bc::1"}
    assert await status_of(client, behind_proxy.url, next_64) == 200


async def test_a_limited_token_cannot_continue_anonymously_or_with_a_bad_token(
        server: RunningServer, client: aiohttp.ClientSession) -> None:
    mira = await make_user("mira")
    url = f"{server.url}/api/v1/timelines/public"
    for _ in range(LIMIT):
        async with client.get(url, headers=mira.auth) as response:
            assert response.status == 200
    async with client.get(url, headers=mira.auth) as response:
        assert response.status == 429
    await exhaust(client, server.url)  # the address's own anonymous budget is separate, and runs out too
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Bearer " + "x" * 600}):
        async with client.get(url, headers=headers) as response:
            assert response.status == 429, headers
