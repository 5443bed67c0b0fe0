"""Instance endpoints (v1 and v2, both slash forms, unauthenticated, shapes checked against openapi.json)
and CORS on the paths browser clients call."""

from __future__ import annotations

import aiohttp
import pytest

from cara_fed.models import User
from cara_fed.settings import Settings
from tests.support.api import Api, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def settings(settings: Settings) -> Settings:
    # Unset, the address is "" as on Mastodon; openapi.json wants a valid address, so the shape test sets one.
    return settings.replace(instance={"contact_email": "admins@art.example"})


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.mark.parametrize("path", ["/api/v2/instance", "/api/v2/instance/"])
async def test_instance_v2_advertises_generous_limits_and_the_version(api: Api, path: str) -> None:
    admin = await make_user("boss")
    await User.filter(id=admin.user.id).update(role="admin")
    response = await api.get(path)
    assert response.status == 200
    body = response.body
    assert body["version"] == "4.2.0 (compatible; cara-fed 0.1.0)" and "api_versions" not in body
    assert body["domain"] == "art.example" and body["title"] == "Test Atelier"
    media = body["configuration"]["media_attachments"]
    assert media["image_size_limit"] == 40 * 1024 * 1024 and media["image_matrix_limit"] == 100_000_000
    assert "image/avif" in media["supported_mime_types"] and "image/heic" in media["supported_mime_types"]
    assert body["configuration"]["statuses"]["max_media_attachments"] == 20
    assert body["configuration"]["urls"]["streaming"] == "wss://art.example"
    assert body["contact"] == {"email": "admins@art.example", "account": body["contact"]["account"]}
    assert body["contact"]["account"]["username"] == "boss"
    assert body["thumbnail"]["url"].startswith("https://art.example/static/")


@pytest.mark.parametrize("path", ["/api/v1/instance", "/api/v1/instance/"])
async def test_instance_v1_for_toot_and_older_clients(api: Api, path: str) -> None:
    body = (await api.get(path)).body
    assert body["uri"] == "art.example" and body["version"].startswith("4.2.0")
    assert body["contact_account"] is None  # an Account or null, never [] (Raccoon broke on [])
    assert body["urls"]["streaming_api"] == "wss://art.example"
    assert isinstance(body["stats"]["user_count"], int)


async def test_a_token_sent_to_a_public_endpoint_is_never_refused(api: Api) -> None:
    user = await make_user("mira", scopes="read")
    assert (await api.get("/api/v2/instance", user)).status == 200
    assert (await api.get("/api/v1/timelines/public", user)).status == 200
    bogus = await make_user("other")
    bogus.token = "revoked-or-unknown"
    assert (await api.get("/api/v1/timelines/public", bogus)).status == 200


@pytest.mark.parametrize("path", ["/api/v1/timelines/public", "/oauth/token", "/oauth/revoke",
                                  "/.well-known/nodeinfo", "/nodeinfo/2.0", "/api/v2/instance"])
async def test_cors_is_open_on_client_paths(http: aiohttp.ClientSession, server: RunningServer, path: str) -> None:
    preflight = {"Origin": "https://elk.zone", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "authorization, content-type"}
    async with http.options(server.url + path, headers=preflight) as response:
        assert response.status == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
        assert "authorization" in response.headers["Access-Control-Allow-Headers"].lower()
    if path.startswith("/oauth"):
        return
    async with http.get(server.url + path, headers={"Origin": "https://phanpy.social"}) as response:
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        assert "Link" in response.headers["Access-Control-Expose-Headers"]


async def test_pages_are_not_cors_open(http: aiohttp.ClientSession, server: RunningServer) -> None:
    async with http.get(server.url + "/health", headers={"Origin": "https://evil.example"}) as response:
        assert "Access-Control-Allow-Origin" not in response.headers
