"""`cara-fed accounts ...` and `cara-fed reports list`: the moderation commands (registered by
cli_admin.py). Accounts are named by id, ``name`` (local) or ``name@host`` (remote), as on the admin pages;
the command line acts as the operator (services' ``by=None``): whoever runs it can read the database
anyway, and only the data rules (the last admin stays one) still apply."""

from __future__ import annotations

import argparse
from typing import Any

import orjson

from cara_fed.settings import Settings


def add_account_commands(commands: Any, common: argparse.ArgumentParser) -> None:
    accounts = commands.add_parser("accounts", help="moderate accounts").add_subparsers(metavar="ACTION")
    for name, help_text in (("approve", "let a sign-up waiting for approval in"),
                            ("reject", "refuse a sign-up waiting for approval (its account is deleted)"),
                            ("suspend", "suspend an account (no login, content hidden, other servers told)"),
                            ("unsuspend", "lift a suspension"),
                            ("silence", "limit an account (hidden from public timelines)"),
                            ("unsilence", "lift a limit"),
                            ("disable", "freeze a local login (no sign-in, apps refused; the account stays "
                                        "visible)"),
                            ("enable", "unfreeze a local login (its apps work again)")):
        action = accounts.add_parser(name, parents=[common], help=help_text)
        action.add_argument("account", help="id, name (local) or name@host (remote)")
        action.set_defaults(run=_account_action, action=name)
    role = accounts.add_parser("role", parents=[common],
                               help="make a local account a user, moderator or admin")
    role.add_argument("account", help="id or name")
    role.add_argument("role", choices=("user", "moderator", "admin"))
    role.set_defaults(run=_account_role)
    listing = accounts.add_parser("list", parents=[common], help="list accounts (local ones by default)")
    group = listing.add_mutually_exclusive_group()
    group.add_argument("--pending", action="store_true", help="only sign-ups waiting for approval")
    group.add_argument("--remote", action="store_true", help="remote accounts instead of local ones")
    group.add_argument("--suspended", action="store_true", help="only suspended accounts (local and remote)")
    group.add_argument("--disabled", action="store_true", help="only frozen (disabled) logins")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    listing.set_defaults(run=_account_list)

    reports = commands.add_parser("reports", help="the report queue").add_subparsers(metavar="ACTION")
    report_list = reports.add_parser("list", parents=[common], help="list reports, newest first")
    report_list.add_argument("--unresolved", action="store_true", help="only the open ones")
    report_list.add_argument("--json", action="store_true", help="machine-readable output")
    report_list.set_defaults(run=_report_list)


def _handle(account: Any) -> str:
    return f"@{account.username}" if account.domain is None else f"@{account.username}@{account.domain}"


async def find(handle: str) -> Any:
    from cara_fed.cli import CommandFailed
    from cara_fed.errors import NotFound
    from cara_fed.services.moderation_accounts import find_account

    try:
        return await find_account(handle)
    except NotFound:
        raise CommandFailed(f"no account {handle!r} (give an id, a local name or name@host)") from None


def refusal(account: Any, exc: Any) -> str:
    return f"{_handle(account)}: {exc.message.removeprefix('Validation failed: ')}"


_DONE = {"approve": ("approved", "was already approved"), "suspend": ("suspended", "was already suspended"),
         "unsuspend": ("unsuspended", "was not suspended"), "silence": ("silenced", "was already silenced"),
         "unsilence": ("unsilenced", "was not silenced"), "disable": ("disabled", "was already disabled"),
         "enable": ("enabled", "was not disabled")}


def _account_action(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.errors import CaraError
    from cara_fed.services import moderation_accounts as moderation
    from cara_fed.services import sign_up_approvals

    async def work(_settings: Settings) -> None:
        account = await find(args.account)
        try:
            if args.action == "reject":
                gone = await sign_up_approvals.reject(None, account.id)
                print(f"rejected the sign-up of @{gone.username} ({gone.email}); the account is deleted")
                return
            if args.action == "approve" and account.domain is not None:
                raise CommandFailed(f"{_handle(account)} is a remote account: there is nothing to approve")
            run = {"approve": sign_up_approvals.approve, "suspend": moderation.suspend_account,
                   "unsuspend": moderation.unsuspend_account, "silence": moderation.silence_account,
                   "unsilence": moderation.unsilence_account, "disable": moderation.disable_login,
                   "enable": moderation.enable_login}[args.action]
            result = await run(None, account.id)
        except CaraError as exc:
            raise CommandFailed(refusal(account, exc)) from None
        done, already = _DONE[args.action]
        name = _handle(account)
        print(f"{name} {already}" if result.noop else f"{done} {name} (id {account.id})")

    _with_database(args, work)
    return 0


def _account_role(args: argparse.Namespace) -> int:
    from cara_fed.cli import CommandFailed, _with_database
    from cara_fed.errors import CaraError
    from cara_fed.services import moderation_accounts as moderation

    async def work(_settings: Settings) -> None:
        account = await find(args.account)
        try:
            result = await moderation.set_role(None, account.id, args.role)
        except CaraError as exc:
            raise CommandFailed(refusal(account, exc)) from None
        print(f"{_handle(account)} was already {args.role}" if result.noop
              else f"{_handle(account)} is now {args.role}")

    _with_database(args, work)
    return 0


def _state(view: Any) -> str:
    account, user = view.account, view.user
    marks = [m for m, on in (("pending", user is not None and not user.approved),
                             ("disabled", user is not None and user.disabled),
                             ("suspended", account.suspended_at is not None),
                             ("silenced", account.silenced_at is not None),
                             ("sensitive", account.sensitized_at is not None)) if on]
    return ",".join(marks) or "active"


def _account_list(args: argparse.Namespace) -> int:
    from cara_fed.cli import _with_database
    from cara_fed.services import admin_accounts
    from cara_fed.services.admin_accounts import AccountFilter
    from cara_fed.services.paging import Page

    wanted = AccountFilter(origin=None if args.suspended else "remote" if args.remote else "local",
                           status="pending" if args.pending else "suspended" if args.suspended
                           else "disabled" if args.disabled else None)

    async def work(_settings: Settings) -> None:
        views: list[Any] = []
        max_id = None
        while True:  # every page
            page = await admin_accounts.list_accounts(None, wanted, Page(max_id=max_id, limit=200))
            views += page
            if len(page) < 200:
                break
            max_id = page[-1].account.id
        if args.json:
            print(orjson.dumps([{
                "id": str(v.account.id), "username": v.account.username, "domain": v.account.domain,
                "email": v.user.email if v.user else None, "role": v.user.role if v.user else None,
                "approved": bool(v.user.approved) if v.user else None, "state": _state(v),
                "sign_up_reason": (v.user.sign_up_reason or None) if v.user else None,
                "created_at": v.account.created_at.isoformat()} for v in views]).decode())
            return
        for v in views:
            email = v.user.email if v.user else ""
            role = v.user.role if v.user else "remote"
            reason = f'  "{v.user.sign_up_reason[:80]}"' if v.pending and v.user.sign_up_reason else ""
            print(f"{v.account.id:<20} {_handle(v.account):<40} {email:<32} {role:<9} {_state(v):<10} "
                  f"{v.account.created_at:%Y-%m-%d}{reason}")
        print(f"{len(views)} account(s)")

    _with_database(args, work)
    return 0


def _report_list(args: argparse.Namespace) -> int:
    from cara_fed.cli import _with_database
    from cara_fed.services import admin_reports
    from cara_fed.services.paging import Page
    from cara_fed.services.report_queue import ReportFilter

    wanted = ReportFilter(resolved=False if args.unresolved else None)

    async def work(_settings: Settings) -> None:
        reports: list[Any] = []
        max_id = None
        while True:
            page = await admin_reports.list_reports(None, wanted, Page(max_id=max_id, limit=200))
            reports += page
            if len(page) < 200:
                break
            max_id = page[-1].id
        if args.json:
            print(orjson.dumps([{
                "id": str(r.id), "state": "resolved" if r.action_taken_at else "open", "category": r.category,
                "target": _handle(r.target_account).lstrip("@"), "reporter": _handle(r.account).lstrip("@"),
                "comment": r.comment, "status_ids": [str(i) for i in r.status_ids or []],
                "assigned_to": _handle(r.assigned_account).lstrip("@") if r.assigned_account else None,
                "forwarded": r.forwarded, "created_at": r.created_at.isoformat(),
                "resolved_at": r.action_taken_at.isoformat() if r.action_taken_at else None}
                for r in reports]).decode())
            return
        for r in reports:
            state = "resolved" if r.action_taken_at else "open"
            comment = " ".join(r.comment.split())[:80]
            print(f"{r.id:<20} {state:<8} {r.category:<9} {_handle(r.target_account):<36} "
                  f"by {_handle(r.account):<30} {r.created_at:%Y-%m-%d}"
                  + (f'  "{comment}"' if comment else ""))
        print(f"{len(reports)} report(s)")

    _with_database(args, work)
    return 0
