"""Serve an ASGI app (a cara_fed instance) with hypercorn on a loopback port the kernel picks."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from hypercorn.asyncio import serve
from hypercorn.config import Config

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
    """Run ``app`` until the block ends. The socket is bound before hypercorn starts (no port race) and
    the block starts only after the app's startup (database, job runner) has finished."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = Config()
    config.bind = [f"fd://{os.dup(sock.fileno())}"]  # hypercorn owns (and closes) the duplicate
    config.accesslog = None
    config.errorlog = logging.getLogger("hypercorn.error")
    config.graceful_timeout = 2
    if tls is not None:
        config.certfile, config.keyfile = str(tls.cert_file), str(tls.key_file)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(app, config, shutdown_trigger=stop.wait))
    try:
        await _wait_until_started(app, task)
        yield RunningServer(host=host, port=port, scheme="https" if tls else "http")
    finally:
        stop.set()
        await task
        sock.close()


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
