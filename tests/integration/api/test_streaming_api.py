"""The streaming API over a real WebSocket: token by query, header or subprotocol (echoed back), the user
stream's updates and notifications, public and hashtag streams, deletes and edits, subscribe frames, and
refusal without a token."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import aiohttp
import orjson
import pytest

from cara_fed.models import Account, Follow
from cara_fed.settings import Settings
from tests.support.api import Api, ApiUser, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")
WAIT = 20.0  # seconds before a missing event fails the test (it normally comes within a poll or two)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(api={"streaming_poll_seconds": 0.05})


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


def ws_url(server: RunningServer, query: str) -> str:
    return server.url.replace("http://", "ws://") + "/api/v1/streaming?" + query


async def next_event(ws: aiohttp.ClientWebSocketResponse, event: str) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        while True:
            message = await ws.receive()
            assert message.type == aiohttp.WSMsgType.TEXT, message
            frame = orjson.loads(message.data)
            if frame["event"] == event:
                return frame
    return await asyncio.wait_for(read(), WAIT)


async def test_user_stream_gets_followed_posts_and_notifications(
        api: Api, http: aiohttp.ClientSession, server: RunningServer) -> None:
    mira, juno = await make_user("mira"), await make_user("juno")
    await Follow.create(account=mira.account, target_account=juno.account)
    async with http.ws_connect(ws_url(server, f"stream=user&access_token={mira.token}")) as ws:
        await asyncio.sleep(0.2)  # let the poller start before the post
        post = (await api.post("/api/v1/statuses", juno, json={"status": "fresh ink"})).body
        frame = await next_event(ws, "update")
        assert frame["stream"] == ["user"]
        assert orjson.loads(frame["payload"])["id"] == post["id"]
        await api.post(f"/api/v1/statuses/{post['id']}/favourite", juno)  # own post: no notification
        mine = (await api.post("/api/v1/statuses", mira, json={"status": "mine"})).body
        await api.post(f"/api/v1/statuses/{mine['id']}/favourite", juno)
        frame = await next_event(ws, "notification")
        payload = orjson.loads(frame["payload"])
        assert payload["type"] == "favourite" and payload["account"]["username"] == "juno"
        await api.put(f"/api/v1/statuses/{post['id']}", juno, json={"status": "fresh ink, edited"})
        edited = await next_event(ws, "status.update")
        assert "edited" in orjson.loads(edited["payload"])["content"]
        await api.delete(f"/api/v1/statuses/{post['id']}", juno)
        deleted = await next_event(ws, "delete")
        assert deleted["payload"] == post["id"]


async def test_subprotocol_token_is_echoed_and_subscribe_frames_work(
        api: Api, http: aiohttp.ClientSession, server: RunningServer) -> None:
    mira = await make_user("mira")
    async with http.ws_connect(ws_url(server, ""), protocols=(mira.token,)) as ws:
        assert ws.protocol == mira.token
        await ws.send_str(orjson.dumps({"type": "subscribe", "stream": "hashtag", "tag": "Linocut"}).decode())
        await ws.send_str("not json")  # ignored
        await asyncio.sleep(0.2)
        await api.post("/api/v1/statuses", mira, json={"status": "no tag here"})
        tagged = (await api.post("/api/v1/statuses", mira, json={"status": "a #linocut"})).body
        frame = await next_event(ws, "update")
        assert frame["stream"] == ["hashtag", "linocut"] and orjson.loads(frame["payload"])["id"] == tagged["id"]


async def test_public_local_stream_and_private_posts_stay_out(
        api: Api, http: aiohttp.ClientSession, server: RunningServer) -> None:
    mira, juno = await make_user("mira"), await make_user("juno")
    headers = {"Authorization": f"Bearer {mira.token}"}
    async with http.ws_connect(ws_url(server, "stream=public:local"), headers=headers) as ws:
        await asyncio.sleep(0.2)
        await api.post("/api/v1/statuses", juno, json={"status": "secret", "visibility": "private"})
        public = (await api.post("/api/v1/statuses", juno, json={"status": "open"})).body
        frame = await next_event(ws, "update")
        assert frame["stream"] == ["public:local"] and orjson.loads(frame["payload"])["id"] == public["id"]


async def test_without_a_valid_token_the_socket_is_refused(http: aiohttp.ClientSession,
                                                            server: RunningServer) -> None:
    for query in ("stream=user", "stream=user&access_token=wrong"):
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            async with http.ws_connect(ws_url(server, query)):
                pass
        assert refused.value.status == 401


async def test_streaming_health(http: aiohttp.ClientSession, server: RunningServer) -> None:
    async with http.get(server.url + "/api/v1/streaming/health") as response:
        assert response.status == 200 and (await response.text()) == "OK"


async def test_a_suspended_accounts_stream_is_closed(http: aiohttp.ClientSession, server: RunningServer) -> None:
    """security.md F-43: an open stream does not outlive its account's suspension (nor its token)."""
    mira = await make_user("mira")
    async with http.ws_connect(ws_url(server, f"stream=user&access_token={mira.token}")) as ws:
        await Account.filter(id=mira.account.id).update(suspended_at=datetime.now(UTC))
        message = await asyncio.wait_for(ws.receive(), WAIT)
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED), message
