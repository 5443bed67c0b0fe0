"""`cara-fed` commands for running an instance (accounts, domains, reports, jobs, media, stats, backups):
the admin issue's tootctl-grade tools. Registered by cara_fed/cli.py through :func:`add_admin_commands`;
each command uses cli.py's helpers (``_settings``, ``_with_database``, ``CommandFailed``) and prints clear
lines, or JSON with --json."""

from __future__ import annotations

import argparse
import os
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any


def add_admin_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the admin command groups to the top-level subparsers."""
    db = commands.add_parser("db", help="the database").add_subparsers(metavar="ACTION")
    backup = db.add_parser("backup", parents=[common],
                           help="copy the SQLite database to FILE while the server runs (PostgreSQL: pg_dump)")
    backup.add_argument("file", help="where to write the copy (must not exist)")
    backup.set_defaults(run=_db_backup)

    from cara_fed.cli_admin_accounts import add_account_commands
    from cara_fed.cli_admin_federation import add_federation_commands
    from cara_fed.cli_admin_media import add_media_commands

    add_account_commands(commands, common)  # accounts ..., reports list
    add_federation_commands(commands, common)  # domains ..., jobs ...
    add_media_commands(commands, common)  # media prune, stats


def _db_backup(args: argparse.Namespace) -> int:
    """SQLite's online backup API: a consistent copy taken page by page while `serve` and workers keep
    writing (https://www.sqlite.org/backup.html); the copy is then checked with PRAGMA integrity_check."""
    from cara_fed import db
    from cara_fed.cli import CommandFailed, _settings

    settings = _settings(args)
    if not settings.database.url.startswith("sqlite://"):
        raise CommandFailed("this is a PostgreSQL database: back it up with pg_dump (docs/deployment.md)")
    source_path = Path(db.sqlite_path(settings.database))
    if not source_path.is_file():
        raise CommandFailed(f"no database at {source_path}")
    target = Path(args.file)
    if target.exists():
        raise CommandFailed(f"{target} exists: choose a new file name")
    partial = target.with_name(target.name + ".partial")
    try:
        with closing(sqlite3.connect(f"file:{source_path}?mode=ro", uri=True, timeout=30)) as source, \
                closing(sqlite3.connect(partial)) as copy:
            source.backup(copy, pages=1024)  # in steps, so writers are never held up for long
            (verdict,) = copy.execute("PRAGMA integrity_check").fetchone()
        if verdict != "ok":
            raise CommandFailed(f"the copy failed its integrity check: {verdict}")
        os.replace(partial, target)
    except sqlite3.Error as exc:
        raise CommandFailed(f"backup failed: {exc}") from None
    finally:
        partial.unlink(missing_ok=True)
    print(f"backed up {source_path} to {target} ({target.stat().st_size} bytes, integrity ok)")
    return 0
