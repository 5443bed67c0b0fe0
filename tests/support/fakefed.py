"""The fake fediverse: the only part of the internet tests fake.

Every host name resolves to a server on loopback: either the canned-document server (which answers GETs
with documents registered by URL and records every request, POSTs included) or a live server that a test
routed there (another cara_fed instance, so two instances federate in one process). https is real TLS,
signed by a throw-away CA that only the fake's client sessions trust. Nothing ever leaves 127.0.0.1.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from activitypub.netpolicy import NetworkPolicy, make_session
from tests.support.tls import FakeTLS

ACTIVITY_JSON = "application/activity+json"


@dataclass(frozen=True)
class Canned:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class Recorded:
    method: str
    url: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return orjson.loads(self.body)


@dataclass
class FakeFediverse:
    tls: FakeTLS
    documents: dict[str, Canned] = field(default_factory=dict)
    post_status: dict[str, tuple[int, dict[str, str]]] = field(default_factory=dict)
    requests: list[Recorded] = field(default_factory=list)
    routes: dict[str, int] = field(default_factory=dict)  # host -> loopback port of a live server
    _https_port: int = 0
    _http_port: int = 0

    # -- what tests call ----------------------------------------------------------------------------------

    def serve(self, url: str, body: Any, *, status: int = 200, content_type: str = ACTIVITY_JSON,
              headers: dict[str, str] | None = None) -> None:
        """Answer GET ``url`` with ``body`` (a dict/list is sent as JSON)."""
        raw = body if isinstance(body, bytes) else body.encode() if isinstance(body, str) else orjson.dumps(body)
        self.documents[url] = Canned(status=status, body=raw, headers={"Content-Type": content_type,
                                                                        **(headers or {})})

    def answer_posts(self, url: str, status: int, headers: dict[str, str] | None = None) -> None:
        """POSTs to ``url`` get ``status`` (default 202) and ``headers``."""
        self.post_status[url] = (status, headers or {})

    def route(self, host: str, port: int) -> None:
        """Send traffic for ``host`` to the live server on 127.0.0.1:``port`` (any port the URL names)."""
        self.routes[host.lower()] = port

    @property
    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    def posts_to(self, url: str) -> list[Recorded]:
        return [r for r in self.posts if r.url == url]

    def resolver(self) -> AbstractResolver:
        """The name resolution the fake fediverse uses (every host to loopback), for clients built elsewhere,
        such as activitypub.netpolicy.make_session wrapping it in the SSRF check."""
        return _FakeResolver(self)

    def guarded_session(self, policy: NetworkPolicy) -> aiohttp.ClientSession:
        """What cara_fed's apps get in tests: the production SSRF-guarded session, resolving through the
        fake (the policy must allow 127.0.0.0/8, as the test settings do)."""
        return make_session(policy, inner_resolver=self.resolver(), ssl=self.tls.client_context())

    def session(self, **kwargs: Any) -> aiohttp.ClientSession:
        """A plain client session whose every connection goes to the fake (for tests acting as a peer)."""
        connector = aiohttp.TCPConnector(resolver=self.resolver(), ssl=self.tls.client_context(),
                                         use_dns_cache=False)
        return aiohttp.ClientSession(connector=connector, **kwargs)

    # -- the canned-document server ---------------------------------------------------------------------

    @asynccontextmanager
    async def running(self) -> AsyncIterator[FakeFediverse]:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        https_sock, self._https_port = _loopback_socket()
        http_sock, self._http_port = _loopback_socket()
        await web.SockSite(runner, https_sock, ssl_context=self.tls.server_context()).start()
        await web.SockSite(runner, http_sock).start()
        try:
            yield self
        finally:
            await runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        scheme = "https" if request.transport and request.transport.get_extra_info("sslcontext") else "http"
        url = f"{scheme}://{request.host}{request.path_qs}"
        body = await request.read()
        self.requests.append(Recorded(method=request.method, url=url, headers=dict(request.headers), body=body))
        if request.method == "POST":
            status, headers = self.post_status.get(url, (202, {}))
            return web.Response(status=status, headers=headers)
        canned = self.documents.get(url)
        if canned is None or request.method not in ("GET", "HEAD"):
            return web.json_response({"error": "not found on the fake fediverse"}, status=404)
        return web.Response(status=canned.status, body=canned.body, headers=canned.headers)

    def _port_for(self, host: str, port: int) -> int:
        if host.lower() in self.routes:
            return self.routes[host.lower()]
        return self._http_port if port == 80 else self._https_port


class _FakeResolver(AbstractResolver):
    """Every name resolves to loopback: routed hosts to their live server, the rest to the fake."""

    def __init__(self, fake: FakeFediverse) -> None:
        self._fake = fake

    async def resolve(self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
                      ) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": self._fake._port_for(host, port),
                 "family": socket.AF_INET, "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


def _loopback_socket() -> tuple[socket.socket, int]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    return sock, sock.getsockname()[1]
