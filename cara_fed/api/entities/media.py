"""MediaAttachment entity (docs: entities/MediaAttachment)."""

from __future__ import annotations

from typing import Any

from cara_fed.federation.urls import LocalUrls
from cara_fed.models import MediaAttachment


def media_urls(media: MediaAttachment, urls: LocalUrls) -> tuple[str | None, str | None]:
    """(url, preview_url): the pixels-untouched original or our full-size copy, and the preview; a remote
    file not cached here is linked."""
    files = media.files if isinstance(media.files, dict) else {}
    full = files.get("untouched") or files.get("full") or media.file_path
    preview = files.get("preview") or full
    if full:
        return urls.media(full), urls.media(preview) if preview else None
    return media.remote_url, media.remote_url


def media_to_api(media: MediaAttachment, urls: LocalUrls) -> dict[str, Any]:
    url, preview_url = media_urls(media, urls)
    meta: dict[str, Any] = dict(media.meta) if isinstance(media.meta, dict) else {}
    meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    return {
        "id": str(media.id),
        "type": media.type if media.type in ("image", "gifv", "video", "audio") else "unknown",
        "url": url,
        "preview_url": preview_url,
        "remote_url": media.remote_url,
        "preview_remote_url": None,
        "text_url": None,
        "meta": meta,
        "description": media.description or None,
        "blurhash": media.blurhash,
    }
