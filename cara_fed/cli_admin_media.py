"""`cara-fed media prune` and `cara-fed stats` (registered by cli_admin.py): removing cached copies of remote
media older than N days (services/admin_media.py; local uploads are never touched), and the instance's
figures (accounts, posts, media storage, jobs by state, unreachable hosts) as lines or JSON."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from cara_fed.settings import Settings


def add_media_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    media = commands.add_parser("media", help="media files").add_subparsers(metavar="ACTION")
    prune = media.add_parser("prune", parents=[common],
                             help="delete cached copies of remote media first stored more than N days ago")
    prune.add_argument("--days", type=float, required=True, metavar="N")
    prune.add_argument("--dry-run", action="store_true", help="only print what would be deleted")
    prune.add_argument("--json", action="store_true", help="machine-readable output")
    prune.set_defaults(run=_media_prune)

    stats = commands.add_parser("stats", parents=[common],
                                help="accounts, posts, media, jobs, unreachable hosts")
    stats.add_argument("--json", action="store_true", help="machine-readable output")
    stats.set_defaults(run=_stats)


def human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def _media_prune(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.services.admin_media import MAX_DAYS, prune_remote_media

    if not 0 <= args.days <= MAX_DAYS:
        raise CommandFailed(f"--days must be between 0 and {MAX_DAYS}", 2)

    async def work(settings: Settings) -> None:
        result = await prune_remote_media(settings, args.days, dry_run=args.dry_run)
        verb = "would delete" if args.dry_run else "deleted"
        if args.json:
            print(orjson.dumps({"dry_run": args.dry_run, "media": result.media, "files": result.files,
                                "bytes": result.bytes,
                                "items": [{"media_id": str(i.media_id), "remote_url": i.remote_url,
                                           "files": i.files, "bytes": i.bytes}
                                          for i in result.items]}).decode())
            return
        for item in result.items:
            print(f"{verb} media {item.media_id}: {len(item.files)} file(s), {human(item.bytes)} "
                  f"(the original stays at {item.remote_url})")
        print(f"{verb} {result.files} file(s) of {result.media} remote attachment(s), {human(result.bytes)}")

    _with_database(args, work)
    return 0


def _stats(args: argparse.Namespace) -> int:
    from cara_fed.cli import _with_database
    from cara_fed.services import admin_dashboard

    async def work(settings: Settings) -> None:
        board = await admin_dashboard.dashboard(settings, None, disk_max_age=0)
        a, p, m, j = board.accounts, board.posts, board.media, board.jobs
        disk = m.disk
        assert disk is not None, "counted now (disk_max_age=0)"
        figures = {
            "accounts": {"local": a.local, "local_active": a.local_active, "pending": a.pending,
                         "local_suspended": a.local_suspended, "remote": a.remote,
                         "remote_suspended": a.remote_suspended, "silenced": a.silenced},
            "posts": {"local": p.local, "remote": p.remote},
            "media": {"local_uploads": m.local_count, "local_bytes": m.local_bytes,
                      "remote_cached": m.remote_cached_count, "remote_cached_bytes": m.remote_cached_bytes,
                      "disk_files": disk.files, "disk_bytes": disk.bytes},
            "reports_open": board.open_reports,
            "jobs": {**j.by_state, "deliveries_queued": j.deliveries_queued,
                     "deliveries_running": j.deliveries_running},
            "hosts": {"failing": board.failing_count, "unreachable": board.unreachable_count,
                      "unreachable_hosts": [h.domain for h in board.failing_hosts if h.unreachable_since]},
        }
        if args.json:
            print(orjson.dumps(figures).decode())
            return
        print(f"accounts: {a.local} local ({a.local_active} active, {a.pending} pending, {a.local_suspended} "
              f"suspended), {a.remote} remote ({a.remote_suspended} suspended), {a.silenced} silenced")
        print(f"posts: {p.local} local, {p.remote} remote")
        print(f"media: {human(disk.bytes)} in {disk.files} files; {m.local_count} uploads, "
              f"{m.remote_cached_count} cached remote attachments")
        print(f"reports: {board.open_reports} open")
        states = j.by_state
        print(f"jobs: {states['queued']} queued, {states['running']} running, {states['done']} done, "
              f"{states['dead']} dead; deliveries queued {j.deliveries_queued}")
        unreachable = figures["hosts"]["unreachable_hosts"]  # type: ignore[index]
        print(f"hosts: {board.failing_count} failing, {board.unreachable_count} unreachable"
              + (f": {', '.join(unreachable)}" if unreachable else ""))

    _with_database(args, work)
    return 0
