"""`cara-fed domains ...` and `cara-fed jobs ...` (registered by cli_admin.py): domain policy (blocks with
their options, the allow-list, Mastodon's CSV import and export) and the job queue (list, retry dead jobs,
purge finished or dead ones). The command line acts as the operator (services' ``by=None``)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import orjson

from cara_fed.settings import Settings

MAX_CSV_BYTES = 4 * 1024 * 1024


def add_federation_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    domains = commands.add_parser("domains", help="domain policy").add_subparsers(metavar="ACTION")
    block = domains.add_parser("block", parents=[common],
                               help="block a domain and its subdomains (or change its block)")
    block.add_argument("domain")
    block.add_argument("--severity", choices=("suspend", "silence", "noop"), default="suspend",
                       help="suspend: nothing to or from it (default); silence: limited; "
                            "noop: only the options")
    block.add_argument("--reject-media", action="store_true", help="never fetch its media")
    block.add_argument("--reject-reports", action="store_true", help="ignore its reports")
    block.add_argument("--obfuscate", action="store_true", help="partly hide the domain in the public list")
    block.add_argument("--comment", default="", help="private comment, for the staff")
    block.add_argument("--public-comment", default="", help="shown with the public list of blocks")
    block.set_defaults(run=_domain_block)
    for name, help_text in (("unblock", "lift a domain's block"), ("allow", "add a domain to the allow-list"),
                            ("disallow", "take a domain off the allow-list")):
        action = domains.add_parser(name, parents=[common], help=help_text)
        action.add_argument("domain")
        action.set_defaults(run=_domain_change, action=name)
    listing = domains.add_parser("list", parents=[common], help="blocked and allowed domains")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_domain_list)
    importing = domains.add_parser("import", parents=[common], help="import Mastodon's domain-block CSV")
    importing.add_argument("file", help="a Mastodon export (#domain,#severity,...) or one domain per line")
    importing.set_defaults(run=_domain_import)
    exporting = domains.add_parser("export", parents=[common], help="export the blocks as Mastodon's CSV")
    exporting.add_argument("file", nargs="?", help="where to write it (must not exist; default: stdout)")
    exporting.set_defaults(run=_domain_export)

    jobs = commands.add_parser("jobs", help="the background job queue").add_subparsers(metavar="ACTION")
    job_list = jobs.add_parser("list", parents=[common], help="list jobs, newest first")
    job_list.add_argument("--state", choices=("queued", "running", "done", "dead"))
    job_list.add_argument("--kind", help="e.g. federation.deliver")
    job_list.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    job_list.add_argument("--json", action="store_true", help="machine-readable output")
    job_list.set_defaults(run=_job_list)
    retry = jobs.add_parser("retry", parents=[common], help="queue dead jobs again")
    which = retry.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", type=int, help="the dead job's id")
    which.add_argument("--all-dead", action="store_true", help="every dead job")
    retry.set_defaults(run=_job_retry)
    purge = jobs.add_parser("purge", parents=[common], help="delete finished or dead jobs")
    kind = purge.add_mutually_exclusive_group(required=True)
    kind.add_argument("--done", action="store_true", help="finished jobs")
    kind.add_argument("--dead", action="store_true", help="jobs that failed for good")
    purge.add_argument("--older-than", type=float, default=0.0, metavar="HOURS",
                       help="only those finished more than HOURS ago (default: all)")
    purge.set_defaults(run=_job_purge)


def _flags(block: Any) -> str:
    options = [name for name, on in (("reject-media", block.reject_media),
                                     ("reject-reports", block.reject_reports),
                                     ("obfuscated", block.obfuscate)) if on]
    return f"{block.severity}" + (f" ({', '.join(options)})" if options else "")


def _domain_block(args: argparse.Namespace) -> int:
    from cara_fed.cli import _with_database
    from cara_fed.services import admin_domains, domain_policy

    options = {"severity": args.severity, "reject_media": args.reject_media,
               "reject_reports": args.reject_reports, "obfuscate": args.obfuscate,
               "private_comment": args.comment, "public_comment": args.public_comment}

    async def work(_settings: Settings) -> None:
        existing = await domain_policy.find_domain_block(args.domain)
        if existing is not None:
            block = await admin_domains.update_block(None, existing.id, **options)
            print(f"changed the block of {block.domain}: {_flags(block)}")
            return
        covering = await domain_policy.covering_block(args.domain)
        block = await admin_domains.block(None, args.domain, **options)
        print(f"blocked {block.domain}: {_flags(block)}"
              + (f" (inside {covering.domain}, blocked {_flags(covering)})" if covering else ""))

    _with_database(args, work)
    return 0


def _domain_change(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.models import DomainAllow
    from cara_fed.services import admin_domains, domain_policy
    from cara_fed.services.domain_names import normalize_domain

    async def work(_settings: Settings) -> None:
        domain = normalize_domain(args.domain)
        if args.action == "unblock":
            block = await domain_policy.find_domain_block(domain)
            if block is None:
                raise CommandFailed(f"{domain} is not blocked")
            await admin_domains.unblock(None, block.id)
            print(f"unblocked {domain}")
        elif args.action == "allow":
            await admin_domains.allow(None, domain)
            mode = "on" if await domain_policy.allowlist_mode() else "off (the list applies once it is on)"
            print(f"allowed {domain}; allow-list mode is {mode}")
        else:
            allow = await DomainAllow.get_or_none(domain=domain)
            if allow is None:
                raise CommandFailed(f"{domain} is not on the allow-list")
            await admin_domains.disallow(None, allow.id)
            print(f"took {domain} off the allow-list")

    _with_database(args, work)
    return 0


def _domain_list(args: argparse.Namespace) -> int:
    from cara_fed.cli import _with_database
    from cara_fed.services import admin_domains

    async def work(_settings: Settings) -> None:
        blocks = await admin_domains.list_blocks(None)
        allows = await admin_domains.list_allows(None)
        mode = await admin_domains.allowlist_mode(None)
        if args.json:
            print(orjson.dumps({
                "allowlist_mode": mode,
                "blocks": [{"id": str(b.id), "domain": b.domain, "severity": b.severity,
                            "reject_media": b.reject_media, "reject_reports": b.reject_reports,
                            "obfuscate": b.obfuscate, "private_comment": b.private_comment,
                            "public_comment": b.public_comment, "created_at": b.created_at.isoformat()}
                           for b in blocks],
                "allows": [{"id": str(a.id), "domain": a.domain, "created_at": a.created_at.isoformat()}
                           for a in allows]}).decode())
            return
        for b in blocks:
            comment = f'  "{b.public_comment}"' if b.public_comment else ""
            print(f"blocked  {b.domain:<40} {_flags(b)}{comment}")
        for a in allows:
            print(f"allowed  {a.domain}")
        print(f"{len(blocks)} blocked, {len(allows)} allowed; allow-list mode is {'on' if mode else 'off'}")

    _with_database(args, work)
    return 0


def _domain_import(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.services import admin_domains

    try:
        with open(args.file, "rb") as file:
            data = file.read(MAX_CSV_BYTES + 1)
    except OSError as exc:
        raise CommandFailed(f"{args.file}: cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_CSV_BYTES:
        raise CommandFailed(f"{args.file}: larger than {MAX_CSV_BYTES // 1048576} MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CommandFailed(f"{args.file}: not UTF-8 text") from None

    async def work(_settings: Settings) -> None:
        result = await admin_domains.import_csv(None, text, source=Path(args.file).name)
        for block in result.created:
            print(f"blocked {block.domain}: {_flags(block)}")
        for domain, reason in result.skipped:
            print(f"skipped {domain}: {reason}")
        print(f"{len(result.created)} blocked, {len(result.skipped)} skipped")

    _with_database(args, work)
    return 0


def _domain_export(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.services import admin_domains

    if args.file and Path(args.file).exists():
        raise CommandFailed(f"{args.file} exists: choose a new file name")

    async def work(_settings: Settings) -> str:
        return await admin_domains.export_csv(None)

    text: str = _with_database(args, work)
    if not args.file:
        sys.stdout.write(text)
        return 0
    try:
        with open(args.file, "x", encoding="utf-8", newline="") as file:
            file.write(text)
    except OSError as exc:
        raise CommandFailed(f"{args.file}: cannot write: {exc.strerror or exc}") from None
    print(f"exported {max(0, len(text.splitlines()) - 1)} block(s) to {args.file}")
    return 0


# -- jobs -------------------------------------------------------------------------------------------------


def _job_list(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.services import admin_jobs

    if not 1 <= args.limit <= admin_jobs.MAX_LIST:
        raise CommandFailed(f"--limit must be between 1 and {admin_jobs.MAX_LIST}", 2)

    async def work(_settings: Settings) -> None:
        jobs = await admin_jobs.list_jobs(None, state=args.state, kind=args.kind, limit=args.limit)
        if args.json:
            print(orjson.dumps([{"id": str(j.id), "kind": j.kind, "state": j.state, "attempts": j.attempts,
                                 "last_error": j.last_error, "payload": j.payload,
                                 "created_at": j.created_at.isoformat(),
                                 "finished_at": j.finished_at.isoformat() if j.finished_at else None}
                                for j in jobs]).decode())
            return
        for j in jobs:
            error = " ".join((j.last_error or "").split())[:100]
            print(f"{j.id:<20} {j.state:<7} {j.kind:<28} attempts {j.attempts:<3} "
                  f"{j.created_at:%Y-%m-%d %H:%M}" + (f"  {error}" if error else ""))
        print(f"{len(jobs)} job(s)")

    _with_database(args, work)
    return 0


def _job_retry(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.errors import CaraError
    from cara_fed.services import admin_jobs

    async def work(_settings: Settings) -> None:
        if args.all_dead:
            retried = await admin_jobs.retry_all_dead(None)
            for job_id in retried:
                print(f"queued job {job_id} again")
            print(f"{len(retried)} dead job(s) queued again")
            return
        try:
            job = await admin_jobs.retry(None, args.id)
        except CaraError as exc:
            raise CommandFailed(f"job {args.id}: not found" if exc.status == 404 else exc.message) from None
        print(f"queued job {job.id} ({job.kind}) again")

    _with_database(args, work)
    return 0


def _job_purge(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.services import admin_jobs

    if not 0 <= args.older_than <= admin_jobs.MAX_HOURS:
        raise CommandFailed("--older-than must be a number of hours, 0 or more", 2)
    state = "done" if args.done else "dead"

    async def work(_settings: Settings) -> None:
        removed = await admin_jobs.purge(None, state, older_than_hours=args.older_than)
        age = f" older than {args.older_than:g} h" if args.older_than else ""
        print(f"deleted {removed} {state} job(s){age}")

    _with_database(args, work)
    return 0
