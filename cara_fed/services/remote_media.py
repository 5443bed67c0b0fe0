"""Remote images are cached here: each attachment of a post that arrives is fetched (SSRF-guarded, size
capped) and goes through the media pipeline, so what our readers load comes from this server with every
no-AI header and the XMP reservation, and with its metadata (GPS included) rewritten. Remote JPEGs and PNGs
keep their exact pixels (pixels-untouched mode): another artist's image may carry Glaze or Nightshade,
which re-encoding would weaken. Clients get the cached copy as ``url`` and the original as ``remote_url``.

A file that cannot be had for good (404, 410, too large, not an image we take) is not an error: the
attachment keeps linking the original. Network trouble is retried for about an hour."""

from __future__ import annotations

import logging

from activitypub.fetch import FetchError, HTTPStatusError, TooLarge, fetch_bytes
from media import MediaError

from cara_fed.federation.context import Federation
from cara_fed.federation.domains import media_rejected
from cara_fed.federation.handlers.notes import REMOTE_MEDIA_CACHE_JOB
from cara_fed.jobs.registry import JobContext, RetryJobLater, RetryPolicy, job_kind
from cara_fed.models import MediaAttachment
from cara_fed.services.media import forget_files, run_pipeline

log = logging.getLogger(__name__)

CACHE_JOB = REMOTE_MEDIA_CACHE_JOB
# About an hour of retries: a remote image that cannot be had by then stays linked, not cached.
_POLICY = RetryPolicy(base_seconds=30.0, max_delay_seconds=900.0, max_attempts=8, give_up_after_seconds=3600.0)


@job_kind(CACHE_JOB, _POLICY)
async def cache_remote_media(ctx: JobContext) -> None:
    federation: Federation = ctx.services["federation"]
    settings = federation.settings
    media = await MediaAttachment.filter(id=ctx.payload["media_id"]).select_related("account").first()
    if media is None or media.files or not media.remote_url or media.type != "image":
        return
    if await media_rejected(media.account.domain, media.remote_url):
        return  # reject_media (or suspended): stays a link to the original, as Mastodon's skip_download?
    try:
        fetched = await fetch_bytes(federation.http, media.remote_url, policy=federation.policy,
                                    max_bytes=settings.media.max_upload_bytes, accept="image/*")
    except (TooLarge, HTTPStatusError) as exc:
        if isinstance(exc, HTTPStatusError) and (exc.status >= 500 or exc.status in (408, 429)):
            raise RetryJobLater(f"remote media: {exc}") from None
        log.info("remote media not cached", extra={"url": media.remote_url, "reason": str(exc)})
        return
    except FetchError as exc:
        raise RetryJobLater(f"remote media: {exc}") from None
    author = media.account
    try:
        processed = await run_pipeline(settings, fetched.body, pixels_untouched=True,
                                       artist_name=author.display_name or f"{author.username}@{author.domain}")
    except MediaError as exc:
        log.info("remote media not cached", extra={"url": media.remote_url, "reason": exc.message})
        return
    files = {"full": processed.full.webp.name, "full_federation": processed.full.federation.name,
             "preview": processed.preview.webp.name, "preview_federation": processed.preview.federation.name,
             "thumbnail": processed.thumbnail.webp.name,
             "thumbnail_federation": processed.thumbnail.federation.name}
    if processed.untouched is not None:
        files["untouched"] = processed.untouched.name
    served = processed.untouched or processed.full.webp
    meta = processed.meta
    meta["focus"] = {"x": media.focus_x, "y": media.focus_y}
    updated = await MediaAttachment.filter(id=media.id, files__isnull=True).update(
        files=files, file_path=served.name, file_size=served.size, meta=meta,
        blurhash=media.blurhash or processed.blurhash)
    if not updated:  # cached meanwhile by another run of this job: keep theirs
        await forget_files(settings, list(processed.storage_names))
