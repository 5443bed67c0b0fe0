"""``POST /api/v1/reports`` (docs: methods/reports): a signed-in user reports an account, optionally with
some of its posts, a comment, a category and the rules broken, and asks for a remote account's server to
be told (``forward``). The rules are services/reports.py's."""

from __future__ import annotations

from quart import Blueprint, Response

from cara_fed.api.accounts import federation, urls
from cara_fed.api.auth import authorized, me
from cara_fed.api.entities.accounts import one_account_to_api
from cara_fed.api.entities.reports import report_to_api
from cara_fed.api.params import Params, params, parse_id
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.services.reports import ReportRequest, file_report
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_reports", __name__)


def _ids(p: Params, name: str) -> tuple[int, ...]:
    return tuple(parse_id(value, name) for value in p.list(name))


@bp.post("/api/v1/reports")
@authorized("write:reports")
async def create_report() -> Response:
    p = await params()
    try:
        account_id = p.id("account_id")
    except ValidationFailed:
        account_id = None
    if account_id is None:
        raise NotFound("Record not found")  # Mastodon: Account.find(params[:account_id])
    try:
        status_ids = _ids(p, "status_ids")
    except ValidationFailed:
        raise NotFound("Record not found") from None  # no such status
    forward_to = p.list("forward_to_domains")
    request = ReportRequest(
        account_id=account_id, status_ids=status_ids, comment=p.str("comment", "") or "",
        category=p.str("category"), rule_ids=_ids(p, "rule_ids"), forward=bool(p.bool("forward", False)),
        forward_to_domains=tuple(str(d) for d in forward_to if isinstance(d, str)) if forward_to else None)
    report = await file_report(federation(), me(), request)
    return json_response(report_to_api(report, await one_account_to_api(report.target_account, urls())))
