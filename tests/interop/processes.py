"""Processes the interop tests start: each in its own process group, always stopped; and polling with a
timeout (peers work asynchronously: never a fixed sleep)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import pytest

POLL_TIMEOUT = 15.0  # how long to wait for a peer to do something

T = TypeVar("T")


@dataclass
class PeerProcess:
    name: str
    process: asyncio.subprocess.Process
    log_path: Path

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


async def start_process(name: str, argv: list[str], *, cwd: Path, env: dict[str, str], log_path: Path,
                        pass_fds: tuple[int, ...] = (), pipes: bool = False) -> PeerProcess:
    """Start a long-running process in a new session (its own process group, which stop_process ends),
    its output to ``log_path`` (with ``pipes``: only stderr; stdin and stdout are for talking to it)."""
    with log_path.open("ab") as log:  # the child keeps its own copy of the descriptor
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=cwd, env=env, pass_fds=pass_fds, start_new_session=True,
            stdin=asyncio.subprocess.PIPE if pipes else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if pipes else log, stderr=log if pipes else subprocess.STDOUT,
            limit=64 * 1024 * 1024)  # one JSON line per answer, an inbox included
    return PeerProcess(name=name, process=process, log_path=log_path)


async def stop_process(peer: PeerProcess) -> None:
    """SIGTERM to the process group we created, SIGKILL if it lingers; always reaped."""
    pid = peer.process.pid
    if peer.process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(peer.process.wait(), timeout=5)
    kill_group(pid)  # children left in the group, if any
    if peer.process.returncode is None:
        await peer.process.wait()
    if peer.process.stdin is not None:
        peer.process.stdin.close()  # lets asyncio close the pipes' transport


async def run_command(argv: list[str], *, cwd: Path, env: dict[str, str], timeout: float
                      ) -> tuple[int | None, str, str]:
    """Run a short command to completion: (exit code, stdout, stderr); exit code None if it timed out.
    It is killed (with its process group) whatever happens, cancellation included."""
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=cwd, env=env, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=timeout)
        return process.returncode, stdout.decode(errors="replace"), stderr.decode(errors="replace")
    except TimeoutError:
        return None, "", ""
    finally:
        if process.returncode is None:
            kill_group(process.pid)
            await process.wait()


def kill_group(pid: int) -> None:
    """SIGKILL the process group of a child we started with start_new_session (it and its children)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def log_tail_of(peer: PeerProcess) -> Callable[[], Awaitable[str]]:
    async def tail() -> str:
        return peer.log_tail()

    return tail


async def poll(what: str, probe: Callable[[], Awaitable[T | None]], *, timeout: float = POLL_TIMEOUT,
               interval: float = 0.1, explain: Callable[[], Awaitable[str]] | None = None) -> T:
    """``probe()`` until it returns something truthy; fail (with ``explain()``) after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            details = await explain() if explain else ""
            pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}\n{details}", pytrace=False)
        await asyncio.sleep(interval)
