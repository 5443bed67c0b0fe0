"""`cara-fed`: serve, worker, migrate, config check, and user administration.

Every failure is one line on stderr and a non-zero exit: 2 for configuration problems (a bad setting, an
unreachable database) and usage errors, 1 when a command could not do what was asked.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import logging
import signal
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, NoReturn

import orjson
from tortoise.exceptions import BaseORMException

from cara_fed import db as database
from cara_fed.errors import CaraError
from cara_fed.logs import configure_logging
from cara_fed.settings import ConfigError, Settings, load_settings

EXIT_FAILED = 1
EXIT_CONFIG = 2

log = logging.getLogger("cara_fed.cli")


class CommandFailed(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def main(argv: Sequence[str] | None = None) -> NoReturn:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(sys.stderr)
        sys.exit(EXIT_CONFIG)
    try:
        code = args.run(args)
    except ConfigError as exc:
        _fail(f"configuration error: {exc}", EXIT_CONFIG)
    except database.DatabaseUnavailable as exc:
        _fail(f"database error: {exc}", EXIT_CONFIG)
    except CommandFailed as exc:
        _fail(str(exc), exc.code)
    except CaraError as exc:
        _fail(exc.message, EXIT_FAILED)
    except (BaseORMException, OSError) as exc:  # e.g. "database is locked", a full disk
        _fail(f"database error: {_one_line(exc)}", EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted", 130)
    sys.exit(code or 0)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _fail(message: str, code: int) -> NoReturn:
    print(f"cara-fed: {message}", file=sys.stderr)
    sys.exit(code)


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    # SUPPRESS: a subcommand's parser must not reset a --config given before the subcommand name.
    common.add_argument("--config", metavar="FILE", default=argparse.SUPPRESS,
                        help="TOML settings file (default: $CARA_FED_CONFIG)")

    parser = argparse.ArgumentParser(prog="cara-fed", parents=[common],
                                     description="An ActivityPub server for artists.")
    commands = parser.add_subparsers(metavar="COMMAND")

    serve = commands.add_parser("serve", parents=[common], help="migrate, then serve HTTP (and run jobs)")
    serve.add_argument("--bind", metavar="HOST:PORT", help="overrides server.bind")
    serve.set_defaults(run=_serve)

    worker = commands.add_parser("worker", parents=[common], help="run background jobs only")
    worker.add_argument("--concurrency", type=int, metavar="N", help="overrides jobs.concurrency")
    worker.set_defaults(run=_worker)

    migrate = commands.add_parser("migrate", parents=[common], help="apply pending database migrations")
    migrate.set_defaults(run=_migrate)

    config = commands.add_parser("config", help="settings").add_subparsers(metavar="ACTION")
    check = config.add_parser("check", parents=[common], help="validate a settings file")
    check.add_argument("file", nargs="?", help="the file (default: --config or $CARA_FED_CONFIG)")
    check.set_defaults(run=_config_check)

    user = commands.add_parser("user", help="local accounts").add_subparsers(metavar="ACTION")
    create = user.add_parser("create", parents=[common], help="create a local account")
    create.add_argument("username")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="(default: read from the terminal or the first line of stdin)")
    create.add_argument("--admin", action="store_true", help="give the account the admin role")
    create.set_defaults(run=_user_create)

    listing = user.add_parser("list", parents=[common], help="list local accounts")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_user_list)

    set_password = user.add_parser("set-password", parents=[common], help="change an account's password")
    set_password.add_argument("username")
    set_password.add_argument("--password", help="(default: read from the terminal or stdin)")
    set_password.set_defaults(run=_user_set_password)

    for name, help_text in (("suspend", "suspend an account (no login, tokens revoked)"),
                            ("unsuspend", "lift a suspension")):
        action = user.add_parser(name, parents=[common], help=help_text)
        action.add_argument("username")
        action.set_defaults(run=_user_suspend, suspend=name == "suspend")

    noai = commands.add_parser("noai", help="the no-AI policy").add_subparsers(metavar="ACTION")
    noai_update = noai.add_parser("update", parents=[common],
                                  help="install a newer AI-crawler list (ai.robots.txt's robots.json)")
    noai_update.add_argument("file", help="the robots.json to install (checked first)")
    noai_update.set_defaults(run=_noai_update)

    from cara_fed.cli_admin import add_admin_commands  # late: it uses this module's helpers

    add_admin_commands(commands, common)
    return parser


# -- helpers ----------------------------------------------------------------------------------------------


def _settings(args: argparse.Namespace) -> Settings:
    settings = load_settings(_config_path(args))
    configure_logging(settings.logging.level, settings.logging.format)
    return settings


def _with_database(args: argparse.Namespace, work: Callable[[Settings], Awaitable[Any]]) -> Any:
    """Run ``work`` with the database open and migrated (so every command works on a fresh install)."""
    settings = _settings(args)

    async def run() -> Any:
        from cara_fed.services.instance import ensure_instance_actor

        async with database.database(settings.database) as ctx:
            await database.migrate(ctx, settings.database)
            await ensure_instance_actor(settings)  # before any user can take its name
            return await work(settings)

    return asyncio.run(run())


def _config_path(args: argparse.Namespace) -> str | None:
    path: str | None = getattr(args, "config", None)
    return path


def _read_password(given: str | None) -> str:
    if given is not None:
        return given
    if sys.stdin.isatty():
        try:
            first = getpass.getpass("Password: ")
            if first != getpass.getpass("Repeat password: "):
                raise CommandFailed("the passwords do not match")
        except EOFError:
            raise CommandFailed("no password given") from None
        return first
    line = sys.stdin.readline()
    if not line:
        raise CommandFailed("no password given: use --password or pipe it on stdin")
    return line.rstrip("\r\n")


def _install_stop_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)


# -- commands ---------------------------------------------------------------------------------------------


def _config_check(args: argparse.Namespace) -> int:
    path = args.file or _config_path(args)
    settings = load_settings(path)
    source = path or "defaults and environment (no file given)"
    print(f"ok: {source} (instance {settings.instance.domain}, database {database.describe(settings.database)})")
    return 0


def _migrate(args: argparse.Namespace) -> int:
    settings = _settings(args)

    async def run() -> list[str]:
        async with database.database(settings.database) as ctx:
            return await database.migrate(ctx, settings.database)

    applied = asyncio.run(run())
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


def _serve(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.bind:
        settings = settings.replace(server={"bind": args.bind})
    return asyncio.run(_serve_async(settings))


async def _serve_async(settings: Settings) -> int:
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.utils import LifespanFailureError

    from cara_fed.app import create_app
    from cara_fed.jobs.handlers import load_job_handlers
    from cara_fed.serving import hypercorn_config, open_listener

    async with database.database(settings.database) as ctx:  # migrate first, fail fast on a bad database
        applied = await database.migrate(ctx, settings.database)
    if applied:
        log.info("migrations applied", extra={"migrations": applied})
    load_job_handlers()
    try:
        listener = open_listener(settings.server.bind)
    except OSError as exc:
        raise CommandFailed(f"cannot listen on {settings.server.bind}: {exc.strerror or exc}") from None
    stop = asyncio.Event()
    _install_stop_signals(stop)
    log.info("serving", extra={"bind": settings.server.bind, "url": settings.base_url})
    app = create_app(settings)
    app.before_serving(_settled)  # after the app's own startup (database, runner): they run in this order
    try:
        await hypercorn_serve(app, hypercorn_config(listener),  # type: ignore[arg-type]
                              shutdown_trigger=stop.wait)
    except LifespanFailureError as exc:  # e.g. the database went away between migrating and starting
        raise CommandFailed(f"could not start: {_one_line(exc.__cause__ or exc)}", EXIT_CONFIG) from None
    return 0


async def _settled() -> None:
    from cara_fed.heap import settle_after_startup

    settle_after_startup()


def _worker(args: argparse.Namespace) -> int:
    settings = _settings(args)
    if args.concurrency is not None:
        settings = settings.replace(jobs={"concurrency": args.concurrency})
    return asyncio.run(_worker_async(settings))


async def _worker_async(settings: Settings) -> int:
    from cara_fed.federation.context import Federation
    from cara_fed.federation.http import default_session, network_policy
    from cara_fed.heap import settle_after_startup
    from cara_fed.jobs.handlers import load_job_handlers
    from cara_fed.jobs.runner import JobRunner
    from cara_fed.services.instance import ensure_instance_actor

    load_job_handlers()
    stop = asyncio.Event()
    _install_stop_signals(stop)
    async with database.database(settings.database) as ctx:
        await database.migrate(ctx, settings.database)
        await ensure_instance_actor(settings)
        policy = network_policy(settings)
        async with default_session(policy) as http:
            runner = JobRunner(concurrency=settings.jobs.concurrency, lease_seconds=settings.jobs.lease_seconds,
                               poll_seconds=settings.jobs.poll_seconds,
                               keep_done_hours=settings.jobs.keep_done_hours,
                               services={"settings": settings,
                                         "federation": Federation.create(settings, http, policy)})
            print(f"worker {runner.worker_id} running jobs: {', '.join(runner.kinds) or '(none registered)'}",
                  flush=True)
            settle_after_startup()
            await runner.run(stop)
    return 0


def _user_create(args: argparse.Namespace) -> int:
    from cara_fed.services import accounts

    password = _read_password(args.password)

    async def work(settings: Settings) -> None:
        user = await accounts.create_local_account(args.username, args.email, password,
                                                   role="admin" if args.admin else "user")
        print(f"created @{args.username}@{settings.instance.domain} (id {user.account_id}, role {user.role})")

    _with_database(args, work)
    return 0


def _user_list(args: argparse.Namespace) -> int:
    from cara_fed.services import accounts

    async def work(_settings: Settings) -> None:
        rows = await accounts.list_local_accounts()
        if args.json:
            print(orjson.dumps([{"id": str(r.id), "username": r.username, "email": r.email, "role": r.role,
                                 "suspended": r.suspended, "created_at": r.created_at.isoformat()}
                                for r in rows]).decode())
            return
        for r in rows:
            flags = " (suspended)" if r.suspended else ""
            print(f"{r.username:<30} {r.email:<40} {r.role:<9} {r.created_at:%Y-%m-%d}{flags}")
        print(f"{len(rows)} account(s)")

    _with_database(args, work)
    return 0


def _user_set_password(args: argparse.Namespace) -> int:
    from cara_fed.services import accounts

    password = _read_password(args.password)

    async def work(_settings: Settings) -> None:
        await accounts.set_password(args.username, password)
        print(f"password changed for {args.username}")

    _with_database(args, work)
    return 0


def _user_suspend(args: argparse.Namespace) -> int:
    from cara_fed.services import accounts

    async def work(_settings: Settings) -> None:
        if args.suspend:
            await accounts.suspend(args.username)
            print(f"suspended {args.username}")
        else:
            await accounts.unsuspend(args.username)
            print(f"unsuspended {args.username}")

    _with_database(args, work)
    return 0


def _noai_update(args: argparse.Namespace) -> int:
    """Check FILE as a robots.json and install it at noai.crawler_list, where servers pick it up."""
    from media.noai import CrawlerListError, install_crawler_list, load_crawler_list
    from media.noai.crawlers import MAX_FILE_BYTES

    settings = _settings(args)
    destination = settings.noai.crawler_list
    try:
        with open(args.file, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)  # one byte more than allowed: the check then says so
    except OSError as exc:
        raise CommandFailed(f"{args.file}: cannot read: {exc.strerror or exc}") from None
    try:
        previous = load_crawler_list(destination)
    except CrawlerListError:
        previous = None  # the file in place is broken: replacing it is the point
    try:
        installed = install_crawler_list(data, destination, source=args.file)
    except CrawlerListError as exc:
        raise CommandFailed(str(exc)) from None
    except OSError as exc:
        raise CommandFailed(f"{destination}: cannot write: {exc.strerror or exc}") from None
    print(f"installed {len(installed)} AI-crawler names from {args.file} into {destination}; "
          "running servers use them within a minute")
    if previous is not None:
        old, new = set(previous.names), set(installed.names)
        added, removed = sorted(new - old, key=str.lower), sorted(old - new, key=str.lower)
        print(f"compared with the {previous.source} list ({len(previous)} names): "
              f"{len(added)} added{': ' + ', '.join(added) if added else ''}; "
              f"{len(removed)} removed{': ' + ', '.join(removed) if removed else ''}")
    return 0


if __name__ == "__main__":
    main()
