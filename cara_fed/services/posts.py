"""Posting: a status and its fan-out job are saved in one transaction (the transactional outbox of DESIGN.md
section 3), so an acknowledged post is always delivered, even if the process dies right after."""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.delivery import enqueue_fanout
from cara_fed.federation.notes import audience, create_activity, status_uri
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, MediaAttachment, Mention, Status
from cara_fed.models.statuses import VISIBILITIES
from cara_fed.services.statuses import with_relations
from cara_fed.settings import Settings

MAX_CHARS = 5000


def text_to_html(text: str) -> str:
    """Plain text as Mastodon renders it: paragraphs on blank lines, <br> on single newlines, escaped."""
    paragraphs = [p for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join("<p>" + "<br>".join(html.escape(line) for line in p.strip("\n").split("\n")) + "</p>"
                   for p in paragraphs)


async def create_post(settings: Settings, account: Account, text: str, *, visibility: str = "public",
                      spoiler_text: str = "", sensitive: bool = False, language: str | None = None,
                      media_ids: Sequence[int] = (), in_reply_to_id: int | None = None) -> Status:
    if visibility not in VISIBILITIES:
        raise ValidationFailed(f"visibility must be one of {', '.join(VISIBILITIES)}")
    if not text.strip() and not media_ids:
        raise ValidationFailed("a post needs text or media")
    if len(text) > MAX_CHARS:
        raise ValidationFailed(f"text is longer than {MAX_CHARS} characters")
    media = await MediaAttachment.filter(id__in=list(media_ids), account_id=account.id, status_id=None)
    if len(media) != len(set(media_ids)):
        raise ValidationFailed("media not found or already attached")
    parent = None
    if in_reply_to_id is not None:
        parent = await Status.filter(id=in_reply_to_id, deleted_at=None).first()
        if parent is None:
            raise NotFound("the post replied to does not exist")
    urls = LocalUrls(settings)
    async with in_transaction() as conn:
        status = await Status.create(account=account, text=text, content=text_to_html(text), visibility=visibility,
                                     spoiler_text=spoiler_text, sensitive=sensitive, language=language,
                                     in_reply_to=parent, in_reply_to_account_id=parent.account_id if parent else None,
                                     using_db=conn)
        if parent is not None and parent.account_id != account.id:
            # A reply mentions the author it answers, so their server receives it (as Mastodon does).
            await Mention.create(status=status, account_id=parent.account_id, using_db=conn)
        order = {media_id: position for position, media_id in enumerate(media_ids)}
        for item in media:
            await MediaAttachment.filter(id=item.id).using_db(conn).update(status_id=status.id,
                                                                            position=order[item.id])
        loaded = await with_relations(Status.filter(id=status.id)).using_db(conn).get()
        await enqueue_fanout(create_activity(loaded, urls), account, using_db=conn)
    return loaded


async def delete_post(settings: Settings, account: Account, status_id: int) -> None:
    """Delete a post of ``account`` and tell everyone who received it."""
    status = await with_relations(Status.filter(id=status_id, account_id=account.id, deleted_at=None)).first()
    if status is None:
        raise NotFound("Record not found")
    urls = LocalUrls(settings)
    uri = status_uri(status, urls)
    to, cc = audience(status, urls)
    activity = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{uri}#delete", "type": "Delete",
                "actor": urls.actor(account.username), "to": to, "cc": cc,
                "object": {"id": uri, "type": "Tombstone"}}
    async with in_transaction() as conn:
        await Status.filter(id=status.id).using_db(conn).update(deleted_at=datetime.now(UTC))
        await enqueue_fanout(activity, account, using_db=conn)
