"""`cara-fed` commands for running an instance (accounts, domains, reports, jobs, media, stats): the admin
issue's tootctl-grade tools. Registered by cara_fed/cli.py through :func:`add_admin_commands`; each command
uses cli.py's helpers (``_with_database``, ``CommandFailed``) and prints clear lines, or JSON with --json."""

from __future__ import annotations

import argparse
from typing import Any


def add_admin_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    """Add the admin command groups to the top-level subparsers (none yet)."""
