"""The inbox's own lane: a delivery signed with a key already in memory is answered at the ASGI level, past
the web framework; everything else goes on to the app's routes as before.

Why: deliveries are most of a federated server's requests, and the framework's work on each -- a request
and its context, before- and after-request hooks, a response object -- was the larger part of an inbox
request's CPU after the inbox's own work had been cut down (bench/inbox.py). Here the same shortcut as
web/inbox.py's runs on the ASGI message itself: parse, verify with the cached key, store in the intake's
group commit, answer 202.

Nothing about the answer may differ from the route's (tests/security/test_inbox_lane.py compares them):
- it is taken only by a POST to an inbox path with no query string (no rate limit counts such a request:
  services/rate_limits.request_limits) whose body fits the inbox's 1 MiB cap;
- the 202 carries the headers the app's hooks put on it: the no-AI reservation of that path, the request
  id (the client's, if it looks like one), and the request is logged the same way;
- anything that does not end in a 202 here -- a body that is not an activity, an unknown or stale key, a
  failed check, a refused recipient, an error -- goes to the route with the body replayed, and the route
  gives the answer it always gave (nothing was stored on the way: the intake stores only what it accepts).
The route's own copy of the shortcut (the same function) serves the deliveries the lane leaves to it because
of how they came: with a query string, or to an app mounted under a root path.
A request hook added to the app is skipped here until the test listing the hooks the lane stands in for
says why (tests/security/test_inbox_lane.py); the same file checks ``_INBOX_PATH`` against the routes.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any, cast

from quart import Quart
from werkzeug.datastructures import Headers

from cara_fed.logs import log_request, start_request
from cara_fed.web.inbox import (
    MAX_INBOX_BYTES, SignedRequest, accept_with_known_key, parse_activity, request_target,
)
from cara_fed.web.noai import noai_policy
from cara_fed.web.state import AppState
from media.noai.headers import noai_headers

log = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

# The inbox routes of web/inbox.py; a username is one path segment (werkzeug's default converter).
_INBOX_PATH = re.compile(r"/users/([^/]+)/inbox|/inbox|/actor/inbox")  # used with fullmatch


_EXTENSION = "cara_fed_inbox_lane"


def install_inbox_lane(app: Quart, state: AppState) -> None:
    """Put the lane in front of the app's routes (inside whatever wraps ``app.asgi_app`` later)."""
    lane = InboxLane(app, state, app.asgi_app)
    app.extensions[_EXTENSION] = lane
    app.asgi_app = lane  # type: ignore[method-assign, assignment]


def inbox_lane(app: Quart) -> InboxLane:
    lane: InboxLane = app.extensions[_EXTENSION]
    return lane


class InboxLane:
    def __init__(self, app: Quart, state: AppState, routes: Any) -> None:  # Any: Quart's own ASGI types
        self.app = app
        self.state = state
        self.routes = routes
        self.answered = 0  # deliveries answered here, not by the route (tests read it)
        self._reservations: dict[tuple[str | None, bool], list[tuple[bytes, bytes]]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST" and not scope.get("query_string") \
                and not scope.get("root_path") and self.state.federation is not None:
            found = _INBOX_PATH.fullmatch(scope["path"])
            if found is not None:
                await self._inbox(scope, receive, send, found.group(1))
                return
        await self.routes(scope, receive, send)

    async def _inbox(self, scope: Scope, receive: Receive, send: Send, username: str | None) -> None:
        started = time.perf_counter()
        headers = _request_headers(scope)
        request_id = start_request(headers.get("X-Request-Id"))  # what is logged meanwhile carries it
        messages, body = await _read_body(receive, headers, MAX_INBOX_BYTES)
        if body is None or not await self._accepted(scope, headers, body, username):
            await self.routes(scope, _replaying(messages, receive), send)  # the route's answer, as ever
            return
        reply = [(b"content-type", b"text/html; charset=utf-8"), (b"content-length", b"0"),
                 *await self._reservation(scope["path"]), (b"x-request-id", request_id.encode())]
        await send({"type": "http.response.start", "status": 202, "headers": reply})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
        self.answered += 1
        log_request("POST", scope["path"], 202, started, time.perf_counter())

    async def _accepted(self, scope: Scope, headers: Headers, body: bytes, username: str | None) -> bool:
        """True once the activity is stored (or rightly dropped); False leaves the request to the route."""
        federation = self.state.federation
        parsed = parse_activity(body)
        if federation is None or isinstance(parsed, str):
            return False
        activity, actor = parsed
        # werkzeug's Headers, as the route passes them: a mapping whose items() yields each repeated field
        signed = SignedRequest("POST", request_target(scope), cast(Mapping[str, str], headers),
                               scope.get("scheme", "http"))
        try:
            return await accept_with_known_key(federation, username, signed, body, activity, actor)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the route answers it (a refused recipient, an error) as it always has
            log.debug("inbox lane passes a delivery to the route", exc_info=True)
            return False

    async def _reservation(self, path: str) -> list[tuple[bytes, bytes]]:
        """The no-AI headers the app's hook puts on this path's answers (web/noai.py)."""
        signals = await noai_policy(self.app).page_signals(path)
        key = (signals.policy_url, signals.search)
        encoded = self._reservations.get(key)
        if encoded is None:
            encoded = [(name.lower().encode("latin-1"), value.encode("latin-1"))
                       for name, value in noai_headers(signals.policy_url, search=signals.search)]
            self._reservations[key] = encoded
        return encoded


def _request_headers(scope: Scope) -> Headers:
    """The headers as the route's request has them (quart/asgi.py ``_create_request_from_scope``), so that a
    signature covers the same fields whichever way the request went: Quart puts the client's address
    first, as a ``Remote-Addr`` field, and gives an HTTP/1.0 request without Host an empty one."""
    client = scope.get("client")
    headers = Headers([("Remote-Addr", client[0] if client else "<local>"),
                       *[(name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]]])
    if scope.get("http_version", "1.1") < "1.1":
        headers.setdefault("Host", "")  # SERVER_NAME, which cara_fed never sets
    return headers


async def _read_body(receive: Receive, headers: Headers, limit: int) -> tuple[list[Message], bytes | None]:
    """The messages received and the body, or None for the body when it is over ``limit`` or the client
    went away (the route then answers as it does)."""
    messages: list[Message] = []
    declared = headers.get("Content-Length")
    if declared is not None and not (declared.isascii() and declared.isdigit() and int(declared) <= limit):
        return messages, None
    size = 0
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request":
            return messages, None
        size += len(message.get("body", b""))
        if size > limit:
            return messages, None
        if not message.get("more_body", False):
            break
    return messages, b"".join(message.get("body", b"") for message in messages)


def _replaying(messages: list[Message], receive: Receive) -> Receive:
    """``receive`` that first gives back the messages already taken from it."""
    pending = deque(messages)

    async def replayed() -> Message:
        return pending.popleft() if pending else await receive()

    return replayed
