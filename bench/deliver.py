"""Delivery cost: signed deliveries per second, and per CPU second, from durable delivery jobs to a loopback
sink over kept-alive connections.

    .venv/bin/python -m bench.deliver [--deliveries 3000] [--concurrency 16] [--limit-per-host 8]
                                      [--baseline 1000] [--profile [--profile-dir DIR] [--top 10]]

Goal (issue 3, Acceptance): at least 600 signed deliveries per second per core on kept-alive connections --
the "deliveries per core-second" line (deliveries / CPU seconds of this process, all threads). CPU figures
are the goal's measure: wall-clock rates fall when something else runs on the machine.

What it does, all on loopback, all started and stopped by itself (well under a minute with the defaults):
1. a sink in a child process (aiohttp, plain http, keep-alive): 202 to every POST, so the figures are the
   sender's;
2. in this process: a temporary SQLite database migrated with cara_fed.db, a local account with its
   RSA-2048 key (services.accounts.create_local_account), and N delivery jobs of one ~1.5 KB Create
   activity, queued with federation.delivery.enqueue_deliveries (in one transaction, as the fan-out job
   does; not timed) to N distinct inbox URLs on the sink (/users/uI/inbox: one host, so connections are
   reused);
3. a JobRunner (the production loop, ``run(stop)``) with the deliver handler and services
   {"settings", "federation": Federation.create(settings, session, policy)}, the session from
   activitypub.netpolicy.make_session with a policy allowing http and 127.0.0.0/8 (per-host connection
   cap ``--limit-per-host``, 8 as in production): the wall time and this process's CPU (all its threads)
   until every job has left the queue. Every job must end ``done`` and the sink must have seen N POSTs.

Before that it prints, for scale, the CPU of the pieces alone on the same session: ``sign_request`` for
the body, a bare ``session.post``, and ``post_json`` with signing (what the handler does minus the job and
database work); after it, the difference: what the job machinery adds per delivery.

``--profile`` attaches py-spy (``$PY_SPY``, on PATH or beside the interpreter; not a project dependency) to
this process during the job run and prints the top functions by cumulative time and the cost of each line
of the deliver handler (``--profile-dir`` keeps py-spy's collapsed stacks); it costs some CPU: take figures
from a run without it. Prints figures; asserts nothing (benchmarks are never timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import socket
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web
from tortoise.transactions import in_transaction
from yarl import URL

from activitypub.fetch import post_json
from activitypub.netpolicy import NetworkPolicy, make_session
from activitypub.signatures import sign_request
from bench._support import CpuMeter, PySpy, drive, machine_note, table, wait_until
from cara_fed import db
from cara_fed.federation.context import Federation
from cara_fed.federation.delivery import AS_CONTENT_TYPE, DELIVER_JOB, enqueue_deliveries
from cara_fed.federation.urls import LocalUrls
from cara_fed.jobs import queue
from cara_fed.jobs.handlers import load_job_handlers
from cara_fed.jobs.runner import JobRunner
from cara_fed.models import Account
from cara_fed.models.jobs import DONE, QUEUED, RUNNING, Job
from cara_fed.services import accounts
from cara_fed.settings import Settings

DOMAIN = "cara.bench.example"  # never contacted: only the signer's ids are built from it
LOCAL_USER = "artist"


# -- the sink (child process) --------------------------------------------------------------------------------


def sink(sock: socket.socket) -> None:
    posts = 0

    async def inbox(request: web.Request) -> web.Response:
        nonlocal posts
        await request.read()
        posts += 1
        return web.Response(status=202)

    async def count(request: web.Request) -> web.Response:
        return web.json_response({"posts": posts})

    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_get("/count", count)
    app.router.add_post("/{tail:.*}", inbox)
    web.run_app(app, sock=sock, access_log=None, print=None, handle_signals=True)


def listening_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    return sock


# -- the activity --------------------------------------------------------------------------------------------


def create_activity(urls: LocalUrls) -> dict[str, object]:
    """A Create of a public Note with one image, as services.posts would federate it (~1.5 KB)."""
    actor = urls.actor(LOCAL_USER)
    note = urls.status(LOCAL_USER, 1)
    published = "2025-01-01T12:00:00Z"
    return {
        "@context": ["https://www.w3.org/ns/activitystreams", {"sensitive": "as:sensitive",
                                                              "toot": "http://joinmastodon.org/ns#",
                                                              "blurhash": "toot:blurhash"}],
        "id": f"{note}/activity", "type": "Create", "actor": actor, "published": published,
        "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [urls.followers(LOCAL_USER)],
        "object": {
            "id": note, "type": "Note", "summary": None, "inReplyTo": None, "published": published,
            "url": urls.status_page(LOCAL_USER, 1), "attributedTo": actor,
            "to": ["https://www.w3.org/ns/activitystreams#Public"], "cc": [urls.followers(LOCAL_USER)],
            "sensitive": False,
            "content": "<p>New painting: ink and watercolour on paper, 30 x 40 cm. Second of a series "
                       "about the harbour in winter; the first one is pinned on my profile.</p>",
            "attachment": [{"type": "Image", "mediaType": "image/jpeg", "url": urls.media("a1b2c3d4e5.jpg"),
                            "name": "A harbour in winter, grey water, three boats, ink and watercolour.",
                            "summary": "A harbour in winter, grey water, three boats, ink and watercolour.",
                            "focalPoint": [0.0, 0.0], "width": 1600, "height": 1200,
                            "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj", "xRobotsTag": "noai, noimageai"}],
            "tag": [{"type": "Hashtag", "href": urls.tag("watercolour"), "name": "#watercolour"}],
            "license": urls.ai_policy, "xRobotsTag": "noai, noimageai",
        },
    }


# -- measuring -----------------------------------------------------------------------------------------------


def cpu_rate(count: int, work: Callable[[], object]) -> float:
    """CPU microseconds per call of a synchronous ``work``."""
    cpu = time.process_time()
    for _ in range(count):
        work()
    return (time.process_time() - cpu) / count * 1e6


async def async_cpu(count: int, concurrency: int,
                    one: Callable[[object], Awaitable[int]]) -> tuple[float, float]:
    """(requests per second, CPU microseconds per request) of ``count`` calls, ``concurrency`` at a time."""
    cpu = time.process_time()
    result = await drive(range(count), concurrency, one)
    bad = {s: c for s, c in result.statuses.items() if s != 202}
    if bad:
        print(f"  WARNING: unexpected answers {bad}")
    return result.per_second, (time.process_time() - cpu) / count * 1e6


async def sink_posts(session: aiohttp.ClientSession, base: str) -> int:
    async with session.get(f"{base}/count") as response:
        return int((await response.json())["posts"])


async def bench(args: argparse.Namespace, tmp: Path, sink_port: int) -> None:
    print(machine_note())
    settings = Settings().replace(
        instance={"domain": DOMAIN}, database={"url": f"sqlite://{tmp / 'cara.sqlite3'}"},
        media={"root": str(tmp / "media")},
        federation={"allow_http": True, "allow_nonpublic": ["127.0.0.0/8"]})
    load_job_handlers()
    sink_base = f"http://127.0.0.1:{sink_port}"
    policy = NetworkPolicy(allow_http_hosts=settings.http_allowed_for,
                           allow_nonpublic=frozenset(settings.federation.allow_nonpublic))
    async with db.database(settings.database) as ctx:
        await db.migrate(ctx, settings.database)
        user = await accounts.create_local_account(LOCAL_USER, "artist@example.com",
                                                   "correct horse battery staple")
        signer = await Account.get(id=user.account_id)
        urls = LocalUrls(settings)
        activity = create_activity(urls)
        inboxes = [f"{sink_base}/users/u{i}/inbox" for i in range(args.deliveries)]
        started = time.perf_counter()
        async with in_transaction() as conn:  # as the fan-out job does
            queued = await enqueue_deliveries(activity, signer, inboxes, using_db=conn)
        enqueue_seconds = time.perf_counter() - started

        async with make_session(policy, limit_per_host=args.limit_per_host) as session:
            await wait_until(lambda: _up(session, sink_base), 30, "the sink")
            federation = Federation.create(settings, session, policy)
            key_id, pem = urls.key_id(LOCAL_USER), signer.private_key_pem or ""
            body = orjson.dumps(activity)
            print(f"{queued} delivery jobs of one {len(body)}-byte activity to {args.deliveries} inboxes on "
                  f"one loopback host (queued in {enqueue_seconds:.1f} s, not counted); runner concurrency "
                  f"{args.concurrency}, {args.limit_per_host} connections per host, kept alive")

            # The pieces alone, for scale (same session, same concurrency).
            plain_url = URL(inboxes[0], encoded=True)
            sign_us = cpu_rate(300, lambda: sign_request(
                "POST", inboxes[0], {"Content-Type": AS_CONTENT_TYPE}, body, key_id, pem))

            async def plain(_item: object) -> int:
                async with session.post(plain_url, data=body,
                                        headers={"Content-Type": AS_CONTENT_TYPE}) as response:
                    await response.read()
                    return response.status

            def sign(method: str, url: str, headers: dict[str, str], payload: bytes) -> dict[str, str]:
                return sign_request(method, url, headers, payload, key_id, pem)

            async def signed(_item: object) -> int:
                result = await post_json(session, inboxes[0], body, policy=policy,
                                         headers={"Content-Type": AS_CONTENT_TYPE}, sign=sign)
                return result.status

            await drive(range(100), args.concurrency, plain)  # warm up: connections, DNS cache
            plain_rate, plain_us = await async_cpu(args.baseline, args.concurrency, plain)
            signed_rate, signed_us = await async_cpu(args.baseline, args.concurrency, signed)
            before_jobs = await sink_posts(session, sink_base)

            # The jobs.
            runner = JobRunner(concurrency=args.concurrency, lease_seconds=60, poll_seconds=0.05,
                               keep_done_hours=24, kinds=[DELIVER_JOB],
                               services={"settings": settings, "federation": federation})
            stop = asyncio.Event()
            spy = PySpy(os.getpid(), (args.profile_dir or tmp) / "deliver.collapsed") \
                if args.profile else None
            meter, started = CpuMeter(os.getpid()), time.perf_counter()
            run = asyncio.create_task(runner.run(stop))
            try:
                while True:  # a cheap COUNT five times a second; the runner wakes itself between claims
                    await asyncio.sleep(0.2)
                    if run.done() or not await Job.filter(state__in=[QUEUED, RUNNING]).count():
                        break
                seconds, split = time.perf_counter() - started, meter.read()
            finally:
                stop.set()
                await run
                if spy is not None:
                    spy.stop()
            states = await queue.counts_by_state()
            received = await sink_posts(session, sink_base) - before_jobs

    done, cpu = states.get(DONE, 0), split.total
    print(f"jobs: {states}; POSTs seen by the sink: {received}"
          + ("" if done == queued == received else "   WARNING: not every job ended done / reached the sink"))
    print(table([
        ["", "per second", "CPU us each", "per CPU second"],
        ["sign_request alone", "", f"{sign_us:.0f}", f"{1e6 / sign_us:.0f}"],
        ["session.post alone", f"{plain_rate:.0f}", f"{plain_us:.0f}", f"{1e6 / plain_us:.0f}"],
        ["post_json + signing", f"{signed_rate:.0f}", f"{signed_us:.0f}", f"{1e6 / signed_us:.0f}"],
        ["delivery jobs (runner)", f"{done / seconds:.0f}", f"{cpu / max(done, 1) * 1e6:.0f}",
         f"{done / cpu if cpu else float('nan'):.0f}"],
    ]))
    per_core = done / cpu if cpu else float("nan")
    print(f"of the jobs' CPU, {100 * split.main / max(cpu, 1e-9):.0f}% on the event-loop thread, the rest "
          "on other threads (aiosqlite's connection thread)")
    print(f"the job machinery (claim, checks, outcome, the runner's bookkeeping) over post_json + signing: "
          f"{cpu / max(done, 1) * 1e6 - signed_us:.0f} CPU us per delivery")
    print(f"deliveries per core-second: {per_core:.0f}   "
          f"(goal >= 600: {'met' if per_core >= 600 else 'MISSED'})")
    if spy is not None:
        print("\nprofile of this process during the job run (py-spy):")
        print(spy.summary(args.top, ["deliver (cara_fed/federation/delivery.py",
                                     "_run_and_record (cara_fed/jobs/runner.py"]))


async def _up(session: aiohttp.ClientSession, base: str) -> bool:
    try:
        await sink_posts(session, base)
        return True
    except aiohttp.ClientError:
        return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--deliveries", type=int, default=3000, help="delivery jobs (default 3000)")
    parser.add_argument("--concurrency", type=int, default=16, help="runner concurrency (default 16)")
    parser.add_argument("--limit-per-host", type=int, default=8,
                        help="make_session's per-host connection cap (default 8, as in production)")
    parser.add_argument("--baseline", type=int, default=1000,
                        help="requests per baseline figure (default 1000)")
    parser.add_argument("--profile", action="store_true", help="py-spy this process during the job run")
    parser.add_argument("--profile-dir", type=Path, metavar="DIR",
                        help="keep py-spy's collapsed stacks there (default: a temporary directory)")
    parser.add_argument("--top", type=int, default=10, help="functions in the profile (default 10)")
    args = parser.parse_args()
    sock = listening_socket()
    server = multiprocessing.get_context("fork").Process(target=sink, args=(sock,), daemon=True)
    server.start()  # before any event loop or database thread exists in this process
    try:
        with tempfile.TemporaryDirectory(prefix="cara-bench-deliver-") as tmp:
            asyncio.run(bench(args, Path(tmp), sock.getsockname()[1]))
    finally:
        server.terminate()
        server.join(timeout=5)
        sock.close()


if __name__ == "__main__":
    main()
