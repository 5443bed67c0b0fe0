"""Serve an ASGI app (a cara_fed instance) with hypercorn on a loopback port the kernel picks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from hypercorn.asyncio import serve

from cara_fed.serving import hypercorn_config, open_listener
from tests.support.tls import FakeTLS


@dataclass(frozen=True)
class RunningServer:
    host: str
    port: int
    scheme: str

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}:{self.port}"


@asynccontextmanager
async def serve_asgi(app: Any, *, tls: FakeTLS | None = None, host: str = "127.0.0.1") -> AsyncIterator[RunningServer]:
    """Run ``app`` until the block ends, on a port the kernel picks (bound before hypercorn starts, as
    `cara-fed serve` does). The block starts only after the app's startup (database, job runner)."""
    listener = open_listener(f"{host}:0")
    assert listener.port is not None
    config = hypercorn_config(listener, certfile=str(tls.cert_file) if tls else None,
                              keyfile=str(tls.key_file) if tls else None, graceful_timeout=2)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        await _wait_until_started(app, task)
        yield RunningServer(host=host, port=listener.port, scheme="https" if tls else "http")
    finally:
        stop.set()
        await task


async def _wait_until_started(app: Any, task: asyncio.Task[None]) -> None:
    state = getattr(app, "extensions", {}).get("cara_fed")
    for _ in range(1000):
        if task.done():
            task.result()  # raise the startup failure
            raise RuntimeError("server stopped during startup")
        if state is None or state.started:
            return
        await asyncio.sleep(0.01)
    raise TimeoutError("app did not start within 10 s")
