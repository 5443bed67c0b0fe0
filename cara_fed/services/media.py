"""Uploads: the bytes go through the media pipeline (media/, in a worker thread: it is CPU-bound) and become
a MediaAttachment owned by the uploader, unattached until a post takes it. Nothing is stored half-way:
a refused file stores nothing, and files already written are removed if the row cannot be saved."""

from __future__ import annotations

import asyncio
import functools
from typing import Any

from PIL import Image

from media import Focus, LocalStorage, MediaError, MediaLimits, RenderSettings, process_upload
from media.pipeline import ProcessedMedia
from media.storage import MediaStorage

from cara_fed.errors import CaraError, NotFound, ValidationFailed
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, MediaAttachment, User
from cara_fed.settings import Settings

DESCRIPTION_LIMIT = 1500  # alt-text characters, as Mastodon (and as instance/configuration says)
CONTENT_TYPES = {"jpg": "image/jpeg", "png": "image/png", "gif": "image/gif", "webp": "image/webp",
                 "avif": "image/avif", "heic": "image/heic"}


class MediaRefused(CaraError):
    """A file the pipeline would not take; its status comes from the media error (415 or 422)."""

    def __init__(self, error: MediaError) -> None:
        super().__init__(f"Validation failed: {error.message}" if error.http_status == 422 else error.message)
        self.status = error.http_status


@functools.lru_cache(maxsize=8)
def storage_at(root: str) -> LocalStorage:
    return LocalStorage(root)


def media_storage(settings: Settings) -> MediaStorage:
    return storage_at(settings.media.root)


def content_type_of(storage_name: str) -> str:
    return CONTENT_TYPES.get(storage_name.rsplit(".", 1)[-1], "application/octet-stream")


# Decoding a 100 MP image takes some 300-400 MB: at most this many uploads are processed at once per
# process, the others wait their turn (a burst of uploads must not exhaust a small machine's memory).
PROCESSING_SLOTS = 2
_slots: dict[int, asyncio.Semaphore] = {}


def _processing_slot() -> asyncio.Semaphore:
    loop_id = id(asyncio.get_running_loop())
    if loop_id not in _slots:
        _slots[loop_id] = asyncio.Semaphore(PROCESSING_SLOTS)
    return _slots[loop_id]


async def run_pipeline(settings: Settings, data: bytes, *, artist_name: str, pixels_untouched: bool = False,
                       focus: Focus | None = None) -> ProcessedMedia:
    """The media pipeline, off the event loop and within the process's processing slots."""
    # Pillow warns from 89 MP and refuses from twice its limit; our own cap, checked from the header before
    # decoding, is the setting, so Pillow's guard is raised to it (never lowered) to stay quiet below it.
    Image.MAX_IMAGE_PIXELS = max(Image.MAX_IMAGE_PIXELS or 0, settings.media.max_pixels)
    async with _processing_slot():
        return await asyncio.to_thread(
            process_upload, data, limits=limits_of(settings), artist_name=artist_name,
            policy_url=LocalUrls(settings).ai_policy, storage=media_storage(settings),
            pixels_untouched=pixels_untouched, focus=focus,
            settings=RenderSettings(full_max_edge=settings.media.full_size_max_edge,
                                    keep_source=settings.media.keep_original_files))


def limits_of(settings: Settings) -> MediaLimits:
    return MediaLimits(max_bytes=settings.media.max_upload_bytes, max_pixels=settings.media.max_pixels,
                       max_animation_pixels=settings.media.max_animation_pixels)


def parse_focus(text: str | None) -> Focus | None:
    if text in (None, ""):
        return None
    try:
        return Focus.parse(str(text))
    except MediaError as exc:
        raise ValidationFailed(f"Validation failed: {exc.message}") from None


def check_description(description: str | None) -> str:
    description = description or ""
    if len(description) > DESCRIPTION_LIMIT:
        raise ValidationFailed(f"Validation failed: Description is too long (maximum is {DESCRIPTION_LIMIT} "
                               "characters)")
    return description


async def upload(settings: Settings, account: Account, data: bytes, *, description: str | None = None,
                 focus: str | None = None, pixels_untouched: bool | None = None) -> MediaAttachment:
    """Process and store an image for ``account``; ``pixels_untouched`` None means the artist's default."""
    alt = check_description(description)
    point = parse_focus(focus)
    if pixels_untouched is None:
        user = await User.filter(account_id=account.id).first()
        pixels_untouched = bool(user and user.pixels_untouched)
    storage = media_storage(settings)
    try:
        processed = await run_pipeline(settings, data, artist_name=account.display_name or account.username,
                                       pixels_untouched=pixels_untouched, focus=point)
    except MediaError as exc:
        raise MediaRefused(exc) from None
    files: dict[str, Any] = {
        "full": processed.full.webp.name, "full_federation": processed.full.federation.name,
        "preview": processed.preview.webp.name, "preview_federation": processed.preview.federation.name,
        "thumbnail": processed.thumbnail.webp.name, "thumbnail_federation": processed.thumbnail.federation.name,
    }
    if processed.untouched is not None:
        files["untouched"] = processed.untouched.name
    served = processed.untouched or processed.full.webp
    try:
        return await MediaAttachment.create(
            account=account, type="image", file_path=served.name, content_type=served.content_type,
            file_size=served.size, description=alt, blurhash=processed.blurhash,
            focus_x=processed.focus.x, focus_y=processed.focus.y, meta=processed.meta, files=files,
            pixels_untouched=processed.untouched is not None)
    except BaseException:
        await asyncio.to_thread(_delete_files, storage, processed.storage_names)
        raise


def _delete_files(storage: MediaStorage, names: tuple[str, ...] | list[str]) -> None:
    for name in names:
        try:
            storage.delete(name)
        except (OSError, ValueError):
            pass


async def own_media(account: Account, media_id: int) -> MediaAttachment:
    media = await MediaAttachment.filter(id=media_id, account_id=account.id).first()
    if media is None:
        raise NotFound("Record not found")
    return media


async def update(account: Account, media_id: int, *, description: str | None, focus: str | None) -> MediaAttachment:
    """Alt text and focal point of an upload not yet posted (posted ones change through the status edit,
    as Mastodon's PUT /api/v1/media/:id only finds unattached media)."""
    media = await own_media(account, media_id)
    if media.status_id is not None:
        raise NotFound("Record not found")
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = check_description(description)
    point = parse_focus(focus)
    if point is not None:
        changes["focus_x"], changes["focus_y"] = point.x, point.y
        meta = dict(media.meta) if isinstance(media.meta, dict) else {}
        meta["focus"] = point.as_dict()
        changes["meta"] = meta
    if changes:
        await MediaAttachment.filter(id=media.id).update(**changes)
    return await MediaAttachment.get(id=media.id)


async def delete_unattached(settings: Settings, account: Account, media_id: int) -> None:
    media = await own_media(account, media_id)
    if media.status_id is not None:
        raise ValidationFailed("Validation failed: media attached to a post cannot be deleted")
    await MediaAttachment.filter(id=media.id).delete()
    names = [n for n in (media.files or {}).values() if isinstance(n, str)]
    await asyncio.to_thread(_delete_files, media_storage(settings), names)


async def store_profile_image(settings: Settings, account: Account, data: bytes) -> str:
    """An avatar or header: processed like any upload (metadata rewritten, GPS gone, no-AI XMP); the
    1280 px JPEG/PNG copy is kept (every server and client reads those). Returns its storage name; the
    caller saves it on the account."""
    storage = media_storage(settings)
    try:
        processed = await run_pipeline(settings, data, artist_name=account.display_name or account.username)
    except MediaError as exc:
        raise MediaRefused(exc) from None
    keep = processed.preview.federation.name
    await asyncio.to_thread(_delete_files, storage, [n for n in processed.storage_names if n != keep])
    return keep


async def forget_files(settings: Settings, names: list[str]) -> None:
    """Remove stored files nobody points at any more (a replaced avatar, an upload whose save failed)."""
    if names:
        await asyncio.to_thread(_delete_files, media_storage(settings), names)
