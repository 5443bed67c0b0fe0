"""The admin API's entities (docs: entities/Admin_Account, Admin_Report, Admin_DomainBlock,
Admin_DomainAllow), rendered from services' rows.

Admin::Account follows Mastodon's REST::Admin::AccountSerializer, including for remote accounts, which
have no login: ``email``, ``locale``, ``role``, ``ip`` and ``invite_request`` are null for them, as
Mastodon answers (its ``user_*`` delegations are ``allow_nil``); the booleans about the login are false.
cara_fed keeps no sign-in addresses (``ip`` null, ``ips`` empty), has no email confirmation step (a local
account is ``confirmed``). ``disabled`` is a frozen login (users.disabled; false for remote accounts)."""

from __future__ import annotations

import hashlib
from typing import Any

from cara_fed.api.entities.accounts import AccountStats, account_to_api, load_account_stats
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.entities.statuses import statuses_to_api
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, DomainAllow, DomainBlock, Invite, Report, Rule, User
from cara_fed.services.admin_accounts import AdminAccountView, with_users
from cara_fed.services.statuses import load_statuses

# Mastodon's permission flags (app/models/user_role.rb FLAGS) for the three fixed roles here: everyone may
# invite (invite_users, 1 << 16); moderators view the dashboard and audit log, manage reports, users and
# taxonomies (Mastodon's default Moderator role); admins have ``administrator`` (1 << 0).
_ROLE_IDS = {"user": "-99", "moderator": "2", "admin": "3"}
_ROLE_PERMISSIONS = {"user": 1 << 16, "moderator": (1 << 16) | (1 << 2) | (1 << 3) | (1 << 4) | (1 << 8)
                     | (1 << 10), "admin": 1}


def role_to_api(role: str) -> dict[str, Any]:
    return {"id": _ROLE_IDS.get(role, "-99"), "name": "" if role == "user" else role.title(), "color": "",
            "permissions": str(_ROLE_PERMISSIONS.get(role, 1 << 16)), "highlighted": role != "user"}


def admin_account_to_api(view: AdminAccountView, stats: AccountStats, urls: LocalUrls,
                         inviters: dict[str, int] | None = None) -> dict[str, Any]:
    account, user = view.account, view.user
    entity: dict[str, Any] = {
        "id": str(account.id),
        "username": account.username,
        "domain": account.domain,
        "created_at": api_datetime(account.created_at),
        "email": user.email if user else None,
        "ip": None,
        "ips": [],
        "locale": user.locale if user else None,
        "invite_request": (user.sign_up_reason or None) if user else None,
        "role": role_to_api(user.role) if user else None,
        "confirmed": user is not None,
        "suspended": account.suspended_at is not None,
        "silenced": account.silenced_at is not None,
        "sensitized": account.sensitized_at is not None,
        "disabled": bool(user.disabled) if user else False,
        "approved": bool(user.approved) if user else False,
        "account": account_to_api(account, stats, urls),
    }
    inviter = (inviters or {}).get(user.invite_code or "") if user else None
    if inviter is not None:
        entity["invited_by_account_id"] = str(inviter)
    return entity


async def _inviters(views: list[AdminAccountView]) -> dict[str, int]:
    """Invite code -> the account that made it, for the users who signed up with one."""
    codes = [v.user.invite_code for v in views if v.user is not None and v.user.invite_code]
    if not codes:
        return {}
    rows = await Invite.filter(code__in=codes, created_by_id__not_isnull=True).values_list(
        "code", "created_by_id")
    users = {u.id: u.account_id for u in await User.filter(id__in=[r[1] for r in rows])}
    return {str(code): users[user_id] for code, user_id in rows if user_id in users}


async def admin_accounts_to_api(views: list[AdminAccountView], urls: LocalUrls) -> list[dict[str, Any]]:
    stats = await load_account_stats([v.account.id for v in views])
    inviters = await _inviters(views)
    return [admin_account_to_api(v, stats[v.account.id], urls, inviters) for v in views]


async def admin_reports_to_api(reports: list[Report], urls: LocalUrls,
                               viewer: Account) -> list[dict[str, Any]]:
    """Reports with their accounts (``select_related`` by the report queue), statuses and rules."""
    accounts: dict[int, Account] = {}
    for report in reports:
        for account in (report.account, report.target_account, report.assigned_account,
                        report.action_taken_by_account):
            if account is not None:
                accounts[account.id] = account
    views = await with_users(list(accounts.values()))
    rendered = dict(zip(accounts, await admin_accounts_to_api(views, urls), strict=True))
    status_ids = list(dict.fromkeys(int(i) for r in reports for i in r.status_ids or []))
    loaded = await load_statuses(status_ids)
    statuses = dict(zip([i for i in status_ids if i in loaded],
                        await statuses_to_api([loaded[i] for i in status_ids if i in loaded], urls, viewer),
                        strict=True))
    rule_ids = list(dict.fromkeys(int(i) for r in reports for i in r.rule_ids or []))
    rules = {r.id: r for r in await Rule.filter(id__in=rule_ids)} if rule_ids else {}
    return [_report(r, rendered, statuses, rules) for r in reports]


def _report(report: Report, accounts: dict[int, dict[str, Any]], statuses: dict[int, dict[str, Any]],
            rules: dict[int, Rule]) -> dict[str, Any]:
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": api_datetime(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": api_datetime(report.created_at),
        "updated_at": api_datetime(report.updated_at or report.created_at),
        "account": accounts[report.account_id],
        "target_account": accounts[report.target_account_id],
        "assigned_account": accounts.get(report.assigned_account_id or 0),
        "action_taken_by_account": accounts.get(report.action_taken_by_account_id or 0),
        "statuses": [statuses[int(i)] for i in report.status_ids or [] if int(i) in statuses],
        "rules": [{"id": str(rules[int(i)].id), "text": rules[int(i)].text, "hint": rules[int(i)].hint}
                  for i in report.rule_ids or [] if int(i) in rules],
    }


def domain_block_to_api(block: DomainBlock) -> dict[str, Any]:
    return {
        "id": str(block.id),
        "domain": block.domain,
        "digest": hashlib.sha256(block.domain.encode()).hexdigest(),
        "created_at": api_datetime(block.created_at),
        "severity": block.severity,
        "reject_media": block.reject_media,
        "reject_reports": block.reject_reports,
        "private_comment": block.private_comment or None,
        "public_comment": block.public_comment or None,
        "obfuscate": block.obfuscate,
    }


def domain_allow_to_api(allow: DomainAllow) -> dict[str, Any]:
    return {"id": str(allow.id), "domain": allow.domain, "created_at": api_datetime(allow.created_at)}
