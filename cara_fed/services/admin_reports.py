"""The report queue behind the admin pages, the admin API and the CLI: services/report_queue.py's use cases
with the permission check each needs (Mastodon's ReportPolicy: "Manage Reports", which moderators and
admins have) and the acting moderator's account, plus what a report page shows."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.errors import Forbidden
from cara_fed.models import Account, MediaAttachment, Report, ReportNote, Rule, Status, User
from cara_fed.services import report_queue
from cara_fed.services.paging import Page
from cara_fed.services.report_queue import ReportFilter
from cara_fed.services.staff import require_staff


async def _moderator(by: User | None) -> Account:
    require_staff(by)
    if by is None:
        raise Forbidden("This action needs a moderator's account")
    return await Account.get(id=by.account_id)


async def list_reports(by: User | None, wanted: ReportFilter, page: Page) -> list[Report]:
    require_staff(by)
    return await report_queue.list_reports(wanted, page)


async def get_report(by: User | None, report_id: int) -> Report:
    require_staff(by)
    return await report_queue.get_report(report_id)


async def assign_to_self(by: User | None, report_id: int) -> Report:
    return await report_queue.assign_to_self(report_id, await _moderator(by))


async def unassign(by: User | None, report_id: int) -> Report:
    require_staff(by)
    return await report_queue.unassign(report_id)


async def resolve(by: User | None, report_id: int) -> Report:
    return await report_queue.resolve(report_id, await _moderator(by))


async def reopen(by: User | None, report_id: int) -> Report:
    require_staff(by)
    return await report_queue.reopen(report_id)


async def recategorize(by: User | None, report_id: int, *, category: str | None = None,
                       rule_ids: list[int] | None = None) -> Report:
    require_staff(by)
    return await report_queue.recategorize(report_id, category=category, rule_ids=rule_ids)


async def add_note(by: User | None, report_id: int, content: str, *, resolve_report: bool | None = None
                   ) -> ReportNote:
    moderator = await _moderator(by)
    return await report_queue.add_note(report_id, moderator, content, resolve_report=resolve_report)


@dataclass(frozen=True)
class ReportDetail:
    """Everything the report page shows."""
    report: Report
    statuses: list[Status]  # the reported posts still here, in the order reported (deleted ones too)
    missing_status_ids: list[int]  # reported posts no longer stored
    media: dict[int, list[MediaAttachment]]  # each reported post's images, in order
    notes: list[ReportNote]
    rules: list[Rule]  # the rules it cites that still exist
    other_open: int  # other open reports about the same account


async def report_detail(by: User | None, report_id: int) -> ReportDetail:
    require_staff(by)
    report = await report_queue.get_report(report_id)
    statuses = await report_queue.report_statuses(report)
    found = {s.id for s in statuses}
    rule_ids = [int(i) for i in report.rule_ids or []]
    rules = list(await Rule.filter(id__in=rule_ids).order_by("position", "id")) if rule_ids else []
    other_open = await Report.filter(target_account_id=report.target_account_id, action_taken_at__isnull=True
                                     ).exclude(id=report.id).count()
    media: dict[int, list[MediaAttachment]] = {}
    for attachment in await MediaAttachment.filter(status_id__in=list(found)).order_by("position", "id"):
        media.setdefault(attachment.status_id or 0, []).append(attachment)
    return ReportDetail(report=report, statuses=statuses, media=media,
                        missing_status_ids=[int(i) for i in report.status_ids or [] if int(i) not in found],
                        notes=await report_queue.list_notes(report.id), rules=rules, other_open=other_open)
