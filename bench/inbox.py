"""Inbox cost: signed activities accepted per second by `cara-fed serve`, the server's CPU per accepted
activity next to its CPU for a trivial JSON endpoint, then how fast a `cara-fed worker` processes them.

    .venv/bin/python -m bench.inbox [--activities 2000] [--concurrency 16] [--worker-concurrency 16]
                                    [--rounds 8] [--skip-worker] [--no-pin]
                                    [--profile [--profile-dir DIR] [--top 10]] [--env NAME=VALUE ...]

Goals (issue 3, Acceptance): the inbox costs at most 1.5x the server CPU of a trivial JSON endpoint
(GET /.well-known/nodeinfo) -- the "inbox / trivial server CPU" line -- and the worker processes at least
1,000 activities/s per core -- the "activities per CPU second" figure (activities / worker CPU seconds).
CPU figures are the goals' measure: wall-clock rates fall when something else runs on the machine. With two
cores or more, `cara-fed serve` and `cara-fed worker` run pinned to one core and this load generator to the
others (``--no-pin`` to not), which steadies the CPU figures (bench/_support.py ``CpuPinning``).

What it does, all on loopback, all started and stopped by itself (about a minute with the defaults):
1. a temporary SQLite database; `cara-fed user create bench` (migrates it); `cara-fed serve` on a free port
   with instance.domain 127.0.0.1:PORT, federation.allow_http, federation.allow_nonpublic 127.0.0.0/8,
   jobs.run_in_process false (jobs only queue up), logging.level warning;
2. in this process, a fake remote actor (aiohttp, plain http, another port) with an RSA-2048 key;
3. N distinct Mastodon-shaped `Create` activities (a Note mentioning @bench, ~1.9 KB) addressed to
   /users/bench/inbox, all signed BEFORE the clock starts (draft-cavage rsa-sha256, as Mastodon signs);
4. warm-up: the first POST makes the server fetch the actor's key (signed GET); then a few more;
5. the N POSTs over kept-alive connections with a fixed concurrency: accepted/s (202s) and the SERVER's
   CPU (utime+stime of its pid, /proc/PID/stat, all threads) per request, and the share of it on the
   event-loop thread; the same for N GETs of the trivial endpoint;
6. the server is stopped and `cara-fed worker` started on the same database: the time and the worker's CPU
   until no job is queued or running (polled with sqlite3); every activity stores a remote status, a
   mention and a notification.

``--profile`` attaches py-spy (``$PY_SPY``, on PATH or beside the interpreter; not a project dependency) to
the server during the inbox run and to the worker during its run, and prints the top functions by
cumulative time and the cost of each line of the request handler and the job handler (``--profile-dir``
keeps py-spy's collapsed stacks). Profiling costs some CPU: take figures from a run without it. ``--env``
passes extra environment to serve and worker (a setting, or PYTHONPATH for an experiment).
Prints figures; asserts nothing (benchmarks are never timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from yarl import URL

from activitypub.keys import generate_rsa_keypair
from bench._remote import LOCAL_USER, Remote, SignedPost, presign
from bench._support import (
    CpuMeter,
    CpuPinning,
    CpuSplit,
    DriveResult,
    PySpy,
    clean_environ,
    cpu_pinning,
    drive,
    free_port,
    machine_note,
    stop_process,
    table,
    wait_until,
)

CARA_FED = str(Path(sys.executable).with_name("cara-fed"))
WARMUP = 100


# -- the instance --------------------------------------------------------------------------------------------


class Instance:
    def __init__(self, tmp: Path, port: int, extra_env: list[str], pinning: CpuPinning | None) -> None:
        self.port = port
        self.pinning = pinning
        self.db_path = tmp / "cara.sqlite3"
        self.base = f"http://127.0.0.1:{port}"
        self.tmp = tmp
        self.env = clean_environ(
            CARA_FED_INSTANCE_DOMAIN=f"127.0.0.1:{port}",
            CARA_FED_SERVER_BIND=f"127.0.0.1:{port}",
            CARA_FED_DATABASE_URL=f"sqlite://{self.db_path}",
            CARA_FED_MEDIA_ROOT=str(tmp / "media"),
            CARA_FED_FEDERATION_ALLOW_HTTP="true",
            CARA_FED_FEDERATION_ALLOW_NONPUBLIC="127.0.0.0/8",
            CARA_FED_JOBS_RUN_IN_PROCESS="false",
            CARA_FED_LOGGING_LEVEL="warning",
        )
        self.env.update(item.split("=", 1) for item in extra_env)

    def run(self, *args: str) -> str:
        done = subprocess.run([CARA_FED, *args], env=self.env, cwd=self.tmp, capture_output=True, text=True,
                              timeout=120, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"cara-fed {' '.join(args)} failed: {done.stderr.strip()}")
        return done.stdout

    def start(self, *args: str, log_name: str) -> tuple[subprocess.Popen[bytes], Path]:
        log = self.tmp / log_name
        with log.open("wb") as out:
            argv = [CARA_FED, *args]
            proc = subprocess.Popen(self.pinning.command(argv) if self.pinning else argv, env=self.env,
                                    cwd=self.tmp, stdout=out, stderr=subprocess.STDOUT)
        return proc, log

    def job_states(self) -> dict[str, int]:
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())

    def count(self, sql: str) -> int:
        with sqlite3.connect(self.db_path, timeout=30) as conn:
            return int(conn.execute(sql).fetchone()[0])


def tail(path: Path, lines: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:]) if path.exists() else ""


# -- measuring -----------------------------------------------------------------------------------------------


@dataclass
class Phase:
    result: DriveResult
    cpu: CpuSplit

    @property
    def server_cpu(self) -> float:
        return self.cpu.total

    def cpu_us(self, per: int) -> float:
        return self.cpu.total / per * 1e6 if per else float("nan")

    @staticmethod
    def total(parts: list[Phase]) -> Phase:
        statuses: Counter[int] = Counter()
        for part in parts:
            statuses.update(part.result.statuses)
        return Phase(DriveResult(sum(p.result.requests for p in parts), sum(p.result.seconds for p in parts),
                                 statuses),
                     CpuSplit(sum(p.cpu.total for p in parts), sum(p.cpu.main for p in parts)))

    def loop_share(self) -> str:
        return f"{100 * self.cpu.main / self.cpu.total:.0f}%" if self.cpu.total else "-"


async def measured(pid: int, run: Callable[[], Awaitable[DriveResult]]) -> Phase:
    meter = CpuMeter(pid)
    result = await run()
    return Phase(result, meter.read())


async def bench(args: argparse.Namespace, tmp: Path) -> None:
    pinning = cpu_pinning(args.pin)
    print(machine_note() + (f"; {pinning.describe()}" if pinning else "; not pinned to cores"))
    if pinning:
        pinning.pin_this_process()
    instance = Instance(tmp, free_port(), args.env, pinning)
    instance.run("user", "create", LOCAL_USER, "--email", "bench@example.com", "--password",
                 "correct horse battery staple")
    keys = generate_rsa_keypair()
    remote = Remote(free_port(), keys.private_pem, keys.public_pem)
    remote_runner = await remote.start()
    server, server_log = instance.start("serve", log_name="serve.log")
    spy: PySpy | None = None
    trivial_spy: PySpy | None = None
    try:
        connector = aiohttp.TCPConnector(limit=args.concurrency)
        async with aiohttp.ClientSession(connector=connector) as session:
            nodeinfo = f"{instance.base}/.well-known/nodeinfo"

            async def up() -> bool:
                try:
                    async with session.get(nodeinfo) as response:
                        return response.status == 200
                except aiohttp.ClientError:
                    return False

            await wait_until(up, 60, "cara-fed serve", server)
            inbox = f"{instance.base}/users/{LOCAL_USER}/inbox"
            started = time.perf_counter()
            posts = presign(remote, instance.base, inbox, 0, WARMUP + args.activities)
            sign_seconds = time.perf_counter() - started
            warmup, posts = posts[:WARMUP], posts[WARMUP:]
            print(f"{args.activities} activities ({len(posts[0].body)} bytes each), signed in advance "
                  f"({sign_seconds / len(posts + warmup) * 1e6:.0f} us each, not counted); concurrency "
                  f"{args.concurrency}, kept-alive connections; server pid {server.pid}")
            inbox_url = URL(inbox, encoded=True)

            async def post(item: object) -> int:
                assert isinstance(item, SignedPost)
                async with session.post(inbox_url, data=item.body, headers=item.headers) as response:
                    await response.read()
                    return response.status

            async def get(_item: object) -> int:
                async with session.get(nodeinfo) as response:
                    await response.read()
                    return response.status

            first = await post(warmup[0])  # the server fetches the actor's key here
            if first != 202 or remote.fetches == 0:
                raise RuntimeError(f"warm-up POST answered {first} (key fetches: {remote.fetches}); "
                                   "server log:\n" + tail(server_log))
            await drive(warmup[1:], args.concurrency, post)
            await drive(range(WARMUP), args.concurrency, get)

            # --rounds: inbox and trivial phases alternate, so that a change of load on the machine (other
            # work) weighs on both alike; the figures are the sums. A profile covers one inbox phase.
            rounds = 1 if args.profile else max(1, args.rounds)
            size = -(-len(posts) // rounds)
            inbox_parts: list[Phase] = []
            trivial_parts: list[Phase] = []
            for start in range(0, len(posts), size):
                chunk = posts[start:start + size]
                if args.profile:
                    spy = PySpy(server.pid, (args.profile_dir or tmp) / "serve.collapsed")
                inbox_parts.append(await measured(server.pid, lambda: drive(chunk, args.concurrency, post)))
                if spy is not None:
                    spy.stop()
                if args.profile:
                    trivial_spy = PySpy(server.pid, (args.profile_dir or tmp) / "trivial.collapsed")
                trivial_parts.append(await measured(server.pid,
                                                    lambda: drive(range(len(chunk)), args.concurrency, get)))
                if trivial_spy is not None:
                    trivial_spy.stop()
            inbox_phase, trivial = Phase.total(inbox_parts), Phase.total(trivial_parts)
        key_fetches = remote.fetches
        stop_process(server)
        accepted = inbox_phase.result.statuses.get(202, 0)
        others = {s: c for s, c in inbox_phase.result.statuses.items() if s != 202}
        inbox_us, trivial_us = inbox_phase.cpu_us(accepted), trivial.cpu_us(trivial.result.requests)
        print(f"inbox answers: {dict(inbox_phase.result.statuses)}; key fetches by the server: {key_fetches}")
        if others:
            print("  WARNING: not every POST was accepted; server log tail:\n" + tail(server_log))
        print(table([
            ["", "req/s", "server CPU us/req", "server CPU s", "on the loop thread"],
            ["POST inbox (202)", f"{accepted / inbox_phase.result.seconds:.0f}", f"{inbox_us:.0f}",
             f"{inbox_phase.server_cpu:.2f}", inbox_phase.loop_share()],
            ["GET /.well-known/nodeinfo", f"{trivial.result.per_second:.0f}", f"{trivial_us:.0f}",
             f"{trivial.server_cpu:.2f}", trivial.loop_share()],
        ]))
        ratio = inbox_us / trivial_us
        print(f"inbox / trivial server CPU: {ratio:.2f}x   "
              f"(goal <= 1.5x: {'met' if ratio <= 1.5 else 'MISSED'})")
        if len(inbox_parts) > 1:  # how much the machine moved the figure from one round to the next
            rounds_ratios = sorted(i.cpu_us(i.result.statuses.get(202, 0)) / t.cpu_us(t.result.requests)
                                   for i, t in zip(inbox_parts, trivial_parts, strict=True))
            print(f"  each round's own ratio ({len(rounds_ratios)} rounds): median "
                  f"{statistics.median(rounds_ratios):.2f}x, "
                  f"{rounds_ratios[0]:.2f}x to {rounds_ratios[-1]:.2f}x")
        if spy is not None:
            print("\nprofile of `cara-fed serve` during the inbox run (py-spy):")
            print(spy.summary(args.top, ["_receive (cara_fed/web/inbox.py",
                                         "user_inbox (cara_fed/web/inbox.py"]))
        if trivial_spy is not None:
            print("\nprofile of `cara-fed serve` during the trivial run (py-spy), to compare:")
            print(trivial_spy.summary(args.top))

        # -- the worker -------------------------------------------------------------------------------------
        if args.skip_worker:
            return
        states = instance.job_states()
        queued = states.get("queued", 0)
        if not queued:
            print("no inbox job was queued: nothing for the worker to do")
            return
        worker, worker_log = instance.start("worker", "--concurrency", str(args.worker_concurrency),
                                            log_name="worker.log")

        async def ready() -> bool:
            return "running jobs" in worker_log.read_text(errors="replace")

        await wait_until(ready, 60, "cara-fed worker", worker)
        meter, started = CpuMeter(worker.pid), time.perf_counter()
        spy = PySpy(worker.pid, (args.profile_dir or tmp) / "worker.collapsed") if args.profile else None

        async def drained() -> bool:
            states = instance.job_states()
            return not states.get("queued") and not states.get("running")

        try:
            await wait_until(drained, 600, "draining the inbox jobs", worker)
            seconds, split = time.perf_counter() - started, meter.read()
            cpu = split.total
        finally:
            if spy is not None:
                spy.stop()
            stop_process(worker)
        states = instance.job_states()
        statuses = instance.count("SELECT count(*) FROM statuses WHERE local = 0")
        notifications = instance.count("SELECT count(*) FROM notifications")
        print(f"\nworker (concurrency {args.worker_concurrency}): {queued} queued inbox jobs -> {states}; "
              f"{statuses} remote statuses and {notifications} notifications stored")
        if states.get("dead"):
            print("  WARNING: some jobs failed; worker log tail:\n" + tail(worker_log))
        per_core = queued / cpu if cpu else float("nan")
        print(table([
            ["", "activities/s", "worker CPU us/activity", "activities per CPU second", "on the loop thread"],
            ["cara-fed worker", f"{queued / seconds:.0f}", f"{cpu / queued * 1e6:.0f}", f"{per_core:.0f}",
             f"{100 * split.main / cpu:.0f}%" if cpu else "-"],
        ]))
        print(f"worker activities per core-second: {per_core:.0f}   "
              f"(goal >= 1000: {'met' if per_core >= 1000 else 'MISSED'})")
        if spy is not None:
            print("\nprofile of `cara-fed worker` while draining (py-spy):")
            print(spy.summary(args.top, ["process_incoming (cara_fed/federation/inbox.py",
                                         "store_note (cara_fed/federation/handlers/notes.py",
                                         "_run_and_record (cara_fed/jobs/runner.py"]))
    finally:
        for running in (spy, trivial_spy):
            if running is not None:
                running.stop()
        stop_process(server)
        await remote_runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=2000,
                        help="signed activities to POST (default 2000)")
    parser.add_argument("--concurrency", type=int, default=16, help="requests in flight (default 16)")
    parser.add_argument("--worker-concurrency", type=int, default=16,
                        help="jobs the worker runs at once (default 16; jobs.concurrency defaults to 4)")
    parser.add_argument("--rounds", type=int, default=8,
                        help="alternate the inbox and trivial phases this many times, the activities split "
                             "between them (default 8): the machine's speed moves by tens of percent within "
                             "seconds here, and alternating lets both phases share its slow moments")
    parser.add_argument("--no-pin", dest="pin", action="store_false",
                        help="do not pin the server (and the worker) to one core and this load generator to "
                             "the others (pinned by default when there are two cores or more: steadier CPU "
                             "figures)")
    parser.add_argument("--skip-worker", action="store_true",
                        help="stop after the inbox figures (no `cara-fed worker` run): to iterate")
    parser.add_argument("--profile", action="store_true", help="py-spy the server and the worker")
    parser.add_argument("--profile-dir", type=Path, metavar="DIR",
                        help="keep py-spy's collapsed stacks there (default: a temporary directory)")
    parser.add_argument("--top", type=int, default=10, help="functions per profile (default 10)")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for serve and worker (repeatable), e.g. PYTHONPATH for an "
                             "experiment")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cara-bench-inbox-") as tmp:
        asyncio.run(bench(args, Path(tmp)))


if __name__ == "__main__":
    main()
