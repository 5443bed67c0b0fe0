"""fetch_json throughput: fetches per second of a small ActivityStreams document from a loopback server.

    .venv/bin/python -m bench.fetch [--requests 5000] [--concurrency 1 16]

The server (aiohttp) runs in a child process so the figure is the client's. Every fetch goes through the
whole SSRF-safe path: a host name resolved by the policy resolver (aiohttp's DNS cache on, as in
production), keep-alive connections, Content-Type and id checks, the body cap and the total deadline. A
plain ``session.get`` + ``orjson.loads`` on the same session is printed next to it for comparison.
Each figure is the best of two interleaved runs. Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult

from activitypub.fetch import NetworkPolicy, fetch_json, make_session

HOST = "bench.example"


def document(port: int) -> bytes:
    actor = f"http://{HOST}:{port}/users/alice"
    return orjson.dumps({
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": actor, "type": "Person", "preferredUsername": "alice", "name": "Alice",
        "inbox": f"{actor}/inbox", "outbox": f"{actor}/outbox", "followers": f"{actor}/followers",
        "publicKey": {"id": f"{actor}#main-key", "owner": actor, "publicKeyPem": "-----BEGIN PUBLIC KEY-----\n"
                      + "A" * 392 + "\n-----END PUBLIC KEY-----\n"},
    })


def serve(sock: socket.socket) -> None:
    body = document(sock.getsockname()[1])

    async def actor(request: web.Request) -> web.Response:
        return web.Response(body=body, content_type="application/activity+json")

    app = web.Application()
    app.router.add_get("/users/alice", actor)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


class LoopbackResolver(AbstractResolver):
    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": socket.AF_INET, "proto": 0,
                 "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        return None


async def rate(requests: int, concurrency: int, one: Callable[[], Awaitable[object]]) -> float:
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            await one()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return requests / (time.perf_counter() - started)


async def measure(port: int, requests: int, concurrencies: list[int]) -> None:
    policy = NetworkPolicy(allow_http_hosts={HOST}, allow_nonpublic={"127.0.0.1"})
    url = f"http://{HOST}:{port}/users/alice"
    async with make_session(policy, inner_resolver=LoopbackResolver(), limit_per_host=64) as session:
        async def checked() -> object:
            return await fetch_json(session, url, policy=policy)

        async def plain() -> object:
            async with session.get(url) as response:
                return orjson.loads(await response.read())

        for _ in range(200):  # warm up: connections, DNS cache
            await checked()
        size = len((await fetch_json(session, url, policy=policy)).raw_bytes)
        print(f"document: {size} bytes; {requests} requests per figure; server in a separate process")
        for concurrency in concurrencies:
            # Interleaved, best of two each: the machine's noise hits both alike.
            fetched, raw = 0.0, 0.0
            for _ in range(2):
                raw = max(raw, await rate(requests, concurrency, plain))
                fetched = max(fetched, await rate(requests, concurrency, checked))
            print(f"concurrency {concurrency:>3}: fetch_json {fetched:8.0f} fetches/s   "
                  f"(plain session.get + orjson {raw:8.0f}/s; fetch_json costs {100 * raw / fetched - 100:+.0f}%)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 16])
    args = parser.parse_args()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    server = multiprocessing.get_context("fork").Process(target=serve, args=(sock,), daemon=True)
    server.start()
    try:
        asyncio.run(measure(sock.getsockname()[1], args.requests, args.concurrency))
    finally:
        server.terminate()
        server.join(timeout=5)
        sock.close()


if __name__ == "__main__":
    main()
