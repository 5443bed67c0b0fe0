"""``/api/v1/admin/accounts`` (docs: methods/admin/accounts): list with Mastodon's v1 filters, one account,
``action`` (none, sensitive, disable, silence, suspend), ``enable``, ``approve``, ``reject``, ``unsilence``,
``unsuspend``, ``unsensitive`` and ``DELETE`` (the data of a suspended account). Every answer is an
Admin::Account, except ``action``'s empty object.

As Mastodon: approve and reject answer 403 for an account that is not waiting (Admin::AccountPolicy
``approve?``/``reject?`` need a pending user), enable, approve and reject 403 for a remote account
(require_local_account!: it has no login); the list pages by id, 100 by default and 200 at most."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.admin.common import acting_user, admin_endpoint, no_content, path_id, urls
from cara_fed.api.admin.entities import admin_accounts_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params
from cara_fed.errors import Forbidden, ValidationFailed
from cara_fed.services import admin_account_data, admin_accounts, moderation_accounts as moderation, \
    sign_up_approvals
from cara_fed.services.admin_accounts import AccountFilter, AdminAccountView
from cara_fed.services.staff import NOT_ALLOWED
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_admin_accounts", __name__)

READ = "admin:read:accounts"
WRITE = "admin:write:accounts"
LIMIT = 100
MAX_LIMIT = 200


async def _one(view: AdminAccountView) -> Response:
    return json_response((await admin_accounts_to_api([view], urls()))[0])


async def _reloaded(account_id: int) -> Response:
    return await _one(await admin_accounts.get_account(acting_user(), account_id))


async def _read_filter() -> AccountFilter:
    """Mastodon's v1 boolean filters (local or remote, one state, staff) and its search parameters."""
    p = await params()
    origin = "local" if p.bool("local") else "remote" if p.bool("remote") else None
    status = next((s for s in ("pending", "disabled", "silenced", "suspended", "sensitized", "active")
                   if p.bool(s)), None)
    return AccountFilter(origin=origin, status=status, staff=bool(p.bool("staff")),
                         username=p.str("username", max_length=255),
                         display_name=p.str("display_name", max_length=255),
                         by_domain=p.str("by_domain", max_length=255), email=p.str("email", max_length=320),
                         ip=p.str("ip", max_length=64))


@bp.get("/api/v1/admin/accounts")
@admin_endpoint(READ)
async def index() -> Response:
    wanted = await _read_filter()
    views = await admin_accounts.list_accounts(acting_user(), wanted, page_params(LIMIT, MAX_LIMIT))
    return with_link(json_response(await admin_accounts_to_api(views, urls())), [v.account.id for v in views])


@bp.get("/api/v1/admin/accounts/<account_id>")
@admin_endpoint(READ)
async def show(account_id: str) -> Response:
    return await _reloaded(path_id(account_id))


@bp.post("/api/v1/admin/accounts/<account_id>/action")
@admin_endpoint(WRITE)
async def action(account_id: str) -> Response:
    ident = path_id(account_id)
    p = await params()
    kind = p.str("type", max_length=32)
    if not kind:
        raise ValidationFailed("Validation failed: Type can't be blank")
    report_id = p.id("report_id")
    await admin_accounts.take_action(acting_user(), ident, kind, report_id=report_id,
                                     text=p.str("text", "", max_length=5000) or "")
    return no_content()


async def _pending(account_id: int) -> AdminAccountView:
    view = await admin_accounts.get_account(acting_user(), account_id)
    if not view.pending:
        raise Forbidden(NOT_ALLOWED)  # Mastodon: only a pending account can be approved or rejected
    return view


@bp.post("/api/v1/admin/accounts/<account_id>/approve")
@admin_endpoint(WRITE)
async def approve(account_id: str) -> Response:
    view = await _pending(path_id(account_id))
    await sign_up_approvals.approve(acting_user(), view.account.id)
    return await _reloaded(view.account.id)


@bp.post("/api/v1/admin/accounts/<account_id>/reject")
@admin_endpoint(WRITE)
async def reject(account_id: str) -> Response:
    view = await _pending(path_id(account_id))
    rendered = await _one(view)  # the answer describes the account as it was (it is deleted)
    await sign_up_approvals.reject(acting_user(), view.account.id)
    return rendered


@bp.post("/api/v1/admin/accounts/<account_id>/enable")
@admin_endpoint(WRITE)
async def enable(account_id: str) -> Response:
    view = await admin_accounts.get_account(acting_user(), path_id(account_id))
    if view.user is None:
        raise Forbidden(NOT_ALLOWED)  # Mastodon's require_local_account!
    await moderation.enable_login(acting_user(), view.account.id)
    return await _reloaded(view.account.id)


@bp.post("/api/v1/admin/accounts/<account_id>/<undo>")
@admin_endpoint(WRITE)
async def undo_action(account_id: str, undo: str) -> Response:
    ident = path_id(account_id)
    run = {"unsilence": moderation.unsilence_account, "unsuspend": moderation.unsuspend_account,
           "unsensitive": moderation.unsensitize_account}.get(undo)
    if run is None:
        return json_response({"error": "Record not found"}, status=404)
    await admin_accounts.get_account(acting_user(), ident)
    await run(acting_user(), ident)
    return await _reloaded(ident)


@bp.delete("/api/v1/admin/accounts/<account_id>")
@admin_endpoint(WRITE, admins_only=True)
async def destroy(account_id: str) -> Response:
    ident = path_id(account_id)
    view = await admin_accounts.get_account(acting_user(), ident)
    await admin_account_data.delete_account_data(app_state(current_app).settings, acting_user(), ident)
    return await _reloaded(view.account.id)
