"""Reading statuses for public documents (objects, outbox, featured), each in a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.queryset import QuerySet

from cara_fed.errors import NotFound
from cara_fed.models import Account, Follow, Status, StatusPin
from cara_fed.services.status_views import StatusView, load_status_views

PUBLIC_VISIBILITIES = ("public", "unlisted")
PAGE_SIZE = 20


def with_relations(query: QuerySet[Status]) -> QuerySet[Status]:
    """Everything a Note needs, loaded up front (never one query per attachment or mention)."""
    return query.select_related("account", "in_reply_to", "in_reply_to__account", "reblog_of",
                                "reblog_of__account").prefetch_related(
        "media_attachments", "mentions__account", "tags", "work")


async def load_statuses(ids: list[int]) -> dict[int, StatusView]:
    """Statuses by id for reading, with every relation an entity needs (raw queries: see status_views)."""
    return await load_status_views(ids)


async def get_local_status(account: Account, status_id: int) -> Status:
    """A local status of ``account`` that anyone may see (deleted ones too: the caller answers 410)."""
    status = await with_relations(Status.filter(id=status_id, account_id=account.id, local=True,
                                                 visibility__in=PUBLIC_VISIBILITIES)).first()
    if status is None:
        raise NotFound("Record not found")
    return status


def _published(account: Account) -> QuerySet[Status]:
    return Status.filter(account_id=account.id, local=True, deleted_at=None, visibility__in=PUBLIC_VISIBILITIES)


async def outbox_count(account: Account) -> int:
    return await _published(account).count()


async def outbox_page(account: Account, *, max_id: int | None = None, min_id: int | None = None,
                      limit: int = PAGE_SIZE) -> list[Status]:
    """Newest first. ``max_id``: older than it; ``min_id``: the page just newer than it."""
    query = _published(account)
    if min_id is not None:
        rows = await with_relations(query.filter(id__gt=min_id).order_by("id").limit(limit))
        return list(reversed(rows))
    if max_id is not None:
        query = query.filter(id__lt=max_id)
    return list(await with_relations(query.order_by("-id").limit(limit)))


async def pinned_statuses(account: Account) -> list[Status]:
    pins = StatusPin.filter(account_id=account.id, status__deleted_at=None,
                            status__visibility__in=PUBLIC_VISIBILITIES).order_by("-id").values_list(
        "status_id", flat=True)
    ids = list(await pins)
    by_id = {s.id: s for s in await with_relations(Status.filter(id__in=ids))}
    return [by_id[i] for i in ids if i in by_id]


@dataclass(frozen=True)
class AccountPage:
    total: int
    accounts: list[Account]


async def followers_page(account: Account, page: int, per_page: int = PAGE_SIZE) -> AccountPage:
    query = Follow.filter(target_account_id=account.id)
    rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page).select_related("account")
    return AccountPage(total=await query.count(), accounts=[f.account for f in rows])


async def following_page(account: Account, page: int, per_page: int = PAGE_SIZE) -> AccountPage:
    query = Follow.filter(account_id=account.id)
    rows = await query.order_by("-id").offset((page - 1) * per_page).limit(per_page).select_related(
        "target_account")
    return AccountPage(total=await query.count(), accounts=[f.target_account for f in rows])


async def follow_counts(account: Account) -> tuple[int, int]:
    """(followers, following)."""
    return (await Follow.filter(target_account_id=account.id).count(),
            await Follow.filter(account_id=account.id).count())
