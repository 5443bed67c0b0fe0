"""Create, Delete, Like, Announce and Undo: posts and interactions from other servers.

Ownership rules (security.md A): a Create's object shares its actor's origin and is attributed to it (a
forwarded one is re-fetched from its origin); Delete and Undo act only on the sender's own rows. Out of
order converges (security.md item 39): a Delete of an unknown post leaves a tombstone row (the post's uri,
deleted) so a late Create finds it and stays deleted.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError
from activitypub.parsing import PUBLIC_ADDRESSES, as_list, ref, types
from cara_fed.federation.actors import ActorUnavailable
from cara_fed.federation.domains import is_suspended
from cara_fed.federation import note_rows
from cara_fed.federation.inbox import Incoming, handles
from cara_fed.federation.remote_actors import first_url, origin, plain_text
from cara_fed.federation.urls import LocalUrls
from cara_fed.ids import snowflake_id
from cara_fed.jobs.queue import enqueue
from cara_fed.models import Account, Favourite, MediaAttachment, Notification, Status
from cara_fed.sanitize import sanitize_html

# Remote images are fetched and cached by this job (its handler: cara_fed/services/remote_media.py).
REMOTE_MEDIA_CACHE_JOB = "media.cache_remote"

# What stored identifiers may look like (Mastodon: Tag::HASHTAG_NAME_RE, BCP 47 tags, the blurhash alphabet).
HASHTAG_RE = re.compile(r"[^\W_][\w]{0,254}", re.UNICODE)
LANGUAGE_RE = re.compile(r"[A-Za-z]{2,8}(-[A-Za-z0-9]{1,8}){0,4}")
BLURHASH_RE = re.compile(r"[0-9A-Za-z#$%*+,\-.:;=?@\[\]^_{|}~]{6,64}")
NOTE_TYPES = frozenset({"Note", "Question", "Article", "Page", "Image", "Video"})
MAX_ATTACHMENTS = 16
MAX_TAGS = 64
MAX_CONTENT_CHARS = 100_000


async def local_status(incoming: Incoming, uri: str | None) -> Status | None:
    """A status of ours named by its ActivityPub id (``/users/NAME/statuses/ID``)."""
    found = incoming.federation.urls.status_from_url(uri or "")
    if found is None:
        return None
    username, status_id = found
    return await Status.filter(id=status_id, account__username=username, account__domain=None,
                               deleted_at=None).select_related("account").first()


async def known_status(incoming: Incoming, uri: str | None) -> Status | None:
    return await local_status(incoming, uri) or (
        await Status.filter(uri=uri, deleted_at=None).select_related("account").first() if uri else None)


def visibility_of(document: dict[str, Any], author: Account) -> str:
    to = {ref(v) for v in as_list(document.get("to"))}
    cc = {ref(v) for v in as_list(document.get("cc"))}
    if to & PUBLIC_ADDRESSES:
        return "public"
    if cc & PUBLIC_ADDRESSES:
        return "unlisted"
    if author.followers_url and author.followers_url in to | cc:
        return "private"
    return "direct"


async def object_from_origin(incoming: Incoming, value: Any) -> dict[str, Any] | None:
    """The object of a Create/Announce as its author's server has it. Embedded copies are trusted only
    when the sender is the author and shares its origin; anything else is re-fetched (security.md A2, A5)."""
    object_id = ref(value)
    if object_id is None:
        return None
    actor_uri = incoming.actor.uri or ""
    if isinstance(value, dict) and ref(value.get("attributedTo")) == actor_uri and origin(object_id) == origin(
            actor_uri):
        return value
    try:
        document = await incoming.federation.actors.fetch_document(object_id)
    except (FetchError, ActorUnavailable):
        return None
    author = ref(document.get("attributedTo"))
    return document if author and origin(author) == origin(object_id) else None


async def store_note(incoming: Incoming, document: dict[str, Any]) -> Status | None:
    """Store a remote post (idempotent: an existing or tombstoned uri is left alone); the stored (or already
    stored) status, with its account."""
    status_id = await store_note_id(incoming, document)
    return None if status_id is None else await Status.filter(id=status_id).select_related("account").first()


async def store_note_id(incoming: Incoming, document: dict[str, Any]) -> int | None:
    """store_note without reading the status back (a Create needs nothing of it): the id of the new or the
    already stored live status, or None."""
    uri = ref(document)
    if uri is None or len(uri) > 2048 or not types(document) & NOTE_TYPES:
        return None
    urls = incoming.federation.urls
    if urls.is_local(uri):
        return None
    author_uri = ref(document.get("attributedTo"))
    if author_uri is not None and author_uri == incoming.actor.uri:
        author = incoming.actor  # the usual case: a stored uri shows up as a conflict of the insert below
    else:
        settled, found = await _settle_existing(uri, author_uri)
        if settled:
            return found
        if author_uri is None or await is_suspended(author_uri):
            return None  # (a post of a refused domain, boosted or quoted from elsewhere: not fetched, not kept)
        author = await incoming.federation.actors.get_actor(author_uri)
    parent_uri = ref(document.get("inReplyTo"))
    parent = await note_rows.reply_target(urls.status_from_url(parent_uri), parent_uri) if parent_uri else None
    content_map = document.get("contentMap") if isinstance(document.get("contentMap"), dict) else {}
    content = document.get("content") if isinstance(document.get("content"), str) else ""
    row = note_rows.RemoteStatus(
        account_id=author.id, uri=uri, url=_fits(first_url(document.get("url"))) or uri,
        content=sanitize_html(content[:MAX_CONTENT_CHARS]), spoiler_text=plain_text(document.get("summary"), 500),
        sensitive=document.get("sensitive") is True, visibility=visibility_of(document, author),
        language=next((k for k in content_map if isinstance(k, str) and LANGUAGE_RE.fullmatch(k) and len(k) <= 16),
                      None),
        in_reply_to_id=parent[0] if parent else None, in_reply_to_account_id=parent[1] if parent else None)
    mentioned, hashtags = _tags(urls, document)
    attachments = [a for a in as_list(document.get("attachment")) if isinstance(a, dict)][:MAX_ATTACHMENTS]
    for _ in range(2):  # a second time after voiding a placeholder (or losing a race with a Delete)
        status_id = snowflake_id()
        if attachments:  # their rows and cache jobs go through the ORM and the queue, in the same transaction
            async with in_transaction() as conn:
                done = await note_rows.write(
                    conn, note_rows.status_statements(conn, status_id, row, mentioned, hashtags))
                if done[0]:
                    for media_id in await _store_attachments(status_id, author, attachments, conn):
                        await enqueue(REMOTE_MEDIA_CACHE_JOB, {"media_id": media_id},  # services/remote_media.py
                                      unique_key=f"{REMOTE_MEDIA_CACHE_JOB}:{media_id}", using_db=conn)
        else:
            conn = Status._meta.db
            done = await note_rows.write(
                conn, note_rows.status_statements(conn, status_id, row, mentioned, hashtags))
        if done[0]:
            return status_id
        settled, found = await _settle_existing(uri, author_uri)  # the uri is stored already
        if settled:
            return found
    return None


async def _settle_existing(uri: str, author_uri: str | None) -> tuple[bool, int | None]:
    """What a stored row with this uri decides: (True, its id) when it is live (a repeat: nothing to do);
    (True, None) when its author deleted it before it arrived (it stays deleted); (False, None) when there is
    no such row, or it was a Delete-before-Create placeholder left by another account of the author's
    server, voided here since nobody deletes another account's post (on_delete): store it then."""
    existing = await note_rows.existing_status(uri)
    if existing is None:
        return False, None
    if existing["deleted_at"] is None:
        return True, int(existing["id"])
    if author_uri is None or existing["author_uri"] == author_uri:
        return True, None
    await Status.filter(id=existing["id"], deleted_at__not_isnull=True).delete()
    return False, None


def _fits(url: str | None, limit: int = 2048) -> str | None:
    """A URL that fits its column; a longer one is dropped (cutting a URL would make it wrong)."""
    return url if url is not None and len(url) <= limit else None


async def _store_attachments(status_id: int, author: Account, attachments: list[dict[str, Any]],
                             conn: BaseDBAsyncClient) -> list[int]:
    """The attachments as rows (the ids of the images, for the cache job)."""
    images: list[int] = []
    for position, item in enumerate(attachments):
        url = _fits(first_url(item.get("url")))
        if url is None:
            continue  # no usable (or an absurdly long) URL: skip this attachment, keep the post
        media_type = item["mediaType"][:64] if isinstance(item.get("mediaType"), str) else None
        focus = item.get("focalPoint") if isinstance(item.get("focalPoint"), list) else [0, 0]
        focus_x, focus_y = ([float(v) if isinstance(v, (int, float)) else 0.0 for v in focus] + [0.0, 0.0])[:2]
        size = {k: item[k] for k in ("width", "height") if isinstance(item.get(k), int)}
        row = await MediaAttachment.create(
            account=author, status_id=status_id, position=position, remote_url=url, content_type=media_type,
            type="image" if (media_type or "").startswith("image/") or "Image" in types(item) else "unknown",
            description=plain_text(item.get("name") or item.get("summary"), 5000),
            blurhash=item["blurhash"] if isinstance(item.get("blurhash"), str)
            and BLURHASH_RE.fullmatch(item["blurhash"]) else None,
            focus_x=max(-1.0, min(1.0, focus_x)), focus_y=max(-1.0, min(1.0, focus_y)),
            meta={"original": size} if size else {}, using_db=conn)
        if row.type == "image":
            images.append(row.id)
    return images


def _tags(urls: LocalUrls, document: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(local usernames mentioned, hashtag names), each distinct and in order, from the first MAX_TAGS tags."""
    mentioned: dict[str, None] = {}
    hashtags: dict[str, None] = {}
    for item in [t for t in as_list(document.get("tag")) if isinstance(t, dict)][:MAX_TAGS]:
        item_types = types(item)
        if "Mention" in item_types:
            username = urls.username_from_url(ref(item.get("href")) or "")
            if username:
                mentioned[username] = None
        elif "Hashtag" in item_types and isinstance(item.get("name"), str):
            name = item["name"].lstrip("#").lower()
            if HASHTAG_RE.fullmatch(name):
                hashtags[name] = None
    return list(mentioned), list(hashtags)


@handles("Create")
async def on_create(incoming: Incoming) -> None:
    document = await object_from_origin(incoming, incoming.activity.get("object"))
    if document is not None:
        await store_note_id(incoming, document)


@handles("Delete")
async def on_delete(incoming: Incoming) -> None:
    actor = incoming.actor
    target = ref(incoming.activity.get("object"))
    if target is None:
        return
    if target == actor.uri:  # the actor deleted itself: everything of theirs goes (rows cascade)
        await actor.delete()
        return
    if origin(target) != origin(actor.uri or ""):
        return  # nobody deletes another server's objects
    now = datetime.now(UTC)
    updated = await Status.filter(uri=target, account_id=actor.id).update(deleted_at=now, content="", text="")
    if updated == 0 and not await Status.exists(uri=target):
        # Delete before Create: remember the uri as deleted, so the Create that arrives later is ignored.
        await Status.create(account=actor, uri=target, local=False, deleted_at=now, visibility="direct")


@handles("Like")
async def on_like(incoming: Incoming) -> None:
    status = await local_status(incoming, ref(incoming.activity.get("object")))
    if status is None:
        return
    like_id = ref(incoming.activity)
    async with in_transaction() as conn:
        _, created = await Favourite.get_or_create(account=incoming.actor, status=status,
                                                   defaults={"uri": like_id}, using_db=conn)
        if created:
            await Notification.create(account=status.account, from_account=incoming.actor, type="favourite",
                                      status=status, using_db=conn)


@handles("Announce")
async def on_announce(incoming: Incoming) -> None:
    activity, actor = incoming.activity, incoming.actor
    boost_uri = ref(activity)
    if boost_uri is None or origin(boost_uri) != origin(actor.uri or "") or await Status.exists(uri=boost_uri):
        return  # a boost id on another server's origin would squat that server's ids
    target_uri = ref(activity.get("object"))
    original = await known_status(incoming, target_uri)
    if original is None:
        document = await object_from_origin(incoming, target_uri)  # never the embedded copy (A5)
        original = await store_note(incoming, document) if document else None
    if original is None or original.visibility not in ("public", "unlisted"):
        return
    async with in_transaction() as conn:
        await Status.create(account=actor, uri=boost_uri, local=False, reblog_of=original,
                            visibility=visibility_of(activity, actor), using_db=conn)
        if original.local:
            await Notification.create(account_id=original.account_id, from_account=actor, type="reblog",
                                      status=original, using_db=conn)
