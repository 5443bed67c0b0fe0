"""Filing a report (``POST /api/v1/reports``) and forwarding it to the reported account's server.

Mastodon is the model (app/controllers/api/v1/reports_controller.rb, app/services/report_service.rb,
app/models/report.rb):
- the reported account must exist and not be suspended (404 otherwise);
- each status must be one of that account's and one the reporter may see (``permitted_for``), deleted ones
  included (``with_discarded``), else 404 "Record not found" for the whole report (``find`` raises);
- rule ids must name existing rules; giving any makes the category ``violation``; the category is one of
  spam, legal, violation, other (default other); the comment is at most 1000 characters;
- ``forward`` (remote accounts only) sends a ``Flag`` from the instance actor to the account's inbox, and
  to the inboxes of the remote accounts the reported posts replied to when their domains are listed in
  ``forward_to_domains`` (which defaults to the account's own domain). ``forwarded`` says whether the
  account's own server was sent it.
Incoming reports (``Flag`` from other servers) are stored by federation/handlers/moderation.py; the queue
the moderators work through is services/report_queue.py.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import is_suspended
from cara_fed.federation.flags import enqueue_flag, flag_activity, new_flag_id
from cara_fed.models import Account, Follow, Mention, Report, Rule, Status
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.instance import instance_actor

CATEGORIES = ("spam", "legal", "violation", "other")
MAX_COMMENT = 1000  # Report validates comment length for local reporters (Mastodon)
MAX_STATUSES = 100
MAX_RULES = 50


@dataclass(frozen=True)
class ReportRequest:
    """What the reporter sends; ids as given (numbers or numeric strings)."""
    account_id: int
    status_ids: tuple[int, ...] = ()
    comment: str = ""
    category: str | None = None
    rule_ids: tuple[int, ...] = ()
    forward: bool = False
    forward_to_domains: tuple[str, ...] | None = None


async def _may_see(status: Status, reporter: Account) -> bool:
    """Mastodon's Status.permitted_for(author, reporter), ignoring deletion (a just-deleted post can still
    be reported)."""
    if status.visibility in ("public", "unlisted") or status.account_id == reporter.id:
        return True
    if await Mention.filter(status_id=status.id, account_id=reporter.id).exists():
        return True
    return status.visibility == "private" and await Follow.filter(
        account_id=reporter.id, target_account_id=status.account_id).exists()


async def _reported_statuses(target: Account, reporter: Account, ids: Iterable[int]) -> list[Status]:
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_STATUSES:
        raise ValidationFailed(f"Validation failed: at most {MAX_STATUSES} statuses can be reported at once")
    if not wanted:
        return []
    found = {s.id: s for s in await Status.filter(id__in=wanted, account_id=target.id, reblog_of_id=None)}
    statuses = [found[i] for i in wanted if i in found]
    if len(statuses) != len(wanted) or not all([await _may_see(s, reporter) for s in statuses]):
        raise NotFound("Record not found")
    return statuses


async def _rules(ids: Iterable[int]) -> list[int]:
    wanted = list(dict.fromkeys(ids))
    if len(wanted) > MAX_RULES:
        raise ValidationFailed("Validation failed: Rule ids is invalid")
    if not wanted:
        return []
    existing = set(await Rule.filter(id__in=wanted).values_list("id", flat=True))
    if len(existing) != len(wanted):
        raise ValidationFailed("Validation failed: Rule ids is invalid")
    return wanted


def _category(category: str | None, rule_ids: list[int]) -> str:
    if rule_ids:
        return "violation"  # Mastodon: rule ids make it a violation whatever was asked
    if not category:
        return "other"
    if category not in CATEGORIES:
        raise ValidationFailed("Validation failed: Category is not included in the list")
    return category


async def file_report(federation: Federation, reporter: Account, request: ReportRequest) -> Report:
    """Store ``reporter``'s report and, when asked for a remote account, queue its ``Flag`` in the same
    transaction. Returns the report with ``target_account`` loaded."""
    target = await Account.get_or_none(id=request.account_id)
    if target is None or target.suspended_at is not None or target.actor_type == "Application":
        raise NotFound("Record not found")
    comment = request.comment or ""
    if len(comment) > MAX_COMMENT:
        raise ValidationFailed(f"Validation failed: Comment is too long (maximum is {MAX_COMMENT} "
                               "characters)")
    rule_ids = await _rules(request.rule_ids)
    category = _category(request.category, rule_ids)
    statuses = await _reported_statuses(target, reporter, request.status_ids)

    inboxes: list[str] = []
    forwarded = False
    if request.forward and target.domain is not None:
        domains = {normalize_domain(d) for d in (request.forward_to_domains or (target.domain,)) if d.strip()}
        origin_inbox = target.inbox_url or target.shared_inbox_url
        if target.domain in domains and origin_inbox and not await is_suspended(origin_inbox):
            inboxes.append(origin_inbox)
            forwarded = True
        inboxes += await _replied_to_inboxes(statuses, domains, exclude=origin_inbox)
    signer = await instance_actor() if inboxes else None
    urls = federation.urls
    async with in_transaction() as conn:
        report = await Report.create(
            account_id=reporter.id, target_account_id=target.id, status_ids=[s.id for s in statuses],
            comment=comment, category=category, rule_ids=rule_ids or None, forwarded=forwarded,
            uri=new_flag_id(urls) if inboxes else None, using_db=conn)
        if inboxes and signer is not None:
            assert report.uri is not None
            await enqueue_flag(signer, flag_activity(urls, report.uri, target, statuses, comment), inboxes,
                               using_db=conn)
    report.target_account = target
    return report


async def _replied_to_inboxes(statuses: list[Status], domains: set[str], *, exclude: str | None) -> list[str]:
    """Inboxes of the remote accounts the reported posts answered, on the listed domains (Mastodon's
    forward_to_replied_to!: the servers of those replied to get a chance to act too)."""
    account_ids = {s.in_reply_to_account_id for s in statuses if s.in_reply_to_account_id}
    if not account_ids or not domains:
        return []
    inboxes: list[str] = []
    for account in await Account.filter(id__in=account_ids, domain__in=list(domains), suspended_at=None):
        inbox = account.inbox_url or account.shared_inbox_url
        if inbox and inbox != exclude and not await is_suspended(inbox):
            inboxes.append(inbox)
    return list(dict.fromkeys(inboxes))
