"""``/api/v1/admin/reports`` (docs: methods/admin/reports): the queue (``resolved``, ``account_id``,
``target_account_id``, paged by id, 100 by default), one report, ``PUT`` (category and rule ids), and
``assign_to_self``, ``unassign``, ``resolve``, ``reopen``. Every answer is an Admin::Report (or a list)."""

from __future__ import annotations

from quart import Blueprint, Response

from cara_fed.api.admin.common import acting_user, admin_endpoint, path_id, urls
from cara_fed.api.admin.entities import admin_reports_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params, parse_id
from cara_fed.errors import ValidationFailed
from cara_fed.models import Account, Report
from cara_fed.services import admin_reports
from cara_fed.services.report_queue import ReportFilter
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_admin_reports", __name__)

READ = "admin:read:reports"
WRITE = "admin:write:reports"
LIMIT = 100
MAX_LIMIT = 200


async def _rendered(reports: list[Report]) -> list[dict[str, object]]:
    viewer = await Account.get(id=acting_user().account_id)
    return await admin_reports_to_api(reports, urls(), viewer)


async def _one(report: Report) -> Response:
    return json_response((await _rendered([report]))[0])


@bp.get("/api/v1/admin/reports")
@admin_endpoint(READ)
async def index() -> Response:
    p = await params()
    resolved = p.bool("resolved")
    wanted = ReportFilter(resolved=bool(resolved), account_id=p.id("account_id"),
                          target_account_id=p.id("target_account_id"))
    reports = await admin_reports.list_reports(acting_user(), wanted, page_params(LIMIT, MAX_LIMIT))
    return with_link(json_response(await _rendered(reports)), [r.id for r in reports])


@bp.get("/api/v1/admin/reports/<report_id>")
@admin_endpoint(READ)
async def show(report_id: str) -> Response:
    return await _one(await admin_reports.get_report(acting_user(), path_id(report_id)))


@bp.put("/api/v1/admin/reports/<report_id>")
@admin_endpoint(WRITE)
async def update(report_id: str) -> Response:
    ident = path_id(report_id)
    await admin_reports.get_report(acting_user(), ident)
    p = await params()
    rule_ids = None
    if p.has("rule_ids"):
        try:
            rule_ids = [parse_id(value, "rule_ids") for value in p.list("rule_ids")]
        except ValidationFailed:
            raise ValidationFailed("Validation failed: Rule ids is invalid") from None
    report = await admin_reports.recategorize(acting_user(), ident, category=p.str("category", max_length=32),
                                              rule_ids=rule_ids)
    return await _one(report)


@bp.post("/api/v1/admin/reports/<report_id>/<change>")
@admin_endpoint(WRITE)
async def change(report_id: str, change: str) -> Response:
    run = {"assign_to_self": admin_reports.assign_to_self, "unassign": admin_reports.unassign,
           "resolve": admin_reports.resolve, "reopen": admin_reports.reopen}.get(change)
    if run is None:
        return json_response({"error": "Record not found"}, status=404)
    return await _one(await run(acting_user(), path_id(report_id)))
