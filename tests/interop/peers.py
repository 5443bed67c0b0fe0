"""The real peers, running: Fedify (Node, ../shared/reference/fedify-peer.mjs and its /_test hooks) and
bovine-herd (hypercorn in its own virtualenv; its user driven by ``bovine.BovineClient`` in
bovine_driver.py), each on a free loopback port and always stopped. Nothing here fakes a peer."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from tests.interop.installs import JSONLD_CONTEXTS
from tests.interop.processes import (
    POLL_TIMEOUT,
    PeerProcess,
    log_tail_of,
    poll,
    run_command,
    start_process,
    stop_process,
)
from tests.support.ports import free_port

HERE = Path(__file__).resolve().parent

# -- Fedify -----------------------------------------------------------------------------------------------


@dataclass
class FedifyPeer:
    base: str  # http://127.0.0.1:PORT
    process: PeerProcess
    http: aiohttp.ClientSession

    @property
    def dave(self) -> str:
        return f"{self.base}/users/dave"

    async def follow(self, target: str) -> tuple[int, Any]:
        async with self.http.post(f"{self.base}/_test/follow", params={"target": target}) as response:
            return response.status, await response.json(content_type=None)

    async def post(self, text: str) -> tuple[int, Any]:
        async with self.http.post(f"{self.base}/_test/post", params={"text": text}) as response:
            return response.status, await response.json(content_type=None)

    async def received(self) -> list[dict[str, Any]]:
        async with self.http.get(f"{self.base}/_test/received") as response:
            response.raise_for_status()
            items: list[dict[str, Any]] = await response.json(content_type=None)
            return items


@contextlib.asynccontextmanager
async def run_fedify(install_dir: Path, log_dir: Path, *, extra_ca: Path | None = None
                     ) -> AsyncIterator[FedifyPeer]:
    """``extra_ca``: a CA file Node trusts besides its own (NODE_EXTRA_CA_CERTS)."""
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as http:
        for attempt in range(3):  # the port is free when picked; another process may take it before node
            port = free_port()
            env = {**os.environ, "PORT": str(port), "NODE_ENV": "test"}
            if extra_ca is not None:
                env["NODE_EXTRA_CA_CERTS"] = str(extra_ca)
            peer = await start_process("fedify", ["node", "fedify-peer.mjs"], cwd=install_dir, env=env,
                                       log_path=log_dir / f"fedify-{attempt}.log")
            try:
                fedify = FedifyPeer(base=f"http://127.0.0.1:{port}", process=peer, http=http)
                if await _fedify_ready(fedify):
                    yield fedify
                    return
            finally:
                await stop_process(peer)
        pytest.fail(f"the Fedify peer would not start:\n{peer.log_tail()}", pytrace=False)


async def _fedify_ready(fedify: FedifyPeer) -> bool:
    """True once this very process answers; False if it exited (e.g. EADDRINUSE)."""
    peer = fedify.process

    async def ready() -> str | None:
        if peer.process.returncode is not None:
            return "exited"
        if f"fedify peer on {fedify.base}" not in peer.log_tail():
            return None
        try:
            await fedify.received()
        except aiohttp.ClientError:
            return None
        return "ready"

    return await poll("the Fedify peer to listen", ready, timeout=30, explain=log_tail_of(peer)) == "ready"


# -- bovine-herd ------------------------------------------------------------------------------------------

BOVINE_APP = """\
from quart import Quart
from bovine_herd import BovineHerd

app = Quart(__name__)
BovineHerd(app, db_url="sqlite://herd.sqlite3")
"""


def seed_jsonld_cache(directory: Path) -> None:
    """bovine expands incoming activities with pyld and caches contexts in bovine_jsonld_cache.sqlite in
    its working directory: seed it from the bundled contexts so nothing is ever fetched."""
    contexts = json.loads(JSONLD_CONTEXTS.read_text())
    with contextlib.closing(sqlite3.connect(directory / "bovine_jsonld_cache.sqlite")) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS jsonld (url TEXT PRIMARY KEY, context TEXT)")
        rows = []
        for url, document in contexts.items():
            context = document.get("@context", document) if isinstance(document, dict) else document
            rows.append((url, json.dumps(context)))
        conn.executemany("INSERT OR REPLACE INTO jsonld VALUES (?, ?)", rows)
        conn.commit()


@dataclass
class BovinePeer:
    base: str  # http://127.0.0.1:PORT
    handle: str
    actor_id: str
    process: PeerProcess  # hypercorn serving bovine-herd
    driver: PeerProcess  # bovine_driver.py serve: alice's BovineClient, one JSON command per line
    calls: list[str] = field(default_factory=list)  # what the driver said, for failure messages
    explain: Callable[[], Awaitable[str]] | None = None  # the test's evidence (reporting.evidence sets it)

    @property
    def acct(self) -> str:
        return f"acct:{self.handle}@{self.base.removeprefix('http://')}"

    async def drive(self, command: str, **fields: Any) -> Any:
        """One command for alice's client (see bovine_driver.py); returns its result or fails the test."""
        request = {"command": command, **fields}
        wait = float(fields.get("timeout", POLL_TIMEOUT)) + 15
        answer = await _driver_answer(self.driver, json.dumps(request), wait)
        self.calls.append(f"{json.dumps(request)} -> {json.dumps(answer)[-3000:]}")
        if answer is not None and "ok" in answer:
            return answer["ok"]
        context = await self.explain() if self.explain else f"herd log:\n{self.process.log_tail()}"
        pytest.fail(f"bovine client: {command} {fields} failed: {json.dumps(answer)[-4000:]}\n"
                    f"driver log:\n{self.driver.log_tail()}\n{context}", pytrace=False)


async def _driver_answer(driver: PeerProcess, line: str | None, timeout: float) -> dict[str, Any] | None:
    """Send ``line`` (if any) to the driver and read its one-line JSON answer; None if it died or hung."""
    stdin, stdout = driver.process.stdin, driver.process.stdout
    assert stdin is not None and stdout is not None
    deadline = time.monotonic() + timeout
    try:
        if line is not None:
            stdin.write(line.encode() + b"\n")
            await stdin.drain()
        while raw := await asyncio.wait_for(stdout.readline(), timeout=max(0.0, deadline - time.monotonic())):
            with contextlib.suppress(ValueError):
                answer = json.loads(raw)
                if isinstance(answer, dict) and ("ok" in answer or "error" in answer):
                    return answer
            # anything else a library printed is not an answer: keep reading
    except (TimeoutError, ConnectionError):
        pass
    return None


def bovine_env() -> dict[str, str]:
    env = {**os.environ, "BUTCHER_ALLOW_HTTP": "1", "PYTHONUNBUFFERED": "1"}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    return env


@contextlib.asynccontextmanager
async def run_bovine(venv: Path, workdir: Path, handle: str = "alice") -> AsyncIterator[BovinePeer]:
    """bovine-herd on a fresh loopback port with one user, and a driver process holding her client."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "app.py").write_text(BOVINE_APP)
    seed_jsonld_cache(workdir)
    python = str(venv / "bin" / "python")
    sock = socket.create_server(("127.0.0.1", 0), backlog=128)  # hypercorn serves this very socket (fd://)
    try:
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        code, stdout, stderr = await run_command(
            [python, str(HERE / "bovine_driver.py"), "setup", "--domain", base, "--handle", handle],
            cwd=workdir, env=bovine_env(), timeout=60)
        if code != 0:
            pytest.fail(f"bovine setup failed (exit {code}):\n{stdout[-2000:]}\n{stderr[-4000:]}",
                        pytrace=False)
        account = json.loads(stdout.strip().splitlines()[-1])
        herd = await start_process(
            "bovine-herd", [python, "-m", "hypercorn", "app:app", "--bind", f"fd://{sock.fileno()}"],
            cwd=workdir, env=bovine_env(), log_path=workdir / "herd.log", pass_fds=(sock.fileno(),))
    finally:
        sock.close()  # hypercorn has its own copy
    driver: PeerProcess | None = None
    try:
        async def ready() -> bool:
            if herd.process.returncode is not None:
                pytest.fail(f"bovine-herd exited ({herd.process.returncode}):\n{herd.log_tail()}",
                            pytrace=False)
            acct = f"acct:{handle}@{base.removeprefix('http://')}"
            try:
                async with aiohttp.ClientSession() as http, http.get(
                        f"{base}/.well-known/webfinger", params={"resource": acct}) as response:
                    return response.status == 200
            except aiohttp.ClientError:
                return False

        await poll("bovine-herd to listen", ready, timeout=30, explain=log_tail_of(herd))
        driver = await start_process(
            "bovine driver", [python, str(HERE / "bovine_driver.py"), "serve", "--domain", base,
                              "--secret", account["secret"]],
            cwd=workdir, env=bovine_env(), log_path=workdir / "driver.log", pipes=True)
        hello = await _driver_answer(driver, None, timeout=30)
        if not hello or hello.get("ok", {}).get("ready") != account["actor_id"]:
            pytest.fail(f"bovine client did not start: {hello}\n{driver.log_tail()}\n{herd.log_tail()}",
                        pytrace=False)
        yield BovinePeer(base=base, handle=handle, actor_id=account["actor_id"], process=herd, driver=driver)
    finally:
        if driver is not None:
            await stop_process(driver)
        await stop_process(herd)
