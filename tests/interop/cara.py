"""A cara_fed instance for real peers: served over plain http on 127.0.0.1:PORT with that very address as
its domain (so actor ids are http://127.0.0.1:PORT/users/NAME and peers reach it directly), its real
SSRF-guarded HTTP client allowed to reach loopback, and its in-process job runner on (as `cara-fed serve`
runs it), so deliveries happen by themselves while the test polls."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from hypercorn.asyncio import serve

from cara_fed.app import create_app
from cara_fed.models import Job
from cara_fed.models.jobs import DEAD
from cara_fed.serving import hypercorn_config, open_listener
from cara_fed.settings import Settings
from tests.interop.reporting import RecordingHandler, recording_logs
from tests.interop.tlsfront import LoopbackCA, TlsFront, tls_front
from tests.support.instances import Instance


@dataclass
class CaraInstance(Instance):
    front: TlsFront | None = None
    logs: RecordingHandler | None = None

    def log_lines(self) -> list[str]:
        return list(self.logs.lines) if self.logs else []

    @property
    def base(self) -> str:
        return self.settings.base_url

    def actor_url(self, username: str) -> str:
        return f"{self.base}/users/{username}"

    def acct(self, username: str) -> str:
        return f"acct:{username}@{self.domain}"

    async def jobs(self) -> list[tuple[str, str, int, str | None]]:
        """(kind, state, attempts, last error) of every job: evidence when something did not arrive."""
        with self.db():
            return [(j.kind, j.state, j.attempts, j.last_error) for j in await Job.all().order_by("id")]

    async def failed_jobs(self) -> list[tuple[str, str, int, str | None]]:
        """Jobs that died or had to be retried (a clean exchange has none)."""
        return [job for job in await self.jobs() if job[1] == DEAD or job[3] is not None]


@asynccontextmanager
async def serve_cara(database_url: str, workdir: Path, *, tls_ca: LoopbackCA | None = None
                     ) -> AsyncIterator[CaraInstance]:
    """``tls_ca``: also answer https on the instance's port (see tlsfront.py); the ids stay http."""
    # Bind first: the port is part of the domain, which the settings need before the app exists.
    listener = open_listener("127.0.0.1:0")
    assert listener.port is not None
    front_sock = socket.create_server(("127.0.0.1", 0), backlog=128) if tls_ca else None
    public_port = front_sock.getsockname()[1] if front_sock else listener.port
    domain = f"127.0.0.1:{public_port}"
    settings = Settings().replace(
        instance={"domain": domain, "name": "cara interop"},
        database={"url": database_url},
        media={"root": str(workdir / "media")},
        jobs={"poll_seconds": 0.05, "lease_seconds": 10.0},
        federation={"allow_http": True, "allow_nonpublic": ("127.0.0.0/8",)},
        logging={"format": "text"},
    )
    app = create_app(settings, run_jobs=True)
    instance = CaraInstance(domain=domain, settings=settings, app=app)
    stop = asyncio.Event()
    async with AsyncExitStack() as stack:
        if front_sock is not None:
            stack.callback(front_sock.close)
        instance.logs = stack.enter_context(recording_logs("cara_fed", "activitypub", "webfinger"))
        task = asyncio.create_task(serve(app, hypercorn_config(listener, graceful_timeout=2),
                                         shutdown_trigger=stop.wait), name=f"cara {domain}")

        async def shutdown() -> None:
            stop.set()
            await task

        stack.push_async_callback(shutdown)
        for _ in range(1000):
            if task.done():
                task.result()
                raise RuntimeError("cara_fed stopped during startup")
            if instance.state.started:
                break
            await asyncio.sleep(0.01)
        else:
            raise TimeoutError("cara_fed did not start within 10 s")
        if tls_ca is not None and front_sock is not None:
            instance.front = await stack.enter_async_context(tls_front(listener.port, tls_ca, front_sock))
        yield instance
