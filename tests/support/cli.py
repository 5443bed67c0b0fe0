"""Run the real `cara-fed` console script, each command in a process of its own, and look into its database
from the outside.

Every run gets a clean environment (no CARA_FED_* variable of the developer's or the test harness's leaks
in), a working directory chosen by the test, stdin at EOF unless the test pipes something, and a timeout.

A run is forked from a pre-imported copy of the console script (cli_forkserver.py, which says what that
keeps and what it changes): on an idle machine `accounts list` took 0.12 s so against 0.70 s in a new
interpreter, mostly imports, and the admin tests run dozens of commands. ``fresh=True``, or
CARA_FED_TEST_CLI=fresh for the whole suite, starts a new interpreter instead.
"""

from __future__ import annotations

import asyncio
import http.client
import locale
import os
import sqlite3
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from tests.support import cli_forkserver

# The installed console script next to the interpreter running the tests; `python -m` as a fallback.
_SCRIPT = Path(sys.executable).with_name("cara-fed")
CARA_FED: list[str] = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "cara_fed.cli"]

# CARA_FED_TEST_CLI=fresh: every command in a new interpreter (to compare with the fork server's runs).
_FORK = os.environ.get("CARA_FED_TEST_CLI", "fork") != "fresh"

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
            timeout: float = COMMAND_TIMEOUT, fresh: bool = False) -> CliResult:
    """Run ``cara-fed ARGS`` to completion. ``env`` is added to a clean environment. ``fresh``: in a new
    interpreter, not forked from the pre-imported one."""
    run_env = clean_env(env)
    if fresh or not _FORK or not _SCRIPT.exists():
        done = subprocess.run(
            [*CARA_FED, *args], cwd=cwd, env=run_env, timeout=timeout, capture_output=True, text=True,
            input=stdin, stdin=subprocess.DEVNULL if stdin is None else None, check=False)
        return CliResult(args=["cara-fed", *args], code=done.returncode, stdout=done.stdout,
                         stderr=done.stderr)
    server = cli_forkserver.shared(str(_SCRIPT), clean_env())
    if not server.serves(run_env):  # e.g. a test setting PYTHONUTF8 or LANG: those take a fresh interpreter
        return run_cli(args, cwd=cwd, stdin=stdin, env=env, timeout=timeout, fresh=True)
    encoding = locale.getpreferredencoding(False)  # what subprocess.run(text=True) uses
    code, out, err = server.run(args, cwd=cwd, env=run_env, timeout=timeout,
                                stdin=None if stdin is None else stdin.encode(encoding))
    return CliResult(args=["cara-fed", *args], code=code, stdout=_text(out, encoding),
                     stderr=_text(err, encoding))


def _text(data: bytes, encoding: str) -> str:
    """Decoded with universal newlines, as subprocess.run(text=True) does."""
    return data.decode(encoding).replace("\r\n", "\n").replace("\r", "\n")


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
