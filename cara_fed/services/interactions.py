"""Favourites and boosts of any post, local or remote, with the ``Like``/``Announce`` (and their ``Undo``)
sent in the same transaction as the row."""

from __future__ import annotations

from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound
from cara_fed.federation.contexts import AS_CONTEXT, PUBLIC
from cara_fed.federation.delivery import enqueue_deliveries, enqueue_fanout
from cara_fed.federation.notes import actor_uri, status_uri
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Favourite, Notification, Status
from cara_fed.settings import Settings


async def _visible_status(status_id: int) -> Status:
    status = await Status.filter(id=status_id, deleted_at=None, reblog_of_id=None,
                                 visibility__in=("public", "unlisted")).select_related("account").first()
    if status is None:
        raise NotFound("Record not found")
    return status


async def _notify_local_author(status: Status, actor: Account, kind: str, conn: Any) -> None:
    """A local author hears of a local favourite or boost (remote ones arrive through the inbox)."""
    if status.account.domain is None and status.account_id != actor.id:
        await Notification.create(account_id=status.account_id, from_account=actor, type=kind, status=status,
                                  using_db=conn)


def _author_inbox(status: Status) -> list[str]:
    author = status.account
    return [author.inbox_url] if author.domain is not None and author.inbox_url else []


async def favourite(settings: Settings, account: Account, status_id: int) -> Favourite:
    status = await _visible_status(status_id)
    urls = LocalUrls(settings)
    existing = await Favourite.filter(account_id=account.id, status_id=status.id).first()
    if existing is not None:
        return existing
    async with in_transaction() as conn:
        fav = await Favourite.create(account=account, status=status, using_db=conn)
        await _notify_local_author(status, account, "favourite", conn)
        like = {"@context": AS_CONTEXT, "id": f"{urls.actor(account.username)}#likes/{fav.id}", "type": "Like",
                "actor": urls.actor(account.username), "object": status_uri(status, urls)}
        await enqueue_deliveries(like, account, _author_inbox(status), using_db=conn)
    return fav


async def unfavourite(settings: Settings, account: Account, status_id: int) -> None:
    fav = await Favourite.filter(account_id=account.id, status_id=status_id).select_related(
        "status", "status__account").first()
    if fav is None:
        return
    urls = LocalUrls(settings)
    like: dict[str, Any] = {"id": f"{urls.actor(account.username)}#likes/{fav.id}", "type": "Like",
                            "actor": urls.actor(account.username), "object": status_uri(fav.status, urls)}
    undo = {"@context": AS_CONTEXT, "id": f"{like['id']}/undo", "type": "Undo", "actor": like["actor"],
            "object": like}
    async with in_transaction() as conn:
        await Favourite.filter(id=fav.id).using_db(conn).delete()
        await enqueue_deliveries(undo, account, _author_inbox(fav.status), using_db=conn)


def _announce(boost: Status, original: Status, account: Account, urls: LocalUrls) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": urls.status_activity(account.username, boost.id), "type": "Announce",
            "actor": urls.actor(account.username), "published": boost.created_at.isoformat(),
            "to": [PUBLIC], "cc": [actor_uri(original.account, urls), urls.followers(account.username)],
            "object": status_uri(original, urls)}


async def reblog(settings: Settings, account: Account, status_id: int) -> Status:
    original = await _visible_status(status_id)
    existing = await Status.filter(account_id=account.id, reblog_of_id=original.id, deleted_at=None).first()
    if existing is not None:
        return existing
    urls = LocalUrls(settings)
    async with in_transaction() as conn:
        boost = await Status.create(account=account, reblog_of=original, visibility="public", using_db=conn)
        await _notify_local_author(original, account, "reblog", conn)
        await enqueue_fanout(_announce(boost, original, account, urls), account, using_db=conn)
    return boost


async def unreblog(settings: Settings, account: Account, status_id: int) -> None:
    boost = await Status.filter(account_id=account.id, reblog_of_id=status_id, deleted_at=None).select_related(
        "reblog_of", "reblog_of__account").first()
    if boost is None:
        return
    urls = LocalUrls(settings)
    announce = _announce(boost, boost.reblog_of, account, urls)
    announce.pop("@context")
    undo = {"@context": AS_CONTEXT, "id": f"{announce['id']}/undo", "type": "Undo", "actor": announce["actor"],
            "to": announce["to"], "cc": announce["cc"], "object": announce}
    async with in_transaction() as conn:
        await Status.filter(id=boost.id).using_db(conn).delete()
        await enqueue_fanout(undo, account, using_db=conn)
