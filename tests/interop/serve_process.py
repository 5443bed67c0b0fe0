"""A real `cara-fed serve` process on loopback, for the tests that drive it with real clients (Mastodon.py,
toot) or federate two of them: its own port, database, media directory and log; local users made with
`cara-fed user create`; the in-process job runner on (as `serve` runs by default), so deliveries between two
such processes happen by themselves while the test polls.

The process runs in its own process group and is always stopped (SIGTERM, then SIGKILL). Its log is what a
failure message shows: :func:`logs_on_failure` adds the tails of every instance's log to any failure raised
inside it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp
import pytest

from tests.interop.processes import PeerProcess, run_command, start_process, stop_process
from tests.support.cli import CARA_FED, clean_env
from tests.support.ports import free_port

STARTUP_TIMEOUT = 60.0  # migrations are already applied; this only stops a hung start hanging the suite
COMMAND_TIMEOUT = 60.0  # `cara-fed user create` takes ~2 s (password hash, RSA key)
BIND_ATTEMPTS = 5  # free_port() can race another process for the port: pick another one and retry
LOG_TAIL = 60


@dataclass(frozen=True)
class LocalUser:
    username: str
    email: str
    password: str


@dataclass
class ServedInstance:
    """A running `cara-fed serve` at http://127.0.0.1:PORT, that address being its domain."""

    name: str
    port: int
    workdir: Path
    env: dict[str, str]
    process: PeerProcess
    users: dict[str, LocalUser] = field(default_factory=dict)

    @property
    def domain(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def base(self) -> str:
        return f"http://{self.domain}"

    def log_tail(self, lines: int = LOG_TAIL) -> str:
        return self.process.log_tail(lines)

    def evidence(self) -> str:
        code = self.process.process.returncode
        state = "running" if code is None else f"exited {code}"
        return (f"--- cara-fed serve {self.name!r} at {self.base} ({state}); "
                f"last {LOG_TAIL} lines of {self.process.log_path} ---\n{self.log_tail()}")


def instance_env(port: int, database_url: str, workdir: Path) -> dict[str, str]:
    """A clean environment (no CARA_FED_* of the caller leaks in) for an instance on 127.0.0.1:PORT."""
    return clean_env({
        "CARA_FED_INSTANCE_DOMAIN": f"127.0.0.1:{port}",
        "CARA_FED_INSTANCE_NAME": f"cara interop {port}",
        "CARA_FED_INSTANCE_CONTACT_EMAIL": "admin@example.org",  # as admins set it (openapi: an email)
        "CARA_FED_SERVER_BIND": f"127.0.0.1:{port}",
        "CARA_FED_DATABASE_URL": database_url,
        "CARA_FED_MEDIA_ROOT": str(workdir / "media"),
        "CARA_FED_FEDERATION_ALLOW_HTTP": "true",
        "CARA_FED_FEDERATION_ALLOW_NONPUBLIC": "127.0.0.0/8",
        "CARA_FED_JOBS_POLL_SECONDS": "0.05",
        "CARA_FED_JOBS_LEASE_SECONDS": "10",
        "CARA_FED_LOGGING_FORMAT": "text",
        "CARA_FED_LOGGING_LEVEL": "info",
    })


async def create_users(usernames: Sequence[str], env: dict[str, str], workdir: Path) -> dict[str, LocalUser]:
    """`cara-fed user create NAME --email NAME@example.org --password ...` for each name (one after the
    other: concurrent writers on SQLite would only wait for each other)."""
    users: dict[str, LocalUser] = {}
    for username in usernames:
        user = LocalUser(username, f"{username}@example.org", f"{username} paints in correct horse ink")
        argv = [*CARA_FED, "user", "create", user.username, "--email", user.email,
                "--password", user.password]
        code, stdout, stderr = await run_command(argv, cwd=workdir, env=env, timeout=COMMAND_TIMEOUT)
        if code != 0:
            pytest.fail(f"`cara-fed user create {username}` failed (exit {code}):\n{stdout}\n{stderr}",
                        pytrace=False)
        users[username] = user
    return users


async def _wait_healthy(process: PeerProcess, base: str) -> bool:
    """True once GET /health answers 200; False if the process exits first (the caller reads its log)."""
    deadline = time.monotonic() + STARTUP_TIMEOUT
    timeout = aiohttp.ClientTimeout(total=5)
    async with aiohttp.ClientSession(timeout=timeout) as http:
        while time.monotonic() < deadline:
            if process.process.returncode is not None:
                return False
            try:
                async with http.get(f"{base}/health") as response:
                    if response.status == 200:
                        return True
            except (aiohttp.ClientError, TimeoutError):
                pass  # not listening yet
            await asyncio.sleep(0.05)
    pytest.fail(f"`cara-fed serve` did not answer {base}/health within {STARTUP_TIMEOUT:.0f} s\n"
                f"{process.log_tail(LOG_TAIL)}", pytrace=False)


@asynccontextmanager
async def serve_instance(name: str, database_url: str, workdir: Path, *, users: Sequence[str] = (),
                         extra_env: dict[str, str] | None = None) -> AsyncIterator[ServedInstance]:
    """`cara-fed serve` on a free loopback port with ``database_url`` (a fresh, migrated database) and
    ``users`` created beforehand; stopped (its whole process group) on the way out, whatever happens.
    ``extra_env`` overrides settings (e.g. another public domain, behind a proxy)."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    # Local accounts do not store the domain, so the users made here stay valid if the port changes below.
    created = await create_users(users, instance_env(port, database_url, workdir), workdir)
    log_path = workdir / "serve.log"
    for attempt in range(1, BIND_ATTEMPTS + 1):
        if attempt > 1:
            port = free_port()
        env = {**instance_env(port, database_url, workdir), **(extra_env or {})}
        with log_path.open("a") as log:
            log.write(f"=== attempt {attempt}: cara-fed serve on 127.0.0.1:{port} ===\n")
        process = await start_process(f"cara-fed serve {name}", [*CARA_FED, "serve"], cwd=workdir, env=env,
                                      log_path=log_path)
        try:
            if await _wait_healthy(process, f"http://127.0.0.1:{port}"):
                instance = ServedInstance(name, port, workdir, env, process, created)
                yield instance
                return
        finally:
            await stop_process(process)
        if "cannot listen" not in process.log_tail(5):
            pytest.fail(f"`cara-fed serve` ({name}) exited with {process.process.returncode} while "
                        f"starting:\n{process.log_tail(LOG_TAIL)}", pytrace=False)
    pytest.fail(f"`cara-fed serve` ({name}) found no free port in {BIND_ATTEMPTS} attempts:\n"
                f"{log_path.read_text(errors='replace')[-4000:]}", pytrace=False)


@contextmanager
def logs_on_failure(*instances: ServedInstance) -> Iterator[None]:
    """Any failure raised inside carries the log tails of ``instances`` in its message."""
    try:
        yield
    except (KeyboardInterrupt, SystemExit, asyncio.CancelledError):
        raise
    except BaseException as exc:
        logs = "\n".join(instance.evidence() for instance in instances)
        if isinstance(exc, pytest.fail.Exception):  # its report shows only its message
            exc.msg = f"{exc.msg}\n{logs}"
        else:
            exc.add_note(logs)
        raise
