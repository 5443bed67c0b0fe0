"""``/admin/reports``: the report queue (open or resolved, by the reported account's domain, assigned to
me), and ``/admin/reports/<id>``: one report with the reported posts, the rules it cites, the notes, and
its forms: assign to me or unassign, resolve or reopen, a note (which may resolve or reopen), the
category, and an action on the reported account (suspend, limit, mark media sensitive, and for a local
account freeze its login) that resolves it with every other open report about that account, as
Mastodon's."""

from __future__ import annotations

from quart import Blueprint, Response, request

from cara_fed.errors import CaraError
from cara_fed.services import admin_accounts, admin_reports
from cara_fed.services.paging import Page
from cara_fed.services.report_queue import MAX_NOTE, ReportFilter
from cara_fed.services.reports import CATEGORIES
from cara_fed.web.admin.common import PAGE_SIZE, STAFF, install_errors, int_arg, message, path_id, render, \
    staff_user
from cara_fed.web.sessions import see_other, signed_in

bp = Blueprint("admin_reports", __name__)
install_errors(bp)

ACTION_CHOICES = (("none", "Resolve without an action"), ("sensitive", "Mark the account's media sensitive"),
                  ("silence", "Limit the account (hidden from public timelines)"),
                  ("suspend", "Suspend the account"))
# Local accounts only (a remote account has no login here), as Mastodon's form offers it.
DISABLE_CHOICE = ("disable", "Freeze the login (no sign-in; the account stays visible)")


@bp.get("/admin/reports")
@signed_in(roles=STAFF)
async def reports_page() -> Response:
    user = await staff_user()
    resolved = request.args.get("resolved") == "1"
    domain = (request.args.get("domain") or "").strip()[:253]
    mine = request.args.get("mine") == "1"
    wanted = ReportFilter(resolved=resolved, target_domain=domain or None,
                          assigned_account_id=user.account_id if mine else None)
    reports = await admin_reports.list_reports(user, wanted, Page(max_id=int_arg("max_id"), limit=PAGE_SIZE))
    return await render("admin/reports.html", nav="reports", reports=reports, resolved=resolved,
                        domain=domain, mine=mine, older=reports[-1].id if len(reports) == PAGE_SIZE else None)


async def _report_page(report_id: int, status: int = 200, errors: dict[str, str] | None = None,
                       note: str = "") -> Response:
    user = await staff_user()
    detail = await admin_reports.report_detail(user, report_id)
    return await render("admin/report.html", status, nav="reports", detail=detail, report=detail.report,
                        errors=errors or {}, note=note, categories=[(c, c.title()) for c in CATEGORIES],
                        actions=_actions_for(detail.report.target_account.domain is None),
                        note_max=MAX_NOTE, me=user.account_id)


def _actions_for(local: bool) -> tuple[tuple[str, str], ...]:
    if not local:
        return ACTION_CHOICES
    return (*ACTION_CHOICES[:1], DISABLE_CHOICE, *ACTION_CHOICES[1:])


@bp.get("/admin/reports/<report_id>")
@signed_in(roles=STAFF)
async def report_page(report_id: str) -> Response:
    return await _report_page(path_id(report_id))


@bp.post("/admin/reports/<report_id>/<what>")
@signed_in(roles=STAFF)
async def report_change(report_id: str, what: str) -> Response:
    ident = path_id(report_id)
    user = await staff_user()
    form = await request.form
    field = "form"
    try:
        if what == "assign":
            await admin_reports.assign_to_self(user, ident)
        elif what == "unassign":
            await admin_reports.unassign(user, ident)
        elif what == "resolve":
            await admin_reports.resolve(user, ident)
        elif what == "reopen":
            await admin_reports.reopen(user, ident)
        elif what == "category":
            field = "category"
            await admin_reports.recategorize(user, ident, category=form.get("category") or "")
        elif what == "note":
            field = "note"
            outcome = form.get("outcome") or ""
            resolve = {"resolve": True, "reopen": False}.get(outcome)
            await admin_reports.add_note(user, ident, form.get("content") or "", resolve_report=resolve)
        elif what == "action":
            field = "action"
            report = await admin_reports.get_report(user, ident)
            await admin_accounts.take_action(user, report.target_account_id, form.get("type") or "",
                                             report_id=ident, text=form.get("text") or "")
        else:
            return await render("admin/refused.html", 404, nav="reports", message="There is no such action.")
    except CaraError as exc:
        if exc.status == 404 and field != "action":
            raise
        return await _report_page(ident, exc.status, {field: message(exc)},
                                  note=form.get("content") or "" if field == "note" else "")
    return see_other(f"/admin/reports/{ident}?done={what}")
