"""Helpers shared by bench/inbox.py and bench/deliver.py: ports, a process's CPU time, a concurrent request
driver, and optional py-spy profiles summarised as "top functions by cumulative time".

Not a benchmark itself. Everything here talks to loopback addresses only.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_CPUCLOCK_SCHED = 2  # linux/include/linux/posix-timers_types.h: a process's total CPU time, nanoseconds


def free_port() -> int:
    """A loopback port nobody listens on right now (the usual bind-to-0 trick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def proc_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` (every thread of it, not its children), to the nanosecond: the kernel's CPU clock
    of that process (clock_getcpuclockid(3); on Linux its id is ``(~pid << 3) | CPUCLOCK_SCHED``, which
    Python's time module does not compute). /proc/PID/stat's utime + stime come in 10 ms ticks and move in
    steps as the kernel rescales them: over one bench round of ~0.4 s the inbox/trivial ratio jumped
    between 0.96x and 1.82x with them. That is the fallback where the clock cannot be read."""
    try:
        return time.clock_gettime((~pid << 3) | _CPUCLOCK_SCHED)
    except (OSError, OverflowError):
        return proc_cpu_seconds_path(Path(f"/proc/{pid}/stat"))


def thread_cpu_seconds(pid: int, tid: int | None = None) -> float:
    """utime + stime of one thread of ``pid`` (default: its main thread, the event loop's)."""
    return proc_cpu_seconds_path(Path(f"/proc/{pid}/task/{tid or pid}/stat"))


def proc_cpu_seconds_path(path: Path) -> float:
    stat = path.read_text()
    fields = stat[stat.rindex(")") + 2:].split()  # the command name may contain spaces and parentheses
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # fields 14 and 15 of proc(5)


@dataclass
class CpuSplit:
    """CPU of a process over a phase: total, and the event-loop (main) thread's part of it; the rest is the
    other threads (aiosqlite's connection thread, executor threads)."""

    total: float
    main: float

    @property
    def others(self) -> float:
        return self.total - self.main


class CpuMeter:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.total, self.main = proc_cpu_seconds(pid), thread_cpu_seconds(pid)

    def read(self) -> CpuSplit:
        return CpuSplit(proc_cpu_seconds(self.pid) - self.total, thread_cpu_seconds(self.pid) - self.main)


@dataclass(frozen=True)
class CpuPinning:
    """The server measured on a core of its own, the load generator on the others: two processes sharing
    cores took turns on them, and the server's CPU per request then swung by +-15% between identical runs
    (bench/inbox.py on 2 cores: 550-720 us for the same trivial GET unpinned, 560-600 pinned)."""

    server: frozenset[int]
    client: frozenset[int]

    def command(self, argv: list[str]) -> list[str]:
        """``argv`` started on the server's cores (taskset execs it: the pid stays the command's)."""
        return ["taskset", "--cpu-list", ",".join(map(str, sorted(self.server))), *argv]

    def pin_this_process(self) -> None:
        os.sched_setaffinity(0, self.client)  # threads started later inherit it

    def describe(self) -> str:
        return (f"server pinned to CPU {','.join(map(str, sorted(self.server)))}, this load generator to "
                f"CPU {','.join(map(str, sorted(self.client)))}")


def cpu_pinning(wanted: bool) -> CpuPinning | None:
    """A pinning when ``wanted`` and possible (two usable cores or more, Linux, taskset installed)."""
    if not wanted or not hasattr(os, "sched_getaffinity") or shutil.which("taskset") is None:
        return None
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None
    return CpuPinning(server=frozenset(cpus[-1:]), client=frozenset(cpus[:-1]))


def machine_note() -> str:
    """Cores and load: wall-clock rates drop when other work shares the machine; CPU per operation much
    less so (the goals are per core, from CPU time)."""
    load = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    busy = "  (the machine is busy: wall-clock rates are low, read the CPU figures)" if load > cores else ""
    return f"machine: {cores} cores, load average {load:.1f}{busy}"


def clean_environ(**overrides: str) -> dict[str, str]:
    """This process's environment without any CARA_FED_ variable, plus ``overrides``: the bench decides
    every setting itself."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_FED_")}
    env.update(overrides)
    return env


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    """SIGTERM (a graceful stop for cara-fed), then SIGKILL if it does not exit in time."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


async def wait_until(check: Callable[[], Awaitable[bool]], timeout: float, what: str,
                     proc: subprocess.Popen[bytes] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with code {proc.returncode}")
        try:
            if await check():
                return
        except OSError:
            pass
        await asyncio.sleep(0.05)
    raise RuntimeError(f"{what}: not ready after {timeout:g} s")


@dataclass
class DriveResult:
    requests: int
    seconds: float
    statuses: Counter[int]

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


async def drive(items: Sequence[object], concurrency: int,
                one: Callable[[object], Awaitable[int]]) -> DriveResult:
    """Run ``one(item)`` for every item with ``concurrency`` requests in flight; counts the statuses."""
    statuses: Counter[int] = Counter()
    iterator = iter(items)

    async def worker() -> None:
        for item in iterator:  # shared: each item is taken by exactly one worker
            statuses[await one(item)] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return DriveResult(len(items), time.perf_counter() - started, statuses)


# -- profiles ------------------------------------------------------------------------------------------------


def py_spy_binary() -> str | None:
    """py-spy from $PY_SPY, PATH or next to this interpreter (it is not a project dependency)."""
    candidates = [os.environ.get("PY_SPY"), shutil.which("py-spy"),
                  str(Path(sys.executable).with_name("py-spy"))]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


class PySpy:
    """``py-spy record --format raw`` attached to ``pid`` until :meth:`stop`; then :meth:`summary` gives the
    top functions by cumulative and by own share of the samples (idle threads are not sampled)."""

    def __init__(self, pid: int, out: Path, rate: int = 250) -> None:
        binary = py_spy_binary()
        if binary is None:
            raise RuntimeError("--profile needs py-spy: put it on PATH or set PY_SPY=/path/to/py-spy")
        self.out = out
        out.parent.mkdir(parents=True, exist_ok=True)  # --profile-dir may name a directory not made yet
        with out.with_suffix(".log").open("wb") as log:  # py-spy's own messages, if it fails to attach
            self.proc = subprocess.Popen(
                [binary, "record", "--pid", str(pid), "--rate", str(rate), "--format", "raw", "--nonblocking",
                 "--output", str(out)], stdout=log, stderr=subprocess.STDOUT)
        time.sleep(0.5)  # let it attach before the measured phase starts

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # py-spy writes its output on SIGINT
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def summary(self, top: int = 10, breakdown: Sequence[str] = ()) -> str:
        if not self.out.exists():
            log = self.out.with_suffix(".log")
            said = log.read_text(errors="replace").strip()[-300:] if log.exists() else "?"
            return f"  (no profile: {said})"
        return summarize_collapsed(self.out.read_text(errors="replace").splitlines(), top, breakdown)


def _frame_name(frame: str) -> str:
    """py-spy's ``function (path/to/file.py:123)`` -> ``function (pkg/file.py)``; the line number dropped so a
    function counts once per sample however many lines of it are on the stack."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    path = _LIBRARY_PREFIX.sub("", path)
    if path.startswith(_REPO_ROOT):
        path = path[len(_REPO_ROOT):]
    return f"{name} ({path})"


_LIBRARY_PREFIX = re.compile(r"^.*/(?:site-packages|lib/python3\.\d+)/")
_REPO_ROOT = str(Path(__file__).resolve().parents[1]) + "/"


# Frames on (nearly) every stack of their thread: the event loop, thread bootstrap, the CLI entry point.
_PLUMBING_FILES = ("asyncio/", "threading.py", "runpy", "selectors.py", "concurrent/futures/", "contextvars",
                   "cara_fed/cli.py", "bin/cara-fed", "bench/")
# A thread parked in one of these, with nothing called below it, is waiting for work, not working.
_IDLE_LEAVES = ("_connection_worker_thread (aiosqlite/core.py", "_worker (concurrent/futures/thread.py",
                "select (selectors.py", "wait (threading.py", "get (queue.py")


def summarize_collapsed(lines: Iterable[str], top: int = 10, breakdown: Sequence[str] = ()) -> str:
    """Collapsed stacks (``frame;frame;frame count``) -> a table of the ``top`` functions by cumulative
    share (the function is anywhere on the stack) and, separately, by own share (it is the leaf); then, for
    each function named in ``breakdown`` (e.g. ``"deliver (cara_fed/federation/delivery.py"``), the
    cumulative share of each of its lines. Samples of threads waiting for work (aiosqlite's and executor
    threads parked on their queue) are left out: py-spy cannot always tell they are idle."""
    cumulative: Counter[str] = Counter()
    own: Counter[str] = Counter()
    by_line: dict[str, Counter[str]] = {prefix: Counter() for prefix in breakdown}
    total = 0
    for line in lines:
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        raw = [f for f in stack.split(";") if f and not f.startswith(("process ", "thread "))]
        if not raw or raw[-1].startswith(_IDLE_LEAVES):
            continue
        count = int(count_text)
        total += count
        frames = [_frame_name(f) for f in raw]
        for name in set(frames):
            cumulative[name] += count
        own[frames[-1]] += count
        for prefix, counter in by_line.items():
            hits = [f for f in raw if f.startswith(prefix)]
            if hits:
                counter[hits[-1].rsplit(":", 1)[-1].rstrip(")")] += count  # the innermost call of it
    if not total:
        return "  (no samples)"
    rows = [f"  {'cum%':>5} {'own%':>5}  function ({total} busy samples)"]
    shown = [(n, c) for n, c in cumulative.most_common()
             if not n.startswith("<module>") and not any(p in n for p in _PLUMBING_FILES)][:top]
    for name, count in shown:
        rows.append(f"  {100 * count / total:5.1f} {100 * own[name] / total:5.1f}  {name}")
    rows.append("  top own time:")
    for name, count in own.most_common(top):
        rows.append(f"  {'':5} {100 * count / total:5.1f}  {name}")
    for prefix, counter in by_line.items():
        if counter:
            rows.append(f"  by line of {prefix}): " + ", ".join(
                f"{line} {100 * count / total:.1f}%" for line, count in counter.most_common(8)))
    return "\n".join(rows)


def table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  " + "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in
                                      enumerate(zip(r, widths, strict=True))) for r in rows)
