"""The entry point: an upload's bytes in, stored derivatives and their description out.

``process_upload`` is CPU-bound and synchronous (10-60 ms of CPU per source megapixel, bench/media.py):
the app runs it off the event loop, ``await asyncio.to_thread(process_upload, data, ...)``. It is safe to
run in several threads at once: it keeps no state between calls and changes no process-wide setting
(Pillow's MAX_IMAGE_PIXELS, LOAD_TRUNCATED_IMAGES and warning filters are only read; the HEIF opener is
registered once at import). Pillow releases the GIL while it decodes, resamples and encodes, so threads
do overlap; a still image also uses ``RenderSettings.workers - 1`` short-lived threads of its own (one by
default), created and joined within the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .encode import EncodedFile
from .errors import MediaError
from .exif import read_exif_text, read_orientation
from .formats import ImageFormat
from .limits import MediaLimits
from .meta import Focus, mastodon_meta
from .probe import probe_and_open
from .process import Rendered, RenderSettings, Rendition, render
from .storage import MediaStorage
from .untouched import untouched_copy
from .xmp import DEFAULT_DATA_MINING, RightsNotice


@dataclass(frozen=True)
class StoredFile:
    """One stored file: its storage name, how to serve it, and its pixel size."""

    name: str
    content_type: str
    size: int
    width: int
    height: int


@dataclass(frozen=True)
class StoredRendition:
    """One size in two encodings: ``webp`` for our pages and clients, ``federation`` (JPEG; PNG when
    transparent; GIF for the full-size copy of an animation) for ActivityPub attachments. A still image's
    full size is one file (media.process), named in both."""

    webp: StoredFile
    federation: StoredFile


@dataclass(frozen=True)
class ProcessedMedia:
    """The result of an accepted upload. ``width``/``height`` are the source's, upright.

    ``untouched`` is the pixels-untouched copy when it was asked for and the source is a JPEG or PNG
    (None otherwise, e.g. a WebP uploaded in that mode: its derivatives are re-encoded as usual). When
    present, it is the file to serve and federate as the image itself, since resizing would alter the
    protected pixels; ``meta["original"]`` then describes it."""

    source_format: ImageFormat
    width: int
    height: int
    animated: bool
    has_alpha: bool
    full: StoredRendition
    preview: StoredRendition
    thumbnail: StoredRendition
    untouched: StoredFile | None
    blurhash: str
    focus: Focus

    @property
    def source_content_type(self) -> str:
        return self.source_format.mime

    @property
    def meta(self) -> dict[str, Any]:
        """Mastodon's ``meta``: "original" is the file served as the image (untouched copy or full-size
        copy), "small" the preview."""
        original = self.untouched or self.full.webp
        return mastodon_meta((original.width, original.height),
                             (self.preview.webp.width, self.preview.webp.height), self.focus)

    @property
    def storage_names(self) -> tuple[str, ...]:
        """Every file stored for this upload (to delete them all with the attachment)."""
        names = [f.name for r in (self.full, self.preview, self.thumbnail) for f in (r.webp, r.federation)]
        if self.untouched is not None:
            names.append(self.untouched.name)
        return tuple(dict.fromkeys(names))  # a file with two roles is listed once


def process_upload(data: bytes, *, limits: MediaLimits, artist_name: str, policy_url: str,
                   storage: MediaStorage, pixels_untouched: bool = False, focus: Focus | None = None,
                   settings: RenderSettings | None = None, data_mining: str = DEFAULT_DATA_MINING,
                   year: int | None = None) -> ProcessedMedia:
    """Probe, check, decode and render ``data``, then store every derivative in ``storage``.

    ``artist_name`` goes into the XMP (dc:creator, dc:rights) and, unless the file names its own, EXIF
    Artist/Copyright; ``policy_url`` is the instance's AI policy page (xmpRights:WebStatement);
    ``data_mining`` the PLUS value (media.xmp.DATA_MINING_VALUES); ``year`` the copyright year (default:
    this year, UTC). Raises a MediaError subclass (see media.errors for the HTTP status of each) and then
    nothing is stored; an error from ``storage`` removes the files already saved and propagates.
    """
    notice = RightsNotice.for_artist(artist_name, policy_url, year or datetime.now(timezone.utc).year,
                                     data_mining=data_mining)
    rendered, untouched, source_format = render_upload(
        data, limits=limits, notice=notice, pixels_untouched=pixels_untouched,
        settings=settings or RenderSettings())
    saved: list[str] = []
    stored: dict[int, StoredFile] = {}

    def store(encoded: EncodedFile) -> StoredFile:
        """Each file once, however many roles it has (a kept upload is full size, federation copy and,
        when asked for, the untouched copy)."""
        if id(encoded) in stored:
            return stored[id(encoded)]
        name = storage.save(encoded.data, encoded.format.extension)
        saved.append(name)
        stored[id(encoded)] = StoredFile(name, encoded.content_type, len(encoded.data), encoded.width,
                                         encoded.height)
        return stored[id(encoded)]

    def store_rendition(rendition: Rendition) -> StoredRendition:
        return StoredRendition(store(rendition.webp), store(rendition.federation))

    try:
        return ProcessedMedia(
            source_format=source_format,
            width=rendered.width,
            height=rendered.height,
            animated=rendered.animated,
            has_alpha=rendered.has_alpha,
            full=store_rendition(rendered.full),
            preview=store_rendition(rendered.preview),
            thumbnail=store_rendition(rendered.thumbnail),
            untouched=store(untouched) if untouched is not None else None,
            blurhash=rendered.blurhash,
            focus=focus or Focus(),
        )
    except BaseException:
        for name in saved:
            try:
                storage.delete(name)
            except Exception:  # noqa: BLE001 - the original error is the one to report
                pass
        raise


def render_upload(data: bytes, *, limits: MediaLimits, notice: RightsNotice, pixels_untouched: bool,
                  settings: RenderSettings) -> tuple[Rendered, EncodedFile | None, ImageFormat]:
    """Everything :func:`process_upload` computes, in memory, without storing anything."""
    image, probed = probe_and_open(data, limits)
    with image:
        orientation = read_orientation(image)
        artist, copyright_text = read_exif_text(image)
        rendered = render(image, probed, notice, settings, source=data)
    untouched = None
    if pixels_untouched and rendered.kept:
        untouched = rendered.full.webp  # the kept upload already is the untouched copy, byte for byte
    elif pixels_untouched:
        untouched = untouched_copy(data, probed.format, notice, width=rendered.width, height=rendered.height,
                                   artist=artist, copyright_text=copyright_text, orientation=orientation)
    return rendered, untouched, probed.format


__all__ = ["MediaError", "ProcessedMedia", "StoredFile", "StoredRendition", "process_upload",
           "render_upload"]
