"""fetch_json's limits against loopback servers: the body cap counted after decompression whatever the
framing (security.md item 26) and one total deadline (item 27)."""

from __future__ import annotations

import asyncio
import gzip
from contextlib import AsyncExitStack

import orjson
import pytest
from aiohttp import web

from activitypub.fetch import InvalidDocument, Timeout, TooLarge, TransportError, fetch_json
from tests.unit.activitypub_fetch.conftest import (
    ACTIVITY_JSON,
    HTTP_POLICY,
    POLICY,
    RawServer,
    Remote,
    plain_session,
)


# -- body caps --------------------------------------------------------------------------------------------

TWO_MB = 2 * 1024 * 1024


def padded_document(url: str, size: int) -> bytes:
    head = orjson.dumps({"id": url, "padding": ""})[:-2]
    return head + b"x" * (size - len(head) - 2) + b'"}'


async def test_two_megabytes_with_content_length(remote: Remote) -> None:
    url = remote.url("/big")
    remote.server.document("/big", padded_document(url, TWO_MB))
    with pytest.raises(TooLarge):
        await fetch_json(remote.session, url, policy=POLICY)


async def test_two_megabytes_chunked(remote: Remote) -> None:
    url = remote.url("/big")
    body = padded_document(url, TWO_MB)

    async def chunked(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": ACTIVITY_JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(body), 65536):
            await response.write(body[start:start + 65536])
        return response

    remote.server.route("/big", chunked)
    with pytest.raises(TooLarge):
        await fetch_json(remote.session, url, policy=POLICY)


@pytest.mark.parametrize("size", [1000, 1001])
async def test_the_cap_is_exact(remote: Remote, size: int) -> None:
    url = remote.url("/doc")
    remote.server.document("/doc", padded_document(url, size))
    if size > 1000:
        with pytest.raises(TooLarge):
            await fetch_json(remote.session, url, policy=POLICY, max_bytes=1000)
    else:
        assert len((await fetch_json(remote.session, url, policy=POLICY, max_bytes=1000)).raw_bytes) == size


@pytest.mark.parametrize("chunked", [False, True])
async def test_gzip_bomb_is_capped_after_decompression(remote: Remote, chunked: bool) -> None:
    url = remote.url("/bomb")
    bomb = gzip.compress(b"0" * (10 * 1024 * 1024), compresslevel=9)
    assert len(bomb) < 20_000

    async def serve_bomb(request: web.Request) -> web.StreamResponse:
        headers = {"Content-Type": ACTIVITY_JSON, "Content-Encoding": "gzip"}
        if not chunked:
            return web.Response(body=bomb, headers=headers)
        response = web.StreamResponse(headers=headers)
        response.enable_chunked_encoding()
        await response.prepare(request)
        await response.write(bomb)
        return response

    remote.server.route("/bomb", serve_bomb)
    with pytest.raises(TooLarge):
        await fetch_json(remote.session, url, policy=POLICY)


async def test_compressed_documents_are_decompressed(remote: Remote) -> None:
    url = remote.url("/gz")
    remote.server.route("/gz", _gzip_handler(orjson.dumps({"id": url, "type": "Note"})))
    assert (await fetch_json(remote.session, url, policy=POLICY)).document["type"] == "Note"


def _gzip_handler(body: bytes):  # type: ignore[no-untyped-def]
    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(body=gzip.compress(body),
                            headers={"Content-Type": ACTIVITY_JSON, "Content-Encoding": "gzip"})
    return handler


def raw_answer(head: bytes, body: bytes):  # type: ignore[no-untyped-def]
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(head + b"\r\n\r\n")
        for start in range(0, len(body), 65536):
            writer.write(body[start:start + 65536])
            await writer.drain()
    return handler


async def test_two_megabytes_without_content_length(stack: AsyncExitStack) -> None:
    # Close-delimited body (RFC 9112 section 6.3, rule 8): no length known in advance.
    server = await RawServer(raw_answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                                        b"Connection: close", b'{"id": "' + b"x" * TWO_MB)).start(stack)
    with pytest.raises(TooLarge):
        await fetch_json(await plain_session(stack), f"http://remote.example:{server.port}/big", policy=HTTP_POLICY)


async def test_content_length_claiming_too_much_is_refused_before_reading(stack: AsyncExitStack) -> None:
    server = await RawServer(raw_answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                                        b"Content-Length: 5000000", b"{}")).start(stack)
    with pytest.raises(TooLarge):
        await fetch_json(await plain_session(stack), f"http://remote.example:{server.port}/x", policy=HTTP_POLICY)


async def test_content_length_claiming_too_little_never_yields_more(stack: AsyncExitStack) -> None:
    # 20 bytes announced, 2 MB sent: at most the 20 announced bytes are the body (not a document); the rest
    # is garbage where the next response should start (aiohttp may notice first). Either way the fetch
    # fails, and the connection is not reused: the next fetch opens a new one.
    url = "http://remote.example:{port}/x"
    server = await RawServer(raw_answer(b"HTTP/1.1 200 OK\r\nContent-Type: application/activity+json\r\n"
                                        b"Content-Length: 20", b'{"id": "' + b"x" * TWO_MB)).start(stack)
    session = await plain_session(stack)
    for _ in range(2):
        with pytest.raises((InvalidDocument, TransportError)) as caught:
            await fetch_json(session, url.format(port=server.port), policy=HTTP_POLICY)
        assert len(str(caught.value)) < 1000  # remote bytes in messages are bounded
    assert server.connections == 2


# -- deadline ---------------------------------------------------------------------------------------------

async def test_slowloris_body_is_cut_at_the_deadline(remote: Remote) -> None:
    async def drip(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": ACTIVITY_JSON})
        response.enable_chunked_encoding()
        await response.prepare(request)
        while True:  # one byte every 0.2 s, forever: every read is quick, the whole never ends
            await response.write(b" ")
            await asyncio.sleep(0.2)

    remote.server.route("/slow", drip)
    with pytest.raises(Timeout):
        await fetch_json(remote.session, remote.url("/slow"), policy=POLICY, deadline_seconds=1)


async def test_silent_server_times_out(stack: AsyncExitStack) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(3600)

    server = await RawServer(silent).start(stack)
    with pytest.raises(Timeout):
        await fetch_json(await plain_session(stack), f"http://remote.example:{server.port}/x",
                         policy=HTTP_POLICY, deadline_seconds=0.5)


async def test_one_deadline_covers_all_redirects(remote: Remote) -> None:
    # Each hop answers within 0.4 s, well inside a 1 s deadline; the chain as a whole does not.
    for i in range(3):
        async def slow_redirect(request: web.Request, i: int = i) -> web.StreamResponse:
            await asyncio.sleep(0.4)
            return web.Response(status=302, headers={"Location": f"/h{i + 1}"})
        remote.server.route(f"/h{i}", slow_redirect)
    remote.actor("/h3")
    with pytest.raises(Timeout):
        await fetch_json(remote.session, remote.url("/h0"), policy=POLICY, deadline_seconds=1)
