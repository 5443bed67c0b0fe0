"""The moderators' report queue, for the admin pages, the Mastodon admin API and the CLI: list and filter,
assign to oneself or unassign, notes, resolve and reopen, re-categorise.

Mastodon is the model (app/models/report.rb: assign_to_self!, unassign!, resolve!, unresolve!;
app/models/report_note.rb: content 1 to 2000 characters; Admin::ReportNotesController: a note may resolve
or reopen the report it is written on; app/models/admin/report_filter.rb: resolved, account_id,
target_account_id, by_target_domain). ``action_taken_at`` set means resolved. Who may do this (staff roles)
is for the caller to check; the acting moderator is passed in for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Account, Report, ReportNote, Rule, Status
from cara_fed.services.paging import Page
from cara_fed.services.reports import CATEGORIES, MAX_RULES

MAX_NOTE = 2000
_RELATED = ("account", "target_account", "assigned_account", "action_taken_by_account")


@dataclass(frozen=True)
class ReportFilter:
    """``resolved``: True (resolved only), False (open only, the default), None (both)."""
    resolved: bool | None = False
    account_id: int | None = None  # who reported
    target_account_id: int | None = None  # who was reported
    target_domain: str | None = None  # reported accounts of this domain (Mastodon's by_target_domain)
    assigned_account_id: int | None = None


async def list_reports(wanted: ReportFilter, page: Page) -> list[Report]:
    """One page of reports, newest first, with their accounts loaded."""
    query = Report.all()
    if wanted.resolved is True:
        query = query.filter(action_taken_at__not_isnull=True)
    elif wanted.resolved is False:
        query = query.filter(action_taken_at__isnull=True)
    if wanted.account_id is not None:
        query = query.filter(account_id=wanted.account_id)
    if wanted.target_account_id is not None:
        query = query.filter(target_account_id=wanted.target_account_id)
    if wanted.target_domain is not None:
        domain = wanted.target_domain.strip().lower()
        query = query.filter(Q(target_account__domain=domain)
                             | Q(target_account__domain__endswith=f".{domain}"))
    if wanted.assigned_account_id is not None:
        query = query.filter(assigned_account_id=wanted.assigned_account_id)
    for bound, op in ((page.max_id, "lt"), (page.since_id, "gt"), (page.min_id, "gt")):
        if bound is not None:
            query = query.filter(**{f"id__{op}": bound})
    rows = await query.order_by("id" if page.ascending else "-id").limit(page.limit).select_related(*_RELATED)
    return page.newest_first(list(rows))


async def unresolved_count() -> int:
    return await Report.filter(action_taken_at__isnull=True).count()


async def get_report(report_id: int) -> Report:
    report = await Report.filter(id=report_id).select_related(*_RELATED).first()
    if report is None:
        raise NotFound("Record not found")
    return report


async def report_statuses(report: Report) -> list[Status]:
    """The reported posts that still exist, in the order reported (deleted ones included: evidence)."""
    ids = [int(i) for i in report.status_ids or []]
    found = {s.id: s for s in await Status.filter(id__in=ids).select_related("account")}
    return [found[i] for i in ids if i in found]


async def _update(report_id: int, **changes: object) -> Report:
    if not await Report.filter(id=report_id).update(**changes, updated_at=datetime.now(UTC)):
        raise NotFound("Record not found")
    return await get_report(report_id)


async def assign_to_self(report_id: int, moderator: Account) -> Report:
    return await _update(report_id, assigned_account_id=moderator.id)


async def unassign(report_id: int) -> Report:
    return await _update(report_id, assigned_account_id=None)


async def resolve(report_id: int, moderator: Account) -> Report:
    """Mark resolved (``action_taken_at`` now, by ``moderator``); resolving again changes nothing."""
    report = await get_report(report_id)
    if report.action_taken_at is not None:
        return report
    return await _update(report_id, action_taken_at=datetime.now(UTC),
                         action_taken_by_account_id=moderator.id)


async def reopen(report_id: int) -> Report:
    return await _update(report_id, action_taken_at=None, action_taken_by_account_id=None)


async def recategorize(report_id: int, *, category: str | None = None, rule_ids: list[int] | None = None
                       ) -> Report:
    """The admin API's update: a new category and/or rule ids (rules make it a violation, as on filing)."""
    changes: dict[str, object] = {}
    if rule_ids is not None:
        wanted = list(dict.fromkeys(rule_ids))
        if len(wanted) > MAX_RULES or await Rule.filter(id__in=wanted).count() != len(wanted):
            raise ValidationFailed("Validation failed: Rule ids is invalid")
        changes["rule_ids"] = wanted or None
        if wanted:
            changes["category"] = "violation"
    if category is not None and "category" not in changes:
        if category not in CATEGORIES:
            raise ValidationFailed("Validation failed: Category is not included in the list")
        changes["category"] = category
    if not changes:
        return await get_report(report_id)
    return await _update(report_id, **changes)


async def add_note(report_id: int, author: Account, content: str, *, resolve_report: bool | None = None
                   ) -> ReportNote:
    """A moderator's note; ``resolve_report`` True also resolves the report, False reopens it."""
    text = (content or "").strip()
    if not text:
        raise ValidationFailed("Validation failed: Content can't be blank")
    if len(text) > MAX_NOTE:
        raise ValidationFailed(f"Validation failed: Content is too long (maximum is {MAX_NOTE} characters)")
    async with in_transaction() as conn:
        report = await Report.filter(id=report_id).using_db(conn).first()
        if report is None:
            raise NotFound("Record not found")
        note = await ReportNote.create(report_id=report.id, author_id=author.id, content=text, using_db=conn)
        if resolve_report is True and report.action_taken_at is None:
            await Report.filter(id=report.id).using_db(conn).update(
                action_taken_at=datetime.now(UTC), action_taken_by_account_id=author.id,
                updated_at=datetime.now(UTC))
        elif resolve_report is False and report.action_taken_at is not None:
            await Report.filter(id=report.id).using_db(conn).update(
                action_taken_at=None, action_taken_by_account_id=None, updated_at=datetime.now(UTC))
    return note


async def list_notes(report_id: int) -> list[ReportNote]:
    """The report's notes, oldest first, with their authors."""
    return list(await ReportNote.filter(report_id=report_id).order_by("id").select_related("author"))


async def delete_note(note_id: int) -> None:
    if not await ReportNote.filter(id=note_id).delete():
        raise NotFound("Record not found")
