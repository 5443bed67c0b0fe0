"""Public page cost: an anonymous view of an artist's profile with 200 works, served by `cara-fed serve` on
SQLite: requests per second and the server's CPU milliseconds per view, rendered from the database every
time, then as the server keeps it (rendered once per change), then for a repeat view that sends the page's
ETag back (answered 304).

    .venv/bin/python -m bench.pages [--works 200] [--requests 1000] [--concurrency 8] [--profile [--top 10]]

Goal (issue 6, Acceptance): at most 10 ms of server CPU per profile view, and a repeat view with
If-None-Match answered 304. CPU is the goal's measure (utime+stime of the server's pid, all threads,
/proc/PID/stat): wall-clock rates fall when something else runs on the machine.

What it does, all on loopback (about half a minute):
1. a temporary SQLite database: `cara-fed user create artist` (migrates it), then, written directly in this
   process, the artist's bio and profile fields, 4 series, and N works (1 to 3 images each, every image
   with its derivatives and alt text, some in a series, each with tags) plus 40 plain posts;
2. `cara-fed serve` on a free port (jobs not run in-process, logging at warning);
3. warm-up, then R GET /@artist?r=N as a browser (Accept: text/html...), a different N each time so that
   every view is read and rendered from the database (the server keeps rendered pages by ETag, and the
   query is part of it), checking that each page holds every work; then R GET /@artist, all but the first
   served as rendered before; then R GETs of one work's page; then R repeat views of the profile with
   If-None-Match (304).
``--profile`` attaches py-spy to the server during the profile run and prints the top functions.
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

from bench._support import (
    CpuMeter,
    CpuSplit,
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
BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
WARMUP = 30
SERIES = 4
POSTS = 40


async def seed(db_url: str, media_root: str, works: int) -> int:
    """The artist's profile, series, works and posts; returns the id of a work in the middle."""
    from cara_fed import db
    from cara_fed.models import Account, MediaAttachment, Series, Status, Tag, User, Work
    from cara_fed.settings import Settings

    settings = Settings().replace(database={"url": db_url}, media={"root": media_root})
    async with db.database(settings.database):
        user = await User.get(account__username="artist").select_related("account")
        artist: Account = user.account
        await User.filter(id=user.id).update(commissions="open")
        artist.display_name = "Ada Artist"
        artist.note = "<p>Painter of <strong>shores</strong> and birds. Commissions open for spring.</p>"
        artist.profile_fields = [{"name": "Shop", "value": "https://ada.example/shop"},
                                 {"name": "Pronouns", "value": "she/her"}]
        await artist.save()
        series = [await Series.create(account=artist, name=f"Series {n}", position=n) for n in range(SERIES)]
        tags = [(await Tag.get_or_create(name=name))[0] for name in ("portfolio", "ink", "oil", "birds")]
        middle = 0
        sizes = ((3000, 2000), (2000, 3000), (4000, 1500), (2400, 2400))
        for n in range(works):
            status = await Status.create(account=artist, text=f"Work {n}", content=f"<p>Work {n} #portfolio</p>",
                                         visibility="public", language="en")
            width, height = sizes[n % len(sizes)]
            for k in range(1 + n % 3):
                key = f"w{n:03d}i{k}"
                scale = 1280 / max(width, height)
                await MediaAttachment.create(
                    account=artist, status=status, position=k, type="image", file_path=f"{key}f.webp",
                    content_type="image/webp", description=f"Work {n}, image {k}: a heron standing in shallow water",
                    blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                    meta={"original": {"width": width, "height": height},
                          "small": {"width": round(width * scale), "height": round(height * scale)}},
                    files={role: f"{key}{suffix}" for role, suffix in (
                        ("full", "f.webp"), ("full_federation", "f.jpg"), ("preview", "p.webp"),
                        ("preview_federation", "p.jpg"), ("thumbnail", "t.webp"), ("thumbnail_federation", "t.jpg"))})
            await status.tags.add(tags[0], tags[1 + n % 3])
            work = await Work.create(account=artist, status=status, title=f"Heron study {n}", position=n,
                                     medium="Oil on linen", year=2020 + n % 5, description=f"Study number {n}.",
                                     series=series[n % SERIES] if n % 2 else None, series_position=n)
            if n == works // 2:
                middle = work.id
        for n in range(POSTS):
            await Status.create(account=artist, text=f"post {n}", content=f"<p>A plain post {n}.</p>",
                                visibility="public")
        return middle


async def run(args: argparse.Namespace, tmp: Path) -> None:
    print(machine_note())
    port = free_port()
    db_path = tmp / "cara.sqlite3"
    env = clean_environ(
        CARA_FED_INSTANCE_DOMAIN=f"127.0.0.1:{port}", CARA_FED_SERVER_BIND=f"127.0.0.1:{port}",
        CARA_FED_DATABASE_URL=f"sqlite://{db_path}", CARA_FED_MEDIA_ROOT=str(tmp / "media"),
        CARA_FED_JOBS_RUN_IN_PROCESS="false", CARA_FED_LOGGING_LEVEL="warning")
    subprocess.run([CARA_FED, "user", "create", "artist", "--email", "artist@example.org", "--password",
                    "bench password 1"], env=env, cwd=tmp, check=True, capture_output=True)
    work_id = await seed(f"sqlite://{db_path}", str(tmp / "media"), args.works)
    log = tmp / "serve.log"
    with log.open("wb") as out:
        server = subprocess.Popen([CARA_FED, "serve"], env=env, cwd=tmp, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    headers = {"Accept": BROWSER, "User-Agent": "Mozilla/5.0 (bench) Firefox/128.0"}
    sizes: list[int] = []
    try:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as http:
            async def ready() -> bool:
                async with http.get(base + "/health") as response:
                    return response.status == 200
            await wait_until(ready, 30, "cara-fed serve", server)

            async def profile(item: object) -> int:
                async with http.get(f"{base}/@artist?r={item}", headers=headers) as response:
                    body = await response.read()
                    if response.status == 200:
                        found = body.count(b'<li class="cell')
                        if found != args.works:
                            raise RuntimeError(f"unexpected page: {found} works of {args.works}")
                        sizes.append(len(body))
                    return response.status

            async def same_profile(_item: object) -> int:
                async with http.get(base + "/@artist", headers=headers) as response:
                    await response.read()
                    return response.status

            async def work_page(_item: object) -> int:
                async with http.get(f"{base}/@artist/works/{work_id}", headers=headers) as response:
                    await response.read()
                    return response.status

            await drive(range(-WARMUP, 0), args.concurrency, profile)
            async with http.get(base + "/@artist", headers=headers) as response:
                etag = response.headers["ETag"]
                await response.read()

            async def repeat(_item: object) -> int:
                async with http.get(base + "/@artist", headers={**headers, "If-None-Match": etag}) as response:
                    await response.read()
                    return response.status

            spy = PySpy(server.pid, tmp / "profile.collapsed") if args.profile else None
            results: list[tuple[str, DriveResult, CpuSplit]] = []
            for label, one in ((f"GET /@artist?r=N ({args.works} works, rendered)", profile),
                               ("GET /@artist (rendered once, then kept)", same_profile),
                               ("GET /@artist/works/ID (2 images)", work_page),
                               ("GET /@artist with If-None-Match", repeat)):
                await drive(range(-2 * WARMUP, -WARMUP), args.concurrency, one)
                meter = CpuMeter(server.pid)
                result = await drive(range(args.requests), args.concurrency, one)
                results.append((label, result, meter.read()))
                if spy and one is profile:
                    spy.stop()
                    print(spy.summary(top=args.top))
                    spy = None
    finally:
        stop_process(server)
    rows = [["page", "requests", "statuses", "req/s (wall)", "server CPU ms/request", "on event loop"]]
    for label, result, cpu in results:
        rows.append([label, str(result.requests), repr(dict(result.statuses)), f"{result.per_second:.0f}",
                     f"{cpu.total / result.requests * 1000:.2f}", f"{100 * cpu.main / max(cpu.total, 1e-9):.0f}%"])
    print(table(rows))
    view_cpu = results[0][2].total / results[0][1].requests * 1000
    kept_cpu = results[1][2].total / results[1][1].requests * 1000
    print(f"profile page: {sum(sizes) // max(len(sizes), 1)} bytes of HTML; {view_cpu:.2f} ms server CPU per "
          f"anonymous view rendered from the database (goal: at most 10 ms), {kept_cpu:.2f} ms when served as "
          f"rendered before; repeat view with If-None-Match: {dict(results[3][1].statuses)} at "
          f"{results[3][2].total / results[3][1].requests * 1000:.2f} ms CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=200, help="works in the portfolio (default 200)")
    parser.add_argument("--requests", type=int, default=1000, help="requests per page (default 1000)")
    parser.add_argument("--concurrency", type=int, default=8, help="requests in flight (default 8)")
    parser.add_argument("--profile", action="store_true", help="py-spy the server during the profile run")
    parser.add_argument("--top", type=int, default=10, help="functions per profile (default 10)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cara-bench-pages-") as tmp:
        asyncio.run(run(args, Path(tmp)))


if __name__ == "__main__":
    main()
