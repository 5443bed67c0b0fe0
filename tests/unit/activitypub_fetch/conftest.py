"""Loopback servers that count TCP connections, and a fake DNS, for the SSRF-safe client's tests.

Every server listens on 127.0.0.x with port 0. "Remote" host names are made to point at them by a fake inner
resolver; a test that expects a refusal makes the resolver answer with the address a server really listens
on (or one that reaches it, like 0.0.0.0 or ::ffff:127.0.0.1) and asserts the server saw no connection.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from activitypub.fetch import NetworkPolicy, make_session
from tests.support.tls import FakeTLS

ACTIVITY_JSON = "application/activity+json"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Seen:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class LoopbackServer:
    """An aiohttp app on ``host``:random port; ``connections`` counts accepted TCP connections."""

    host: str = "127.0.0.1"
    ssl_context: ssl.SSLContext | None = None
    routes: dict[str, Handler] = field(default_factory=dict)
    requests: list[Seen] = field(default_factory=list)
    connections: int = 0
    port: int = 0

    def route(self, path: str, handler: Handler) -> None:
        self.routes[path] = handler

    def document(self, path: str, body: Any, *, content_type: str = ACTIVITY_JSON, status: int = 200,
                 headers: dict[str, str] | None = None) -> None:
        raw = body if isinstance(body, bytes) else orjson.dumps(body)

        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, body=raw, headers={"Content-Type": content_type, **(headers or {})})

        self.routes[path] = handler

    def redirect(self, path: str, location: str, status: int = 302) -> None:
        async def handler(request: web.Request) -> web.StreamResponse:
            return web.Response(status=status, headers={"Location": location})

        self.routes[path] = handler

    async def _dispatch(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(Seen(request.method, request.path_qs, dict(request.headers), await request.read()))
        handler = self.routes.get(request.path)
        if handler is None:
            return web.Response(status=404)
        return await handler(request)

    async def start(self, stack: AsyncExitStack) -> LoopbackServer:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._dispatch)
        runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self.host, 0))
        sock.listen(128)
        self.port = sock.getsockname()[1]
        protocol_factory = runner.server
        assert protocol_factory is not None

        def counting_factory() -> Any:
            self.connections += 1
            return protocol_factory()

        server = await asyncio.get_running_loop().create_server(counting_factory, sock=sock, ssl=self.ssl_context)
        stack.push_async_callback(_close_server, server)
        return self


async def _close_server(server: asyncio.AbstractServer) -> None:
    server.close()


RawHandler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@dataclass
class RawServer:
    """A TCP server that answers with whatever bytes a test writes: for framing an aiohttp app won't send."""

    handler: RawHandler
    connections: int = 0
    port: int = 0
    _tasks: set[asyncio.Task[Any]] = field(default_factory=set)

    async def start(self, stack: AsyncExitStack) -> RawServer:
        async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            self.connections += 1
            task = asyncio.current_task()
            if task is not None:
                self._tasks.add(task)
            try:
                await _read_head(reader)
                await self.handler(reader, writer)
            except (ConnectionError, asyncio.CancelledError):
                pass
            finally:
                writer.close()

        server = await asyncio.start_server(on_connection, "127.0.0.1", 0)
        self.port = server.sockets[0].getsockname()[1]
        stack.push_async_callback(self._stop, server)
        return self

    async def _stop(self, server: asyncio.AbstractServer) -> None:
        server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    return await reader.readuntil(b"\r\n\r\n")


class FakeResolver(AbstractResolver):
    """A fake DNS: ``answers[host]`` is a list of (address, port) pairs, or a callable giving one per call
    (to answer differently each time). ``port=None`` keeps the port of the URL. Records every query."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.queries: list[str] = []

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        self.queries.append(host)
        entry = self.answers.get(host)
        if entry is None:
            raise OSError(f"fake DNS: no such host {host}")
        pairs: Sequence[tuple[str, int | None]] = entry() if callable(entry) else entry
        return [{"hostname": host, "host": address, "port": port if p is None else p,
                 "family": socket.AF_INET6 if ":" in address else socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST} for address, p in pairs]

    async def close(self) -> None:
        return None


@pytest.fixture
async def stack() -> AsyncIterator[AsyncExitStack]:
    async with AsyncExitStack() as exit_stack:
        yield exit_stack


# -- a fake remote server over https, reached by name ------------------------------------------------------

POLICY = NetworkPolicy(allow_nonpublic={"127.0.0.1"})  # https only; the fake "remote" hosts live on 127.0.0.1
HTTP_POLICY = NetworkPolicy(allow_http_hosts={"remote.example"}, allow_nonpublic={"127.0.0.1"})
NAMES = ("remote.example", "a.example", "b.example", "c.example")


@dataclass
class Remote:
    server: LoopbackServer
    session: aiohttp.ClientSession
    resolver: FakeResolver

    def url(self, path: str, host: str = "remote.example") -> str:
        return f"https://{host}:{self.server.port}{path}"

    def actor(self, path: str, host: str = "remote.example", **extra: object) -> str:
        url = self.url(path, host)
        self.server.document(path, {"@context": "https://www.w3.org/ns/activitystreams", "id": url,
                                    "type": "Person", **extra})
        return url


@pytest.fixture
async def remote(stack: AsyncExitStack, test_tls: FakeTLS) -> Remote:
    server = await LoopbackServer(ssl_context=test_tls.server_context()).start(stack)
    resolver = FakeResolver({name: [("127.0.0.1", None)] for name in NAMES})
    session = make_session(POLICY, inner_resolver=resolver, ssl=test_tls.client_context())
    stack.push_async_callback(session.close)
    return Remote(server, session, resolver)


async def plain_session(stack: AsyncExitStack) -> aiohttp.ClientSession:
    session = make_session(HTTP_POLICY, inner_resolver=FakeResolver({"remote.example": [("127.0.0.1", None)]}))
    stack.push_async_callback(session.close)
    return session
