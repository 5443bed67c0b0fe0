"""`make test`: the whole suite on SQLite, then the whole suite on PostgreSQL.

    python -m tests.run_suites [--only sqlite|postgres] [pytest arguments...]

PostgreSQL must be reachable (CI has it). Locally, CARA_FED_TEST_PG=0 skips that pass, and says so loudly:
a skipped pass is not a green one.

Each pass runs under pytest-xdist, one worker per CPU (at most MAX_WORKERS); CARA_FED_TEST_WORKERS sets the
count (1: no xdist). Workers share nothing: each has its own template database, temporary folder and
ports (tests/support/databases.py). Pytest arguments of your own are passed on; if they choose the
workers themselves (-n, --dist, -p no:xdist) or need one process (--pdb, --trace), none are added.
"""

from __future__ import annotations

import asyncio
import compileall
import os
import subprocess
import sys
from pathlib import Path

import asyncpg

from tests.support.databases import PG_ADMIN_URL

REPO_ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ("sqlite", "postgres")
# Two cores are what CI has. Past 4 workers the per-worker startup (collection, template migration) and
# PostgreSQL's shared disk stop paying for themselves on the machines we run on.
MAX_WORKERS = 4
# Arguments after which xdist must not be added: the caller chose the workers, or needs a single process.
_NO_XDIST = ("-n", "--numprocesses", "--dist", "--maxprocesses", "--pdb", "--trace", "--collect-only",
             "--co", "--setup-plan", "--fixtures", "--fixtures-per-test", "--markers")


def _banner(text: str) -> None:
    line = "=" * 78
    print(f"\n{line}\n{text}\n{line}", flush=True)


async def _postgres_error() -> str | None:
    try:
        conn = await asyncpg.connect(PG_ADMIN_URL.replace("postgres://", "postgresql://", 1), timeout=5)
    except (OSError, asyncpg.PostgresError, asyncio.TimeoutError) as exc:
        return f"{type(exc).__name__}: {exc}"
    await conn.close()
    return None


def worker_count() -> int:
    """CARA_FED_TEST_WORKERS if set, else the CPUs this process may use, capped at MAX_WORKERS."""
    configured = os.environ.get("CARA_FED_TEST_WORKERS", "").strip()
    if configured:
        try:
            count = int(configured)
        except ValueError:
            raise SystemExit(f"CARA_FED_TEST_WORKERS must be a whole number, not {configured!r}") from None
        return max(1, count)
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, MAX_WORKERS))


def _xdist_args(extra: list[str]) -> list[str]:
    for arg in extra:
        if arg.split("=", 1)[0] in _NO_XDIST or (arg.startswith("-n") and not arg.startswith("--")):
            return []  # -n2, -nauto included
    if "no:xdist" in extra or "-pno:xdist" in extra:
        return []
    workers = worker_count()
    # worksteal: a worker that runs out takes half of the other's remaining tests (the slow tests that
    # start processes are spread through the suite, so a fixed split would leave one worker waiting).
    return ["-n", str(workers), "--dist", "worksteal"] if workers > 1 else []


def _pytest(backend: str, extra: list[str]) -> int:
    xdist = _xdist_args(extra)
    how = f"{xdist[1]} xdist workers" if xdist else "one process"
    _banner(f"cara_fed test suite on {backend} ({how})")
    env = {**os.environ, "CARA_FED_TEST_DB": backend}
    # The slowest tests listed at the end: where the next minute of CI time is (the goal is 15 minutes).
    durations = [] if any(arg.startswith("--durations") for arg in extra) else ["--durations=15"]
    return subprocess.call([sys.executable, "-m", "pytest", "-q", *durations, *xdist, *extra], env=env)


def _parse_only(argv: list[str]) -> tuple[tuple[str, ...], list[str]]:
    """A leading ``--only BACKEND`` (or ``--only=BACKEND``) picks one pass; the rest goes to pytest."""
    if argv and argv[0].startswith("--only"):
        if argv[0] == "--only":
            if len(argv) < 2:
                raise SystemExit("--only needs a backend: sqlite or postgres")
            backend, rest = argv[1], argv[2:]
        else:
            backend, rest = argv[0].split("=", 1)[1], argv[1:]
        if backend not in BACKENDS:
            raise SystemExit(f"--only takes sqlite or postgres, not {backend!r}")
        return (backend,), rest
    return BACKENDS, argv


def _start_interop_installs(extra: list[str]) -> list[subprocess.Popen[bytes]]:
    """On a whole-suite run, install the interop peers (npm, pip: mostly waiting on the network) in the
    background from the start, one process per peer: on a fresh clone the tests then find them installed,
    or wait on the install lock for less time, instead of a worker sitting idle through the downloads.
    With cached installs this costs a second of CPU. A run on chosen tests leaves it to those tests."""
    if any(not arg.startswith("-") for arg in extra):
        return []
    return [subprocess.Popen([sys.executable, "-m", "tests.interop.installs", peer], cwd=REPO_ROOT,
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for peer in ("fedify", "bovine")]


def _stop(processes: list[subprocess.Popen[bytes]]) -> None:
    for process in processes:
        if process.poll() is None:
            process.terminate()  # it stops its installer (tests/interop/installs.py main)
        process.wait()


def main() -> int:
    backends, extra = _parse_only(sys.argv[1:])
    installs = _start_interop_installs(extra)
    _compile_sources()
    try:
        return _run(backends, extra)
    finally:
        _stop(installs)


def _compile_sources() -> None:
    """Write the project's bytecode once: with PYTHONDONTWRITEBYTECODE set (as on CI's machines) no process
    writes it, and every `cara-fed serve`, `worker` and CLI process the tests start would compile the
    project's sources again (~0.1 s of CPU each). compileall writes it whatever that variable says."""
    for package in ("cara_fed", "activitypub", "webfinger", "media", "tests"):
        compileall.compile_dir(REPO_ROOT / package, quiet=1)


def _run(backends: tuple[str, ...], extra: list[str]) -> int:
    results: dict[str, int] = {}
    if "sqlite" in backends:
        results["sqlite"] = _pytest("sqlite", extra)
    if "postgres" in backends:
        if backends == BACKENDS and os.environ.get("CARA_FED_TEST_PG", "1") == "0":
            _banner("WARNING: CARA_FED_TEST_PG=0: the PostgreSQL pass was SKIPPED. CI runs it; so should "
                    "you.")
        else:
            error = asyncio.run(_postgres_error())
            if error is not None:
                _banner(f"PostgreSQL is not reachable at {PG_ADMIN_URL} ({error}).\n"
                        "Start it (or set CARA_FED_TEST_PG_URL), or set CARA_FED_TEST_PG=0 to skip that pass "
                        "locally.")
                return 1
            results["postgres"] = _pytest("postgres", extra)
    _banner("summary: " + ", ".join(f"{name} {'passed' if code == 0 else 'FAILED'}"
                                    for name, code in results.items()))
    return 0 if all(code == 0 for code in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
