"""Rate-limit cost: what counting adds to a request (issue 7 point 5: "the counter shared by processes,
and cheap").

    .venv/bin/python -m bench.rate_limits [--requests 2000] [--concurrency 8] [--postgres URL]

1. The counter alone: services.rate_limits.hit() with the two buckets of an authenticated API request
   (per user, per token), N calls one after another and N with ``--concurrency`` in flight, on a SQLite
   file and (``--postgres``, default postgres://postgres@127.0.0.1:5432/postgres if it answers) on a scratch
   PostgreSQL database: microseconds per call (wall) and this process's CPU per call.
2. Through `cara-fed serve` on SQLite: N anonymous GET /api/v1/instance/rules spread over 8 client
   addresses (127.0.0.2-9, under the 300-per-address limit), served with rate limits on and then off: the
   server's CPU milliseconds per request in each case, and the difference.
Prints figures; asserts nothing (benchmarks are never timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import aiohttp

from bench._support import (
    CpuMeter,
    clean_environ,
    drive,
    free_port,
    machine_note,
    proc_cpu_seconds,
    stop_process,
    table,
    wait_until,
)

CARA_FED = str(Path(sys.executable).with_name("cara-fed"))
CLIENTS = [f"127.0.0.{n}" for n in range(2, 10)]


async def counter_figures(db_url: str, requests: int, concurrency: int) -> list[str]:
    from cara_fed import db
    from cara_fed.services import rate_limits
    from cara_fed.settings import DatabaseSettings

    settings = DatabaseSettings(url=db_url)
    async with db.database(settings) as ctx:
        await db.migrate(ctx, settings)
        user = rate_limits.LIMITS["throttle_authenticated_api"]
        token = rate_limits.LIMITS["throttle_per_token_api"]

        async def one(n: int) -> None:
            await rate_limits.hit([(user, f"user:{n % 50}"), (token, f"token:{n % 50}")])

        for n in range(50):  # warm-up, and the buckets exist (the steady state is the UPDATE branch)
            await one(n)
        cpu, started = proc_cpu_seconds(_pid()), time.perf_counter()
        for n in range(requests):
            await one(n)
        sequential = (time.perf_counter() - started) / requests, (proc_cpu_seconds(_pid()) - cpu) / requests
        cpu, started = proc_cpu_seconds(_pid()), time.perf_counter()
        for start in range(0, requests, concurrency):
            await asyncio.gather(*(one(n) for n in range(start, min(requests, start + concurrency))))
        parallel = (time.perf_counter() - started) / requests, (proc_cpu_seconds(_pid()) - cpu) / requests
    backend = "PostgreSQL" if db_url.startswith("postgres") else "SQLite (file, WAL)"
    return [backend, f"{sequential[0] * 1e6:.0f}", f"{sequential[1] * 1e6:.0f}", f"{parallel[0] * 1e6:.0f}",
            f"{parallel[1] * 1e6:.0f}"]


def _pid() -> int:
    import os

    return os.getpid()


async def scratch_postgres(url: str) -> tuple[str, str] | None:
    """(URL of a new scratch database, its name), or None when PostgreSQL does not answer."""
    try:
        import asyncpg
    except ImportError:
        return None
    name = f"cara_bench_{uuid.uuid4().hex[:12]}"
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except (OSError, asyncio.TimeoutError, asyncpg.PostgresError):
        return None
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{url.rsplit('/', 1)[0]}/{name}", name


async def drop_postgres(url: str, name: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=3)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def served(tmp: Path, requests: int, concurrency: int, enabled: bool, round_: int
                 ) -> tuple[float, dict[int, int]]:
    """Server CPU ms per anonymous API request, and the statuses seen (a fresh database each time)."""
    port = free_port()
    env = clean_environ(
        CARA_FED_INSTANCE_DOMAIN=f"127.0.0.1:{port}", CARA_FED_SERVER_BIND=f"127.0.0.1:{port}",
        CARA_FED_DATABASE_URL=f"sqlite://{tmp / ('on' if enabled else 'off')}{round_}.sqlite3",
        CARA_FED_MEDIA_ROOT=str(tmp / "media"), CARA_FED_JOBS_RUN_IN_PROCESS="false",
        CARA_FED_LOGGING_LEVEL="warning", CARA_FED_RATE_LIMITS_ENABLED="true" if enabled else "false")
    subprocess.run([CARA_FED, "migrate"], env=env, cwd=tmp, check=True, capture_output=True)
    with (tmp / "serve.log").open("ab") as out:
        server = subprocess.Popen([CARA_FED, "serve"], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    sessions = [aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(ip, 0), limit=concurrency))
                for ip in CLIENTS]
    try:
        async def ready() -> bool:
            async with sessions[0].get(base + "/health") as response:
                return response.status == 200
        await wait_until(ready, 30, "cara-fed serve", server)

        async def rules(item: object) -> int:
            session = sessions[int(item) % len(sessions)]  # type: ignore[call-overload]
            async with session.get(base + "/api/v1/instance/rules") as response:
                await response.read()
                return response.status

        await drive(range(len(CLIENTS) * 5), concurrency, rules)  # warm-up: 5 per address
        meter = CpuMeter(server.pid)
        result = await drive(range(requests), concurrency, rules)
        cpu = meter.read()
    finally:
        for session in sessions:
            await session.close()
        stop_process(server)
    return cpu.total / requests * 1000, dict(result.statuses)


async def run(args: argparse.Namespace, tmp: Path) -> None:
    print(machine_note())
    rows = [["backend", "µs/call (one at a time)", "CPU µs/call", f"µs/call ({args.concurrency} in flight)",
             "CPU µs/call"]]
    rows.append(await counter_figures(f"sqlite://{tmp / 'counter.sqlite3'}", args.requests, args.concurrency))
    scratch = await scratch_postgres(args.postgres)
    if scratch is None:
        rows.append(["PostgreSQL", "not reachable", "", "", ""])
    else:
        try:
            rows.append(await counter_figures(scratch[0], args.requests, args.concurrency))
        finally:
            await drop_postgres(args.postgres, scratch[1])
    print("services.rate_limits.hit(): one upsert of the two buckets of an authenticated API request")
    print(table(rows))
    requests = min(args.requests, 250 * len(CLIENTS))  # stays under 300 per address and window
    figures: dict[bool, list[float]] = {True: [], False: []}
    statuses: dict[bool, dict[int, int]] = {}
    for round_ in range(args.rounds):  # alternated, the median kept: the machine's load varies
        for enabled in (round_ % 2 == 0, round_ % 2 == 1):
            cpu, statuses[enabled] = await served(tmp, requests, args.concurrency, enabled, round_)
            figures[enabled].append(cpu)
    on, off = statistics.median(figures[True]), statistics.median(figures[False])
    print(table([["cara-fed serve (SQLite)", "requests", "statuses", "server CPU ms/request (median)"],
                 ["GET /api/v1/instance/rules, limits on", str(requests), repr(statuses[True]), f"{on:.2f}"],
                 ["GET /api/v1/instance/rules, limits off", str(requests), repr(statuses[False]),
                  f"{off:.2f}"]]))
    rounds = {enabled: ", ".join(f"{v:.2f}" for v in figures[enabled]) for enabled in (True, False)}
    print(f"rate limits add {on - off:.2f} ms of server CPU per counted request (SQLite; rounds: on "
          f"{rounds[True]}, off {rounds[False]})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000,
                        help="calls and requests per phase (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="in flight (default 8)")
    parser.add_argument("--rounds", type=int, default=3,
                        help="served runs with limits on and off (default 3)")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres",
                        help="a PostgreSQL server to make a scratch database on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cara-bench-ratelimits-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
