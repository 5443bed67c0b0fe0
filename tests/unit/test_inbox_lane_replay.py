"""What the inbox lane (cara_fed/web/inbox_lane.py) hands to the routes when it does not read a delivery
whole: the routes must receive the request exactly as it came, from the first message on. Here the routes
are a recording ASGI app and the lane never gets as far as a signature (tests/security/test_inbox_lane.py
runs the whole path over HTTP)."""

from __future__ import annotations

from collections.abc import MutableMapping
from types import SimpleNamespace
from typing import Any, cast

import pytest

from cara_fed.web.inbox import MAX_INBOX_BYTES
from cara_fed.web.inbox_lane import InboxLane

Message = MutableMapping[str, Any]


def scope(path: str = "/inbox", *, content_length: int | None = None, query: bytes = b"") -> dict[str, Any]:
    headers = [(b"host", b"a.example"), (b"content-type", b"application/activity+json")]
    if content_length is not None:
        headers.append((b"content-length", str(content_length).encode()))
    return {"type": "http", "method": "POST", "path": path, "raw_path": path.encode(), "query_string": query,
            "headers": headers, "scheme": "https", "http_version": "1.1", "root_path": ""}


class Client:
    """The messages a client sends, given out one ``receive()`` at a time; how many were taken."""

    def __init__(self, messages: list[Message]) -> None:
        self.messages = list(messages)
        self.taken = 0

    async def receive(self) -> Message:
        self.taken += 1
        return self.messages.pop(0) if self.messages else {"type": "http.disconnect"}


class Routes:
    """Records what the app's routes would have received, reading until the body is complete."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def __call__(self, _scope: Any, receive: Any, _send: Any) -> None:
        while True:
            message = await receive()
            self.received.append(message)
            if message["type"] != "http.request" or not message.get("more_body", False):
                return


def lane(routes: Routes) -> InboxLane:
    state = SimpleNamespace(federation=object())  # started; never reached by these requests
    return InboxLane(cast(Any, None), cast(Any, state), routes)


async def no_send(_message: Message) -> None:
    raise AssertionError("the lane answered a request it should have left to the routes")


def chunk(body: bytes, more: bool) -> Message:
    return {"type": "http.request", "body": body, "more_body": more}


async def test_a_client_gone_mid_body_reaches_the_routes_as_it_came() -> None:
    sent = [chunk(b'{"type": "Cre', True), {"type": "http.disconnect"}]
    client, routes = Client(sent), Routes()

    await lane(routes)(scope(), client.receive, no_send)

    assert routes.received == sent


async def test_a_declared_length_over_the_cap_is_not_read_by_the_lane() -> None:
    sent = [chunk(b"x" * 10, False)]
    client, routes = Client(sent), Routes()

    await lane(routes)(scope(content_length=MAX_INBOX_BYTES + 1), client.receive, no_send)

    assert routes.received == sent and client.taken == 1  # the routes' own read, nothing before it


async def test_a_chunked_body_over_the_cap_stops_the_lanes_reading_and_the_routes_get_all_of_it() -> None:
    piece = b"x" * (256 * 1024)
    sent = [chunk(piece, True) for _ in range(6)] + [chunk(b"", False)]
    client, routes = Client(sent), Routes()

    await lane(routes)(scope(), client.receive, no_send)

    assert routes.received == sent  # the 5 the lane read (1.25 MiB > 1 MiB), then the rest from the client


@pytest.mark.parametrize("request_scope", [
    scope(query=b"page=1"),
    scope("/users/mira/outbox"),
    {**scope(), "method": "PUT"},
    {**scope(), "root_path": "/cara"},
], ids=["query string", "not an inbox", "not a POST", "under a root path"])
async def test_other_requests_go_to_the_routes_untouched(request_scope: dict[str, Any]) -> None:
    sent = [chunk(b"{}", False)]
    client, routes = Client(sent), Routes()

    await lane(routes)(request_scope, client.receive, no_send)

    assert routes.received == sent and client.taken == 1
