"""Client API cost: the home timeline (20 statuses, half with media) served by `cara-fed serve` on SQLite:
requests per second and the server's CPU milliseconds per request.

    .venv/bin/python -m bench.api [--requests 2000] [--concurrency 8] [--profile [--top 10]]

Goal (issue 4, Acceptance): at most 5 ms of server CPU per home-timeline request. CPU is the goal's
measure (utime+stime of the server's pid, all threads, /proc/PID/stat): wall-clock rates fall when
something else runs on the machine.

What it does, all on loopback (about half a minute):
1. a temporary SQLite database: `cara-fed user create reader` (migrates it), then, written directly with
   the app's own services in this process, 10 local artists the reader follows, each with 6 posts (every
   other one with 2 images, some with mentions and hashtags, some favourited and boosted), and an access
   token for the reader (read scope);
2. `cara-fed serve` on a free port (jobs not run in-process, logging at warning);
3. warm-up, then N GET /api/v1/timelines/home?limit=20 with a fixed concurrency over kept-alive
   connections; checks that each answer is 20 statuses, half of them with media;
4. the same N GETs of a trivial endpoint (GET /api/v1/instance/rules) for comparison.
``--profile`` attaches py-spy to the server during the timeline run and prints the top functions.
Prints figures; asserts nothing (benchmarks are never timed tests).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import tempfile
from pathlib import Path

import aiohttp
import orjson

from bench._support import (
    CpuMeter,
    DriveResult,
    PySpy,
    clean_environ,
    drive,
    free_port,
    machine_note,
    stop_process,
    table,
    wait_until,
)

CARA_FED = str(Path(sys.executable).with_name("cara-fed"))
ARTISTS = 10
POSTS_EACH = 6
WARMUP = 50


async def seed(db_url: str, media_root: str) -> str:
    """Artists, posts, images and interactions; returns the reader's access token."""
    from cara_fed import db
    from cara_fed.models import Account, Follow, MediaAttachment, User
    from cara_fed.services import accounts, interactions, posts
    from cara_fed.services.tokens import issue_token
    from cara_fed.settings import Settings

    settings = Settings().replace(database={"url": db_url}, media={"root": media_root},
                                  instance={"domain": "127.0.0.1:8000"})
    async with db.database(settings.database):
        reader_user = await User.get(account__username="reader").select_related("account")
        reader = reader_user.account
        artists: list[Account] = []
        for n in range(ARTISTS):
            user = await accounts.create_local_account(f"artist{n}", f"artist{n}@example.org", "bench password 1")
            artist = await Account.get(id=user.account_id)
            artists.append(artist)
            await Follow.create(account=reader, target_account=artist)
        for round_ in range(POSTS_EACH):
            for n, artist in enumerate(artists):
                media_ids = []
                if (round_ * ARTISTS + n) % 2 == 0:
                    for k in range(2):
                        media = await MediaAttachment.create(
                            account=artist, type="image", file_path=f"{n}{round_}{k}.webp",
                            files={"full": f"{n}{round_}{k}.webp", "preview": f"{n}{round_}{k}s.webp"},
                            content_type="image/webp", description=f"plate {k} of a series", blurhash="LEHV6nWB2y",
                            meta={"original": {"width": 2000, "height": 1500, "size": "2000x1500",
                                               "aspect": 1.3333}})
                        media_ids.append(media.id)
                other = artists[(n + 1) % ARTISTS].username
                status = await posts.create_post(settings, artist, f"Study {round_} for @{other} #ink #sketch",
                                                 media_ids=media_ids)
                if round_ % 2 == 0:
                    await interactions.favourite(settings, reader, status.id)
                    await interactions.favourite(settings, artists[(n + 2) % ARTISTS], status.id)
        issued = await issue_token(None, reader_user, ["read"])
        return issued.access_token


async def run(args: argparse.Namespace, tmp: Path) -> None:
    print(machine_note())
    port = free_port()
    db_path = tmp / "cara.sqlite3"
    env = clean_environ(
        CARA_FED_INSTANCE_DOMAIN=f"127.0.0.1:{port}", CARA_FED_SERVER_BIND=f"127.0.0.1:{port}",
        CARA_FED_DATABASE_URL=f"sqlite://{db_path}", CARA_FED_MEDIA_ROOT=str(tmp / "media"),
        CARA_FED_JOBS_RUN_IN_PROCESS="false", CARA_FED_LOGGING_LEVEL="warning")
    subprocess.run([CARA_FED, "user", "create", "reader", "--email", "reader@example.org", "--password",
                    "bench password 1"], env=env, cwd=tmp, check=True, capture_output=True)
    token = await seed(f"sqlite://{db_path}", str(tmp / "media"))
    log = tmp / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([CARA_FED, "serve"], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as http:
            async def ready() -> bool:
                async with http.get(base + "/health") as response:
                    return response.status == 200
            await wait_until(ready, 30, "cara-fed serve", server)

            async def home(_item: object) -> int:
                async with http.get(base + "/api/v1/timelines/home?limit=20", headers=headers) as response:
                    body = orjson.loads(await response.read())
                    if response.status == 200:
                        with_media = sum(1 for s in body if s["media_attachments"])
                        if len(body) != 20 or with_media != 10:
                            raise RuntimeError(f"unexpected page: {len(body)} statuses, {with_media} with media")
                    return response.status

            async def trivial(_item: object) -> int:
                async with http.get(base + "/api/v1/instance/rules", headers=headers) as response:
                    await response.read()
                    return response.status

            await drive(range(WARMUP), args.concurrency, home)
            spy = PySpy(server.pid, tmp / "home.collapsed") if args.profile else None
            meter = CpuMeter(server.pid)
            timeline: DriveResult = await drive(range(args.requests), args.concurrency, home)
            timeline_cpu = meter.read()
            if spy:
                spy.stop()
                print(spy.summary(top=args.top))
            meter = CpuMeter(server.pid)
            plain: DriveResult = await drive(range(args.requests), args.concurrency, trivial)
            plain_cpu = meter.read()
    finally:
        stop_process(server)
    rows = [["endpoint", "requests", "statuses", "req/s (wall)", "server CPU ms/request"],
            ["GET /api/v1/timelines/home?limit=20", str(timeline.requests), dict(timeline.statuses).__repr__(),
             f"{timeline.per_second:.0f}", f"{timeline_cpu.total / timeline.requests * 1000:.2f}"],
            ["GET /api/v1/instance/rules (trivial)", str(plain.requests), dict(plain.statuses).__repr__(),
             f"{plain.per_second:.0f}", f"{plain_cpu.total / plain.requests * 1000:.2f}"]]
    print(table(rows))
    print(f"home timeline: {timeline_cpu.total / timeline.requests * 1000:.2f} ms server CPU per request "
          f"(goal: at most 5 ms); {100 * timeline_cpu.main / max(timeline_cpu.total, 1e-9):.0f}% on the event loop")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="timeline requests (default 2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the timeline run")
    parser.add_argument("--top", type=int, default=10, help="functions per profile (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cara-bench-api-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
