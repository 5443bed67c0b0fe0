"""``/admin/accounts``: every account (filters: local or remote; active, pending, frozen, suspended,
silenced, sensitive; a search box), and ``/admin/accounts/<id>``: one account with its moderation actions
(approve or reject a sign-up, suspend, silence, mark media sensitive, freeze or unfreeze a local login,
force a password reset, and the role, for admins). Each action is a form; a refused one shows the page
again with the reason and stores nothing."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from quart import Blueprint, Response, request

from cara_fed.errors import CaraError
from cara_fed.models import User
from cara_fed.services import admin_accounts, moderation_accounts as moderation, sign_up_approvals
from cara_fed.services.admin_accounts import AccountFilter
from cara_fed.services.moderation_accounts import ModerationResult
from cara_fed.services.paging import Page
from cara_fed.services.staff import ROLES
from cara_fed.web.admin.common import PAGE_SIZE, STAFF, install_errors, int_arg, message, path_id, render, \
    staff_user
from cara_fed.web.sessions import see_other, signed_in

bp = Blueprint("admin_accounts", __name__)
install_errors(bp)

ORIGIN_CHOICES = (("", "Local and remote"), ("local", "Local"), ("remote", "Remote"))
STATUS_CHOICES = (("", "Any"), ("active", "Active"), ("pending", "Waiting for approval"),
                  ("disabled", "Login frozen (disabled)"), ("suspended", "Suspended"),
                  ("silenced", "Limited (silenced)"), ("sensitized", "Media marked sensitive"))
Action = Callable[[User | None, int], Awaitable[ModerationResult]]
ACTIONS: dict[str, tuple[Action, str]] = {
    "approve": (sign_up_approvals.approve, "approved"),
    "suspend": (moderation.suspend_account, "suspended"),
    "unsuspend": (moderation.unsuspend_account, "unsuspended"),
    "silence": (moderation.silence_account, "silenced"),
    "unsilence": (moderation.unsilence_account, "unsilenced"),
    "sensitize": (moderation.sensitize_account, "sensitized"),
    "unsensitize": (moderation.unsensitize_account, "unsensitized"),
    "reset_password": (moderation.force_password_reset, "password_reset"),
    "disable": (moderation.disable_login, "disabled"),  # "Freeze" (Mastodon's word on its admin pages)
    "enable": (moderation.enable_login, "enabled"),
}


@bp.get("/admin/accounts")
@signed_in(roles=STAFF)
async def accounts_page() -> Response:
    user = await staff_user()
    args = request.args
    origin = args.get("origin") or ""
    status = args.get("status") or ""
    query = (args.get("q") or "").strip()[:200]
    wanted = AccountFilter(origin=origin if origin in ("local", "remote") else None,
                           status=status if status in admin_accounts.STATUSES else None, query=query or None)
    page = Page(max_id=int_arg("max_id"), limit=PAGE_SIZE)
    rows = await admin_accounts.list_accounts(user, wanted, page)
    older = rows[-1].account.id if len(rows) == PAGE_SIZE else None
    return await render("admin/accounts.html", nav="accounts", rows=rows, origin=wanted.origin or "",
                        state=wanted.status or "", q=query, origins=ORIGIN_CHOICES, statuses=STATUS_CHOICES,
                        older=older, total=await admin_accounts.count_accounts(user, wanted))


async def _account_page(account_id: int, status: int = 200, error: str = "") -> Response:
    user = await staff_user()
    view = await admin_accounts.get_account(user, account_id)
    reports = await admin_accounts.open_reports_about(account_id)
    return await render("admin/account.html", status, nav="accounts", view=view, reports=reports,
                        roles=[(r, r.title()) for r in ROLES], error=error,
                        is_self=view.user is not None and view.user.id == user.id)


@bp.get("/admin/accounts/<account_id>")
@signed_in(roles=STAFF)
async def account_page(account_id: str) -> Response:
    return await _account_page(path_id(account_id))


@bp.post("/admin/accounts/<account_id>/<action>")
@signed_in(roles=STAFF)
async def account_action(account_id: str, action: str) -> Response:
    ident = path_id(account_id)
    user = await staff_user()
    try:
        if action == "reject":
            gone = await sign_up_approvals.reject(user, ident)
            return see_other(f"/admin/accounts?status=pending&done=rejected_{gone.username}")
        if action == "role":
            role = (await request.form).get("role") or ""
            await moderation.set_role(user, ident, role)
            return see_other(f"/admin/accounts/{ident}?done=role")
        if action not in ACTIONS:
            return await render("admin/refused.html", 404, nav="accounts", message="There is no such action.")
        run, done = ACTIONS[action]
        await run(user, ident)
    except CaraError as exc:
        if exc.status == 404:
            raise
        return await _account_page(ident, exc.status, message(exc))
    return see_other(f"/admin/accounts/{ident}?done={done}")
