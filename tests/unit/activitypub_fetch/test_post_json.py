"""post_json (deliveries) against a loopback https server: every answer is a result, redirects are not
followed, responses are bounded, the deadline holds, requests are signed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp import web

from activitypub.fetch import BlockedDestination, NetworkPolicy, Timeout, make_session, post_json
from tests.support.tls import FakeTLS
from tests.unit.activitypub_fetch.conftest import FakeResolver, LoopbackServer

POLICY = NetworkPolicy(allow_nonpublic={"127.0.0.1"})
ACTIVITY = b'{"type": "Create", "id": "https://local.example/users/a/statuses/1/activity"}'


@pytest.fixture
async def inbox(stack: AsyncExitStack, test_tls: FakeTLS) -> tuple[LoopbackServer, aiohttp.ClientSession]:
    server = await LoopbackServer(ssl_context=test_tls.server_context()).start(stack)
    session = make_session(POLICY, inner_resolver=FakeResolver({"remote.example": [("127.0.0.1", None)]}),
                           ssl=test_tls.client_context())
    stack.push_async_callback(session.close)
    return server, session


def answer(status: int, headers: dict[str, str] | None = None, body: bytes = b""):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers=headers or {}, body=body)
    return handler


async def test_delivery_is_signed_and_sent_as_given(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    server.route("/inbox", answer(202))
    url = f"https://remote.example:{server.port}/inbox"
    calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def sign(method: str, target: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        calls.append((method, target, dict(headers), body))
        return {"Digest": "SHA-256=abc", "Signature": "sig"}

    result = await post_json(session, url, ACTIVITY, policy=POLICY, headers={"X-Extra": "1"}, sign=sign)
    assert result.ok and result.status == 202 and result.retry_after is None
    assert calls == [("POST", url, {"X-Extra": "1", "Content-Type": "application/activity+json"}, ACTIVITY)]
    seen = server.requests[0]
    assert (seen.method, seen.path, seen.body) == ("POST", "/inbox", ACTIVITY)
    assert seen.headers["Signature"] == "sig" and seen.headers["Digest"] == "SHA-256=abc"
    assert seen.headers["Content-Type"] == "application/activity+json"


async def test_callers_content_type_is_kept(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    server.route("/inbox", answer(202))
    content_type = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
    await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                    headers={"content-type": content_type})
    assert server.requests[0].headers["Content-Type"] == content_type


@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (200, None, None), (202, None, None), (204, None, None), (400, None, None), (401, None, None),
    (404, None, None), (410, None, None), (429, "30", 30.0), (500, None, None), (503, "nonsense", None),
])
async def test_every_status_is_a_result(inbox: tuple[LoopbackServer, aiohttp.ClientSession], status: int,
                                        retry_after: str | None, expected: float | None) -> None:
    server, session = inbox
    server.route("/inbox", answer(status, {"Retry-After": retry_after} if retry_after else None))
    result = await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                             headers={})
    assert (result.status, result.ok, result.retry_after) == (status, 200 <= status < 300, expected)


async def test_retry_after_date(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    when = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    server.route("/inbox", answer(503, {"Retry-After": when}))
    result = await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                             headers={})
    assert result.retry_after is not None and 3500 < result.retry_after <= 3600


@pytest.mark.parametrize("status", [301, 302, 307, 308])
async def test_redirects_are_failures_not_followed(inbox: tuple[LoopbackServer, aiohttp.ClientSession],
                                                   status: int) -> None:
    server, session = inbox
    server.route("/inbox", answer(status, {"Location": "/elsewhere"}))
    server.route("/elsewhere", answer(202))
    result = await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                             headers={})
    assert result.status == status and not result.ok
    assert [r.path for r in server.requests] == ["/inbox"]


async def test_large_answers_are_cut_not_buffered(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    server.route("/inbox", answer(202, body=b"x" * 1_000_000))
    result = await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                             headers={})
    assert result.ok and result.body == b"x" * 65536
    small = await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                            headers={}, max_response_bytes=10)
    assert small.body == b"x" * 10


async def test_deliveries_keep_the_connection_alive(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    server.route("/inbox", answer(202, body=b'{"ok": true}'))
    for _ in range(5):
        await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY, headers={})
    assert server.connections == 1


async def test_slow_inbox_times_out(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox

    async def slow(request: web.Request) -> web.StreamResponse:
        await asyncio.sleep(30)
        return web.Response(status=202)

    server.route("/inbox", slow)
    with pytest.raises(Timeout):
        await post_json(session, f"https://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY,
                        headers={}, deadline_seconds=0.5)


async def test_plain_http_inbox_is_refused(inbox: tuple[LoopbackServer, aiohttp.ClientSession]) -> None:
    server, session = inbox
    with pytest.raises(BlockedDestination):
        await post_json(session, f"http://remote.example:{server.port}/inbox", ACTIVITY, policy=POLICY, headers={})
    assert server.connections == 0
