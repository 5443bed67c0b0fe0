"""The accounts as the admins see them (admin pages, the Mastodon admin API, the CLI): listing and searching
with Mastodon's filters, one account with its login, and the moderation action of the admin API.

Mastodon is the model (app/models/admin/account_filter.rb, app/models/admin/account_action.rb,
docs: methods/admin/accounts):
- filters: origin local/remote, status active/pending/disabled/silenced/suspended/sensitized, staff,
  username (prefix), display name (contains), by_domain, email (contains), ip; newest first, paged by id;
- the instance actor is never listed (it is not an account anyone moderates);
- an action (``none``, ``sensitive``, ``disable``, ``silence``, ``suspend``) on an account resolves the
  report it came from, and, for anything but ``none``, every other open report about the account
  (Admin::AccountAction#reports).

``disable`` is Mastodon's "freeze" (users.disabled, services/moderation_accounts.disable_login): the login
is refused, the account stays visible and federated; it only applies to local accounts (422 for a remote
one, which has no login), and the ``disabled`` status lists the frozen logins.

What cara_fed cannot do: sign-in IP addresses are not recorded, so the ``ip`` filter matches nobody and
``ips`` is always empty."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.queryset import QuerySet
from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Account, Report, ReportNote, User
from cara_fed.services import moderation_accounts as moderation
from cara_fed.services.moderation_accounts import ModerationResult
from cara_fed.services.paging import Page
from cara_fed.services.report_queue import MAX_NOTE
from cara_fed.services.staff import require_over, require_staff

log = logging.getLogger(__name__)

ORIGINS = ("local", "remote")
STATUSES = ("active", "pending", "disabled", "silenced", "suspended", "sensitized")
ACTIONS = ("none", "sensitive", "disable", "silence", "suspend")
MAX_SEARCH = 255


@dataclass(frozen=True)
class AccountFilter:
    origin: str | None = None  # local | remote
    status: str | None = None  # one of STATUSES
    staff: bool = False
    username: str | None = None  # prefix, any case
    display_name: str | None = None  # contains, any case
    by_domain: str | None = None  # the remote domain, exactly (any case)
    email: str | None = None  # contains, any case (local accounts)
    ip: str | None = None  # not recorded here: matches nobody
    query: str | None = None  # the admin pages' one search box: username, display name, email or domain


@dataclass(frozen=True)
class AdminAccountView:
    """An account and, for local ones, its login."""
    account: Account
    user: User | None

    @property
    def local(self) -> bool:
        return self.account.domain is None

    @property
    def pending(self) -> bool:
        return self.user is not None and not self.user.approved

    @property
    def handle(self) -> str:
        a = self.account
        return f"@{a.username}" if a.domain is None else f"@{a.username}@{a.domain}"


def _text(value: str | None, name: str) -> str | None:
    text = (value or "").strip()
    if not text:
        return None
    if len(text) > MAX_SEARCH:
        raise ValidationFailed(f"Validation failed: {name} is too long (maximum is {MAX_SEARCH} characters)")
    return text


def _filtered(wanted: AccountFilter) -> QuerySet[Account]:
    # Local accounts have a login; the instance actor (a local row without one) is left out.
    query = Account.filter(Q(domain__not_isnull=True) | Q(user__id__not_isnull=True))
    if wanted.origin is not None and wanted.origin not in ORIGINS:
        raise ValidationFailed(f"Validation failed: origin must be one of {', '.join(ORIGINS)}")
    if wanted.status is not None and wanted.status not in STATUSES:
        raise ValidationFailed(f"Validation failed: status must be one of {', '.join(STATUSES)}")
    if wanted.origin == "local":
        query = query.filter(domain__isnull=True)
    elif wanted.origin == "remote":
        query = query.filter(domain__not_isnull=True)
    status = wanted.status
    if status == "active":
        query = query.filter(suspended_at__isnull=True).filter(Q(domain__not_isnull=True)
                                                               | Q(user__approved=True))
    elif status == "pending":
        query = query.filter(user__approved=False)
    elif status == "disabled":
        query = query.filter(user__disabled=True)
    elif status == "silenced":
        query = query.filter(silenced_at__not_isnull=True)
    elif status == "suspended":
        query = query.filter(suspended_at__not_isnull=True)
    elif status == "sensitized":
        query = query.filter(sensitized_at__not_isnull=True)
    if wanted.staff:
        query = query.filter(user__role__in=("moderator", "admin"))
    username = _text(wanted.username, "username")
    if username:
        query = query.filter(username__istartswith=username)
    display_name = _text(wanted.display_name, "display_name")
    if display_name:
        query = query.filter(display_name__icontains=display_name)
    domain = _text(wanted.by_domain, "by_domain")
    if domain:
        query = query.filter(domain__iexact=domain.removeprefix("@"))
    email = _text(wanted.email, "email")
    if email:
        query = query.filter(user__email__icontains=email)
    if _text(wanted.ip, "ip"):
        query = query.filter(id=-1)
    text = _text(wanted.query, "search")
    if text:
        name, _, host = text.removeprefix("@").partition("@")
        if host:
            query = query.filter(username__iexact=name, domain__iexact=host)
        else:
            query = query.filter(Q(username__icontains=text) | Q(display_name__icontains=text)
                                 | Q(user__email__icontains=text) | Q(domain__icontains=text))
    return query


async def with_users(accounts: list[Account]) -> list[AdminAccountView]:
    local_ids = [a.id for a in accounts if a.domain is None]
    users = {u.account_id: u for u in await User.filter(account_id__in=local_ids)} if local_ids else {}
    return [AdminAccountView(account=a, user=users.get(a.id)) for a in accounts]


async def list_accounts(by: User | None, wanted: AccountFilter, page: Page) -> list[AdminAccountView]:
    """One page of accounts, newest first (staff only)."""
    require_staff(by)
    query = _filtered(wanted)
    for bound, op in ((page.max_id, "lt"), (page.since_id, "gt"), (page.min_id, "gt")):
        if bound is not None:
            query = query.filter(**{f"id__{op}": bound})
    rows = await query.distinct().order_by("id" if page.ascending else "-id").limit(page.limit)
    return await with_users(page.newest_first(list(rows)))


async def count_accounts(by: User | None, wanted: AccountFilter) -> int:
    require_staff(by)
    return await _filtered(wanted).distinct().count()


async def get_account(by: User | None, account_id: int) -> AdminAccountView:
    """Any account but the instance actor (404 for it, as for an unknown id)."""
    require_staff(by)
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("Record not found")
    user = await User.get_or_none(account_id=account.id) if account.domain is None else None
    if account.domain is None and user is None:
        raise NotFound("Record not found")
    return AdminAccountView(account=account, user=user)


async def open_reports_about(account_id: int) -> list[Report]:
    return list(await Report.filter(target_account_id=account_id, action_taken_at__isnull=True)
                .order_by("-id").select_related("account"))


# -- the admin API's action ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ActionResult:
    result: ModerationResult | None  # None for ``none``
    resolved_report_ids: list[int]


async def take_action(by: User | None, account_id: int, action: str, *, report_id: int | None = None,
                      text: str = "") -> ActionResult:
    """Mastodon's ``POST /api/v1/admin/accounts/:id/action``: the action, then the reports it settles, in
    one transaction (a refused action resolves nothing). ``text`` is kept as a note on the report given,
    if any (cara_fed has no account-warning table to keep it in otherwise; it is logged either way)."""
    require_staff(by)
    if action not in ACTIONS:
        raise ValidationFailed(f"Validation failed: type must be one of {', '.join(ACTIONS)}")
    note = (text or "").strip()
    if len(note) > MAX_NOTE:
        raise ValidationFailed(f"Validation failed: Text is too long (maximum is {MAX_NOTE} characters)")
    view = await get_account(by, account_id)
    report = None
    if report_id is not None:
        report = await Report.get_or_none(id=report_id, target_account_id=account_id)
        if report is None:
            raise NotFound("Record not found")
    moderator = await Account.get(id=by.account_id) if by is not None else None
    async with in_transaction():
        result: ModerationResult | None = None
        if action == "sensitive":
            result = await moderation.sensitize_account(by, view.account.id)
        elif action == "silence":
            result = await moderation.silence_account(by, view.account.id)
        elif action == "suspend":
            result = await moderation.suspend_account(by, view.account.id)
        elif action == "disable":
            result = await moderation.disable_login(by, view.account.id)  # 422 for a remote account
        elif view.user is not None:
            require_over(by, view.user)  # "none" is still an action on this account
        if action == "none":
            reports = [report] if report is not None else []
        else:
            reports = list(await Report.filter(target_account_id=account_id, action_taken_at__isnull=True))
        resolved = [r.id for r in reports if r.action_taken_at is None]
        if resolved:
            now = datetime.now(UTC)
            await Report.filter(id__in=resolved).update(
                action_taken_at=now, action_taken_by_account_id=moderator.id if moderator else None,
                updated_at=now)
        if note and report is not None and moderator is not None:
            await ReportNote.create(report_id=report.id, author_id=moderator.id, content=note)
    log.info("account action", extra={"action": action, "account_id": account_id, "reports": resolved,
                                      "by": by.account_id if by else None, "text": note[:200]})
    return ActionResult(result=result, resolved_report_ids=resolved)

