"""Statuses as ActivityStreams: ``Note`` objects, their ``Create``, and ``Tombstone``s (DESIGN.md section 6).

The status passed in must have its relations loaded (services.statuses loads them in a fixed number of
queries): account, in_reply_to (+account), media_attachments, mentions (+account), tags, and work (a
portfolio work adds its title, medium, series and licence: federation/portfolio.py).
"""

from __future__ import annotations

from html import escape
from typing import Any

from cara_fed.federation.contexts import AS_CONTEXT, OBJECT_CONTEXT, PUBLIC, X_ROBOTS_TAG
from cara_fed.federation.convert import as_datetime
from cara_fed.federation.portfolio import apply_work, loaded_work
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, MediaAttachment, Status

# Mastodon shows the first four attachments; later ones are linked from the content so nothing is lost.
MASTODON_ATTACHMENT_LIMIT = 4


def actor_uri(account: Account, urls: LocalUrls) -> str:
    return account.uri if account.uri else urls.actor(account.username)


def status_uri(status: Status, urls: LocalUrls) -> str:
    return status.uri if status.uri else urls.status(status.account.username, status.id)


def audience(status: Status, urls: LocalUrls) -> tuple[list[str], list[str]]:
    """(to, cc) by visibility, as Mastodon addresses them (app/lib/activitypub/tag_manager.rb)."""
    followers = urls.followers(status.account.username)
    mentioned = [actor_uri(m.account, urls) for m in status.mentions]
    if status.visibility == "public":
        return [PUBLIC], [followers, *mentioned]
    if status.visibility == "unlisted":
        return [followers], [PUBLIC, *mentioned]
    if status.visibility == "private":
        return [followers], mentioned
    return mentioned, []  # direct


_TYPES_BY_EXTENSION = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp"}


def federated_file(media: MediaAttachment, urls: LocalUrls) -> tuple[str, str | None]:
    """(url, mediaType) of the copy other servers get: the pixels-untouched original when there is one,
    else the full-size JPEG/PNG copy (Pixelfed drops WebP: DESIGN.md section 6)."""
    if media.remote_url and not media.file_path:
        return media.remote_url, media.content_type
    files = media.files if isinstance(media.files, dict) else {}
    name = files.get("untouched") or files.get("full_federation") or media.file_path or ""
    return urls.media(name), _TYPES_BY_EXTENSION.get(name.rsplit(".", 1)[-1], media.content_type)


def media_to_ap(media: MediaAttachment, urls: LocalUrls) -> dict[str, Any]:
    original = media.meta.get("original", {}) if isinstance(media.meta, dict) else {}
    url, media_type = federated_file(media, urls)
    document: dict[str, Any] = {
        "type": "Image" if media.type == "image" else "Document",
        "mediaType": media_type,
        "url": url,
        "name": media.description,  # alt text: Mastodon reads `name`, Pixelfed and others `summary`
        "summary": media.description,
        "focalPoint": [media.focus_x, media.focus_y],
        # The reservation travels with each image as well as with its post (issue 5 point 9; FEP-5e53, and
        # the licence link as Epicyon attaches one, noai.md section 7).
        "license": urls.ai_policy,
        "xRobotsTag": X_ROBOTS_TAG,
    }
    if media.blurhash:
        document["blurhash"] = media.blurhash
    for key in ("width", "height"):
        if isinstance(original.get(key), int):
            document[key] = original[key]
    return document


def status_to_ap(status: Status, urls: LocalUrls, *, with_context: bool = True) -> dict[str, Any]:
    """A status as a ``Note`` with its ordered attachments, mentions, hashtags and the AI reservation."""
    to, cc = audience(status, urls)
    media = sorted(status.media_attachments, key=lambda m: (m.position, m.id))
    attachments = [media_to_ap(m, urls) for m in media]
    note: dict[str, Any] = {
        "id": status_uri(status, urls),
        "type": "Note",
        "summary": status.spoiler_text or None,
        "inReplyTo": status_uri(status.in_reply_to, urls) if status.in_reply_to else None,
        "published": as_datetime(status.created_at),
        "url": status.url or urls.status_page(status.account.username, status.id),
        "attributedTo": actor_uri(status.account, urls),
        "to": to,
        "cc": cc,
        "sensitive": status.sensitive,
        "content": status.content + _links_beyond_limit(attachments),
        "attachment": attachments,
        "tag": [
            *({"type": "Mention", "href": actor_uri(m.account, urls), "name": _mention_name(m.account, urls)}
              for m in status.mentions),
            *({"type": "Hashtag", "href": urls.tag(t.name), "name": f"#{t.name}"} for t in status.tags),
        ],
        "license": urls.ai_policy,
        "xRobotsTag": X_ROBOTS_TAG,
    }
    work = loaded_work(status)
    if work is not None and status.account.domain is None:  # a work of ours: title, medium, licence...
        apply_work(note, work, status.account.username, urls)
    if status.language:
        note["contentMap"] = {status.language: note["content"]}
    if status.edited_at:
        note["updated"] = as_datetime(status.edited_at)
    return {"@context": OBJECT_CONTEXT, **note} if with_context else note


def create_activity(status: Status, urls: LocalUrls) -> dict[str, Any]:
    note = status_to_ap(status, urls, with_context=False)
    return {
        "@context": OBJECT_CONTEXT,
        "id": urls.status_activity(status.account.username, status.id),
        "type": "Create",
        "actor": note["attributedTo"],
        "published": note["published"],
        "to": note["to"],
        "cc": note["cc"],
        "object": note,
    }


def announce_activity(boost: Status, urls: LocalUrls) -> dict[str, Any]:
    """A boost in an outbox: ``Announce`` of the original's id."""
    to, cc = audience(boost, urls)
    return {
        "@context": AS_CONTEXT,
        "id": urls.status_activity(boost.account.username, boost.id),
        "type": "Announce",
        "actor": actor_uri(boost.account, urls),
        "published": as_datetime(boost.created_at),
        "to": to,
        "cc": cc,
        "object": status_uri(boost.reblog_of, urls) if boost.reblog_of else None,
    }


def tombstone(uri: str) -> dict[str, Any]:
    return {"@context": AS_CONTEXT, "id": uri, "type": "Tombstone"}


def _mention_name(account: Account, urls: LocalUrls) -> str:
    host = account.domain or urls.base.split("://", 1)[1]
    return f"@{account.username}@{host}"


def _links_beyond_limit(attachments: list[dict[str, Any]]) -> str:
    extra = attachments[MASTODON_ATTACHMENT_LIMIT:]
    if not extra:
        return ""
    links = " ".join(f'<a href="{escape(a["url"])}">{escape(a["name"] or f"image {n}")}</a>'
                     for n, a in enumerate(extra, start=MASTODON_ATTACHMENT_LIMIT + 1))
    return f"<p>More images: {links}</p>"
