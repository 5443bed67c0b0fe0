"""Posting: a status and its fan-out job are saved in one transaction (the transactional outbox of DESIGN.md
section 3), so an acknowledged post is always delivered, even if the process dies right after.

Mentions and hashtags are taken from the text (services/text.py); mentions resolve to accounts this
server already knows (a mention of an unknown remote account stays plain text)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.contexts import OBJECT_CONTEXT
from cara_fed.federation.delivery import enqueue_fanout
from cara_fed.federation.notes import audience, create_activity, status_to_ap, status_uri
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import (Account, Follow, IdempotencyKey, MediaAttachment, Mention, Notification, Status,
                             StatusEdit, Tag)
from cara_fed.models.accounts import acct_key
from cara_fed.models.statuses import VISIBILITIES
from cara_fed.services import portfolio_store
from cara_fed.services import text as text_format
from cara_fed.services.statuses import with_relations
from cara_fed.settings import Settings

IDEMPOTENCY_WINDOW = timedelta(hours=1)  # Mastodon keeps Idempotency-Key results an hour
LANGUAGE_MAX = 16


def text_to_html(text: str) -> str:
    """Plain text as Mastodon renders it, without links (bios and tests use it)."""
    return text_format.render(text, mention_url=lambda _m: None, tag_url=lambda name: f"/tags/{name}")


@dataclass(frozen=True)
class Draft:
    """What the author asked for, checked."""
    text: str
    visibility: str
    spoiler_text: str
    language: str | None
    media_ids: list[int]


def _check(settings: Settings, text: str, visibility: str, spoiler_text: str, language: str | None,
           media_ids: Sequence[int]) -> Draft:
    if visibility not in VISIBILITIES:
        raise ValidationFailed(f"Validation failed: visibility must be one of {', '.join(VISIBILITIES)}")
    if not text.strip() and not media_ids:
        raise ValidationFailed("Validation failed: Text can't be blank")
    limit = settings.api.max_status_characters
    if len(text) + len(spoiler_text) > limit:
        raise ValidationFailed(f"Validation failed: Text character limit of {limit} exceeded")
    unique = list(dict.fromkeys(media_ids))
    if len(unique) > settings.api.max_media_attachments:
        raise ValidationFailed(f"Validation failed: a post holds at most {settings.api.max_media_attachments} "
                               "media attachments")
    if language is not None and (not language or len(language) > LANGUAGE_MAX
                                 or not language.replace("-", "").isalnum()):
        raise ValidationFailed("Validation failed: language is not a valid language code")
    return Draft(text=text, visibility=visibility, spoiler_text=spoiler_text, language=language, media_ids=unique)


def sensitive_of(spoiler_text: str, sensitive: bool) -> bool:
    return sensitive or bool(spoiler_text)  # Mastodon marks media sensitive when a content warning is set


async def _mentioned_accounts(settings: Settings, text: str) -> dict[tuple[str, str | None], Account]:
    targets = text_format.find_mentions(text, settings.instance.domain)
    if not targets:
        return {}
    keys = [acct_key(t.username, t.domain) for t in targets]
    rows = await Account.filter(acct_key__in=keys, suspended_at=None)
    return {(a.username.lower(), a.domain.lower() if a.domain else None): a for a in rows}


def _render(settings: Settings, text: str, mentioned: dict[tuple[str, str | None], Account]) -> str:
    urls = LocalUrls(settings)
    local_domain = settings.instance.domain.lower()

    def mention_url(target: text_format.MentionTarget) -> str | None:
        domain = target.domain.lower() if target.domain else None
        account = mentioned.get((target.username.lower(), None if domain == local_domain else domain))
        if account is None:
            return None
        return urls.profile(account.username) if account.domain is None else (account.url or account.uri)

    return text_format.render(text, mention_url=mention_url, tag_url=urls.tag)


async def _tags(names: list[str], conn: BaseDBAsyncClient) -> list[Tag]:
    tags = []
    for name in names:
        tag = await Tag.filter(name=name).using_db(conn).first()
        if tag is None:
            tag = await Tag.create(name=name, using_db=conn)
        tags.append(tag)
    return tags


async def _attachable_media(account: Account, media_ids: list[int], status_id: int | None = None
                            ) -> list[MediaAttachment]:
    media = await MediaAttachment.filter(id__in=media_ids, account_id=account.id)
    usable = [m for m in media if m.status_id is None or m.status_id == status_id]
    if len(usable) != len(media_ids):
        raise ValidationFailed("Validation failed: media not found or already attached to another post")
    return usable


async def create_post(settings: Settings, account: Account, text: str, *, visibility: str = "public",
                      spoiler_text: str = "", sensitive: bool = False, language: str | None = None,
                      media_ids: Sequence[int] = (), in_reply_to_id: int | None = None,
                      idempotency_key: str | None = None,
                      work: portfolio_store.WorkFields | None = None) -> Status:
    """``work``: the post is a portfolio work (services.portfolio.add_work); without it, the portfolio
    hashtag rule decides (services/portfolio_store.py join_new_post)."""
    if idempotency_key:
        earlier = await _idempotent(account, idempotency_key)
        if earlier is not None:
            return earlier
    draft = _check(settings, text, visibility, spoiler_text, language, media_ids)
    media = await _attachable_media(account, draft.media_ids)
    parent = None
    if in_reply_to_id is not None:
        parent = await Status.filter(id=in_reply_to_id, deleted_at=None).first()
        if parent is None:
            raise NotFound("Record not found")
    mentioned = await _mentioned_accounts(settings, text)
    urls = LocalUrls(settings)
    async with in_transaction() as conn:
        status = await Status.create(account=account, text=text, content=_render(settings, text, mentioned),
                                     visibility=draft.visibility, spoiler_text=spoiler_text,
                                     sensitive=sensitive_of(spoiler_text, sensitive), language=language,
                                     in_reply_to=parent,
                                     in_reply_to_account_id=parent.account_id if parent else None, using_db=conn)
        mention_ids = [a.id for a in mentioned.values() if a.id != account.id]
        if parent is not None and parent.account_id != account.id and parent.account_id not in mention_ids:
            # A reply mentions the author it answers, so their server receives it (as Mastodon does).
            mention_ids.append(parent.account_id)
        for mention_id in mention_ids:
            await Mention.create(status=status, account_id=mention_id, using_db=conn)
        tags = await _tags(text_format.find_hashtags(text), conn)
        if tags:
            await status.tags.add(*tags, using_db=conn)
        order = {media_id: position for position, media_id in enumerate(draft.media_ids)}
        for item in media:
            await MediaAttachment.filter(id=item.id).using_db(conn).update(status_id=status.id,
                                                                            position=order[item.id])
        await _notify_local(status, account, mention_ids, conn)
        await portfolio_store.join_new_post(settings, account, status, tags, media, work, conn)  # before the Create
        if idempotency_key:
            await IdempotencyKey.create(account=account, key=idempotency_key[:255], status=status, using_db=conn)
        loaded = await with_relations(Status.filter(id=status.id)).using_db(conn).get()
        await enqueue_fanout(create_activity(loaded, urls), account, using_db=conn)
    return loaded


async def _idempotent(account: Account, key: str) -> Status | None:
    """The status an earlier request with this Idempotency-Key made, within the window; stale keys go."""
    row = await IdempotencyKey.filter(account_id=account.id, key=key[:255]).first()
    if row is None:
        return None
    if datetime.now(UTC) - row.created_at > IDEMPOTENCY_WINDOW:
        await IdempotencyKey.filter(id=row.id).delete()
        return None
    return await with_relations(Status.filter(id=row.status_id)).first()


async def _notify_local(status: Status, author: Account, mention_ids: list[int], conn: BaseDBAsyncClient) -> None:
    """Local accounts mentioned get a `mention`; local followers who asked to be notified get `status`."""
    local_mentioned = await Account.filter(id__in=mention_ids, domain=None).using_db(conn).values_list(
        "id", flat=True)
    for account_id in local_mentioned:
        await Notification.create(account_id=account_id, from_account=author, type="mention", status=status,
                                  using_db=conn)
    if status.visibility in ("public", "unlisted", "private"):
        subscribers = await Follow.filter(target_account_id=author.id, notify=True,
                                          account__domain=None).using_db(conn).values_list("account_id", flat=True)
        for account_id in subscribers:
            if account_id not in local_mentioned:
                await Notification.create(account_id=account_id, from_account=author, type="status",
                                          status=status, using_db=conn)


async def edit_post(settings: Settings, account: Account, status_id: int, text: str, *,
                    spoiler_text: str = "", sensitive: bool = False, language: str | None = None,
                    media_ids: Sequence[int] | None = None,
                    media_descriptions: dict[int, tuple[str | None, tuple[float, float] | None]] | None = None,
                    snapshot: dict[str, object] | None = None) -> Status:
    """Edit a post, keeping its earlier version in the history (``snapshot`` is the entity before the edit,
    so the history shows what readers saw), and send ``Update`` to everyone who received it."""
    status = await with_relations(Status.filter(id=status_id, account_id=account.id, deleted_at=None,
                                                reblog_of_id=None)).first()
    if status is None:
        raise NotFound("Record not found")
    current_media = [m.id for m in sorted(status.media_attachments, key=lambda m: (m.position, m.id))]
    wanted_media = list(media_ids) if media_ids is not None else current_media
    draft = _check(settings, text, status.visibility, spoiler_text, language, wanted_media)
    media = await _attachable_media(account, draft.media_ids, status.id)
    mentioned = await _mentioned_accounts(settings, text)
    urls = LocalUrls(settings)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        if not await StatusEdit.filter(status_id=status.id).using_db(conn).exists():
            await StatusEdit.create(status=status, content=status.content, spoiler_text=status.spoiler_text,
                                    sensitive=status.sensitive, media=(snapshot or {}).get("media_attachments", []),
                                    created_at=status.created_at, using_db=conn)
        await Status.filter(id=status.id).using_db(conn).update(
            text=text, content=_render(settings, text, mentioned), spoiler_text=spoiler_text,
            sensitive=sensitive_of(spoiler_text, sensitive), language=language, edited_at=now)
        await MediaAttachment.filter(status_id=status.id, id__not_in=draft.media_ids or [0]).using_db(conn).update(
            status_id=None)
        order = {media_id: position for position, media_id in enumerate(draft.media_ids)}
        for item in media:
            changes: dict[str, object] = {"status_id": status.id, "position": order[item.id]}
            description, focus = (media_descriptions or {}).get(item.id, (None, None))
            if description is not None:
                changes["description"] = description
            if focus is not None:
                changes["focus_x"], changes["focus_y"] = focus
            await MediaAttachment.filter(id=item.id).using_db(conn).update(**changes)
        await Mention.filter(status_id=status.id).using_db(conn).delete()
        for mentioned_account in mentioned.values():
            if mentioned_account.id != account.id:
                await Mention.create(status_id=status.id, account=mentioned_account, using_db=conn)
        await status.tags.clear(using_db=conn)
        tags = await _tags(text_format.find_hashtags(text), conn)
        if tags:
            await status.tags.add(*tags, using_db=conn)
        loaded = await with_relations(Status.filter(id=status.id)).using_db(conn).get()
        await StatusEdit.create(status=status, content=loaded.content, spoiler_text=loaded.spoiler_text,
                                sensitive=loaded.sensitive, media=[], using_db=conn)
        note = status_to_ap(loaded, urls, with_context=False)
        update = {"@context": OBJECT_CONTEXT, "id": f"{note['id']}#updates/{int(now.timestamp())}",
                  "type": "Update", "actor": note["attributedTo"], "to": note["to"], "cc": note["cc"],
                  "object": note}
        await enqueue_fanout(update, account, using_db=conn)
        boosters = await Status.filter(reblog_of_id=status.id, deleted_at=None, account__domain=None).using_db(
            conn).values_list("account_id", flat=True)
        for booster in set(boosters):
            await Notification.create(account_id=booster, from_account=account, type="update", status=status,
                                      using_db=conn)
    return loaded


async def delete_post(settings: Settings, account: Account, status_id: int) -> Status:
    """Delete a post of ``account`` and tell everyone who received it. Returns the post as it was."""
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
        # Boosts of it go too, and notifications about it (Mastodon's RemoveStatusService).
        await Status.filter(reblog_of_id=status.id).using_db(conn).update(deleted_at=datetime.now(UTC))
        await Notification.filter(status_id=status.id).using_db(conn).delete()
        await portfolio_store.post_deleted(settings, account, status.id, conn)  # a work leaves the portfolio
        await enqueue_fanout(activity, account, using_db=conn)
    return status

