"""Run the real `cara-fed` console script as a subprocess, and look into its database from the outside.

Every run gets a clean environment (no CARA_FED_* variable of the developer's or the test harness's leaks
in), a working directory chosen by the test, stdin at EOF unless the test pipes something, and a timeout.
"""

from __future__ import annotations

import asyncio
import http.client
import os
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

# The installed console script next to the interpreter running the tests; `python -m` as a fallback.
_SCRIPT = Path(sys.executable).with_name("cara-fed")
CARA_FED: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "cara_fed.cli"]

COMMAND_TIMEOUT = 60.0  # generous: a run takes ~1 s; the limit only stops a hung command hanging the suite


@dataclass(frozen=True)
class CliResult:
    args: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]

    def __str__(self) -> str:  # shown by pytest when an assertion about the result fails
        return f"$ {' '.join(self.args)}\n[exit {self.code}]\n[stdout]\n{self.stdout}[stderr]\n{self.stderr}"


def clean_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_FED_")}
    env.update(extra or {})
    return env


def run_cli(args: Sequence[str], *, cwd: Path, stdin: str | None = None, env: Mapping[str, str] | None = None,
            timeout: float = COMMAND_TIMEOUT) -> CliResult:
    """Run ``cara-fed ARGS`` to completion. ``env`` is added to a clean environment."""
    argv = [*CARA_FED, *args]
    done = subprocess.run(
        argv, cwd=cwd, env=clean_env(env), timeout=timeout, capture_output=True, text=True,
        input=stdin, stdin=subprocess.DEVNULL if stdin is None else None, check=False)
    return CliResult(args=["cara-fed", *args], code=done.returncode, stdout=done.stdout, stderr=done.stderr)


def write_config(directory: Path, database_url: str, *, name: str = "cara.toml", extra: str = "") -> Path:
    """A config file for ``database_url`` (logging left at its default, json)."""
    path = directory / name
    path.write_text(
        "[instance]\n"
        'domain = "art.example"\n'
        'name = "Test Atelier"\n'
        "\n[database]\n"
        f"url = {_toml_string(database_url)}\n"
        "\n[media]\n"
        f"root = {_toml_string(str(directory / 'media'))}\n"
        "\n[jobs]\n"
        "poll_seconds = 0.1\n"
        + extra,
        encoding="utf-8")
    return path


def _toml_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def assert_one_line_failure(result: CliResult, code: int, *mentions: str) -> str:
    """The command failed with ``code``, saying so in exactly one stderr line that contains each of
    ``mentions``, and no traceback anywhere. Returns the line."""
    assert result.code == code, result
    assert "Traceback" not in result.stdout and "Traceback" not in result.stderr, result
    lines = result.stderr_lines
    assert len(lines) == 1, result
    for text in mentions:
        assert text in lines[0], result
    return lines[0]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def http_get(port: int, path: str, *, timeout: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """A plain GET to 127.0.0.1 (http.client: no proxy from the environment can get in the way)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


# -- the database, from outside the application ------------------------------------------------------------


def sqlite_file(database_url: str) -> Path | None:
    return Path(database_url[len("sqlite://"):]) if database_url.startswith("sqlite://") else None


async def query(database_url: str, sql: str) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` read straight from the database (sqlite3 or asyncpg), not through cara_fed."""
    path = sqlite_file(database_url)
    if path is not None:
        def read() -> list[tuple[Any, ...]]:
            conn = sqlite3.connect(path)
            try:
                return [tuple(row) for row in conn.execute(sql).fetchall()]
            finally:
                conn.close()

        return await asyncio.to_thread(read)
    conn = await asyncpg.connect(database_url, timeout=10)
    try:
        return [tuple(row) for row in await conn.fetch(sql)]
    finally:
        await conn.close()


def sqlite_files(database_url: str) -> list[Path]:
    """The database file and its companions (-wal, -shm, -journal) that exist."""
    path = sqlite_file(database_url)
    assert path is not None
    return sorted(p for p in path.parent.glob(path.name + "*") if p.is_file())
