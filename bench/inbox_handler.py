"""The inbox job handler alone: CPU per ``Create`` activity in ``process_incoming``, without the job queue
(claiming and completing jobs is measured by bench/inbox.py's worker part).

    .venv/bin/python -m bench.inbox_handler [--activities 2000] [--concurrency 16] [--database URL]
                                            [--profile [--top 30]]

A temporary SQLite database (or ``--database postgres://...``, which must be empty), migrated, with a local
user ``bench`` and a known remote actor (fetched "just now", so nothing goes on the network); then N
Mastodon-shaped Creates (bench/_remote.py's, a Note mentioning @bench) run through the job handler, N at a
time with the given concurrency, as the worker runs them. Prints the process CPU (every thread: aiosqlite
runs its queries in one) per activity. ``--profile`` runs cProfile around the measured part instead (its
overhead inflates the figure: take figures from a run without it). Prints figures; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

import orjson

from activitypub import jsonld
from activitypub.keys import generate_rsa_keypair
from bench._support import machine_note
from bench._remote import LOCAL_USER, Remote, create_activity


async def run(args: argparse.Namespace, tmp: Path) -> None:
    from cara_fed import db as database
    from cara_fed.federation.context import Federation
    from cara_fed.federation.http import default_session, network_policy
    from cara_fed.federation.inbox import INBOX_JOB, process_incoming
    from cara_fed.jobs.handlers import load_job_handlers
    from cara_fed.jobs.registry import JobContext
    from cara_fed.models import Notification, Status
    from cara_fed.services.accounts import create_local_account
    from cara_fed.services.instance import ensure_instance_actor
    from cara_fed.settings import load_settings

    url = args.database or f"sqlite://{tmp / 'cara.sqlite3'}"
    settings = load_settings(environ={
        "CARA_FED_INSTANCE_DOMAIN": "127.0.0.1:8080", "CARA_FED_DATABASE_URL": url,
        "CARA_FED_MEDIA_ROOT": str(tmp / "media"), "CARA_FED_FEDERATION_ALLOW_HTTP": "true",
        "CARA_FED_FEDERATION_ALLOW_NONPUBLIC": "127.0.0.0/8", "CARA_FED_LOGGING_LEVEL": "warning"})
    load_job_handlers()
    print(machine_note())
    async with database.database(settings.database) as ctx:
        await database.migrate(ctx, settings.database)
        await ensure_instance_actor(settings)
        await create_local_account(LOCAL_USER, "bench@example.com", "correct horse battery staple")
        keys = generate_rsa_keypair()
        remote = Remote(9, keys.private_pem, keys.public_pem)
        policy = network_policy(settings)
        async with default_session(policy) as http:
            federation = Federation.create(settings, http, policy)
            await federation.actors.actor_from_document(jsonld.normalize(orjson.loads(remote.document())))
            base = settings.base_url
            # As the worker gets them: each payload read back from JSON (the jobs table stores it so).
            payloads: list[dict[str, Any]] = [
                orjson.loads(orjson.dumps({"activity": jsonld.normalize(orjson.loads(create_activity(remote, base, n))),
                                           "signer": remote.actor, "recipient": LOCAL_USER}))
                for n in range(args.warmup + args.activities)]
            services = {"settings": settings, "federation": federation}

            async def handle(n: int) -> None:
                await process_incoming(JobContext(job_id=n, kind=INBOX_JOB, payload=dict(payloads[n]), attempt=1,
                                                  services=services))

            async def batch(numbers: range) -> None:
                queue = list(numbers)

                async def lane() -> None:
                    while queue:
                        await handle(queue.pop(0))

                await asyncio.gather(*(lane() for _ in range(args.concurrency)))

            await batch(range(args.warmup))
            profiler = cProfile.Profile() if args.profile else None
            wall, cpu = time.perf_counter(), time.process_time()
            if profiler:
                profiler.enable()
            await batch(range(args.warmup, args.warmup + args.activities))
            if profiler:
                profiler.disable()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            statuses = await Status.filter(local=False).count()
            notifications = await Notification.all().count()
        print(f"{args.activities} activities (+{args.warmup} warm-up), concurrency {args.concurrency}, "
              f"{url.split(':')[0]}: {statuses} remote statuses, {notifications} notifications stored")
        print(f"handler CPU: {cpu / args.activities * 1e6:.0f} us/activity "
              f"({args.activities / cpu:.0f} activities per CPU second; wall {args.activities / wall:.0f}/s)")
        if profiler:
            stats = pstats.Stats(profiler)
            stats.sort_stats("cumulative").print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--activities", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--database", help="a database URL (default: a temporary SQLite file)")
    parser.add_argument("--profile", action="store_true", help="cProfile the measured part")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args()
    os.environ.setdefault("CARA_FED_LOGGING_LEVEL", "warning")
    with tempfile.TemporaryDirectory(prefix="cara-bench-handler-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
