"""Derivatives of an accepted image: the full-size copy, and a preview and a thumbnail each as WebP plus a
JPEG or PNG copy for federation (Pixelfed drops WebP attachments), and the blurhash.

The full-size copy is one file, in a format every reader takes: the upload itself with rewritten metadata
when it is an upright JPEG or PNG within the size cap (:mod:`media.kept`), else a re-encoded JPEG (PNG when
transparent). The preview and thumbnail, fetched on every timeline and page view, are where WebP's smaller
files pay; a full-size WebP would cost more CPU than everything else together (bench/media.py) for a copy
that is rarely opened.

Order of work, chosen so each expensive step runs on the fewest pixels:
1. JPEG ``draft()``: libjpeg decodes straight to 1/2, 1/4 or 1/8 scale when the largest copy to make is that
   much smaller (Pillow's JpegImagePlugin.draft; never below the size asked for): the preview when the
   full-size copy is kept, else the full-size copy.
2. At most one big resample, from the source to the full-size copy, in the file's own orientation.
3. Colour conversion (CMYK, grey -> RGB through their ICC profile) and EXIF orientation on that copy.
4. The preview from it, the thumbnail from the preview, the blurhash from the thumbnail.
Metadata is rebuilt, never copied: :mod:`media.exif` (allow-list) and :mod:`media.xmp` (no-AI packet).
Animations go through :mod:`media.animation`.
"""

from __future__ import annotations

from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace

from PIL import Image

from .blur import blurhash_of
from .colour import resizable, to_rgb, without_opaque_alpha
from .encode import EncodedFile, EncodeSettings, Metadata, encode_still
from .errors import InvalidMedia
from .exif import build_exif, read_exif_text, read_orientation
from .formats import ImageFormat
from .geometry import fit, make_upright, shrink, shrink_split, stored_size, upright_size, without_info
from .kept import kept_full_size
from .probe import PILLOW_ERRORS, ProbeResult
from .xmp import RightsNotice, build_xmp


SMALL_REDUCING_GAP = 1.5


@dataclass(frozen=True)
class RenderSettings:
    """Sizes are long edges in pixels.

    ``full_resample`` is the filter of the one big resample (source -> full-size copy, usually a 1-2x
    reduction, the costliest step after encoding). Measured on bench/media.py's 24 MP source against a
    Lanczos resize: Hamming 49 dB PSNR at 45% of Lanczos' time, bicubic 54 dB at 70%, while the WebP
    encode that follows is 40 dB from its input - the filter's difference is far below what the codec
    changes, so Hamming. The smaller copies use Lanczos after a box ``reduce()`` that leaves a last step
    of 1.5x or more (``SMALL_REDUCING_GAP``; 50 dB against a plain Lanczos resize, at 45% of its time).
    ``workers`` is how many threads one upload may use for still images (2:
    the big resample in two halves, then the full-size encode beside the preview and thumbnail); 1 keeps
    it all in the calling thread. ``keep_source``: an upright JPEG or PNG within ``full_max_edge`` is its
    own full-size copy (media.kept); False re-encodes every full-size copy."""

    full_max_edge: int = 8192
    preview_edge: int = 1280
    thumbnail_edge: int = 400
    full_resample: Image.Resampling = Image.Resampling.HAMMING
    workers: int = 2
    keep_source: bool = True
    encode: EncodeSettings = field(default_factory=EncodeSettings)

    def __post_init__(self) -> None:
        if min(self.full_max_edge, self.preview_edge, self.thumbnail_edge) < 16:
            raise ValueError("RenderSettings: every long edge must be at least 16 pixels")
        if self.workers < 1:
            raise ValueError("RenderSettings.workers must be at least 1")


@dataclass(frozen=True)
class Rendition:
    """One size in its two encodings: ``webp`` for our own pages and clients, ``federation`` (JPEG, PNG
    for transparent images, GIF for animations) for other servers. A still image's full size is one file
    (JPEG or PNG), the same object in both fields."""

    webp: EncodedFile
    federation: EncodedFile

    @property
    def width(self) -> int:
        return self.webp.width

    @property
    def height(self) -> int:
        return self.webp.height


@dataclass(frozen=True)
class Rendered:
    """Everything computed from the pixels. ``width``/``height`` are the upright source's."""

    full: Rendition
    preview: Rendition
    thumbnail: Rendition
    blurhash: str
    width: int
    height: int
    animated: bool
    has_alpha: bool
    kept: bool = False  # the full-size copy is the upload itself, metadata rewritten (media.kept)


def render(image: Image.Image, probed: ProbeResult, notice: RightsNotice,
           settings: RenderSettings, *, source: bytes | None = None) -> Rendered:
    """All derivatives of an opened (not yet decoded) ``image``; ``source`` is the upload's bytes, which
    may be kept as the full-size copy. Raises InvalidMedia when decoding fails (truncated or corrupt data:
    a kept file is still decoded whole, for its preview)."""
    orientation = read_orientation(image)
    artist, copyright_text = read_exif_text(image)
    exif = build_exif(notice, artist=artist, copyright_text=copyright_text).tobytes()
    xmp = build_xmp(notice)
    if probed.animated and probed.durations:
        from .animation import render_animation  # imported here: animation imports this module

        return render_animation(image, probed, exif, xmp, settings)
    kept = None
    if source is not None and settings.keep_source:
        kept = kept_full_size(source, image, probed, orientation=orientation, max_edge=settings.full_max_edge,
                              notice=notice, artist=artist, copyright_text=copyright_text)
    try:
        if kept is not None:
            return _render_kept(image, probed, kept, exif, xmp, settings)
        return _render_still(image, probed, orientation, exif, xmp, settings)
    except PILLOW_ERRORS as exc:
        raise InvalidMedia(f"damaged or truncated {probed.format.pillow} image") from exc


def _render_kept(image: Image.Image, probed: ProbeResult, kept: EncodedFile, exif: bytes, xmp: bytes,
                 settings: RenderSettings) -> Rendered:
    """The upload is its own full-size copy (upright, so stored size == upright size): only the preview
    and thumbnail are made, from a JPEG decoded at the smallest scale that still covers the preview."""
    width, height = image.size
    preview_size = fit((width, height), settings.preview_edge)
    if probed.format is ImageFormat.JPEG:
        image.draft(None, preview_size)
    icc = image.info.get("icc_profile") or None
    image.load()  # OSError here for a truncated file, as in _render_still
    decoded, icc = to_rgb(resizable(image), icc)
    decoded = without_info(without_opaque_alpha(decoded))
    rendered = derive(decoded, Metadata(icc, exif, xmp), settings, width=width, height=height, animated=False,
                      full_rendition=Rendition(webp=kept, federation=kept), preview_size=preview_size)
    return replace(rendered, kept=True)


def _render_still(image: Image.Image, probed: ProbeResult, orientation: int, exif: bytes, xmp: bytes,
                  settings: RenderSettings) -> Rendered:
    upright = upright_size(image.size, orientation)
    full_size = stored_size(fit(upright, settings.full_max_edge), orientation)
    if probed.format is ImageFormat.JPEG:
        image.draft(None, full_size)
    icc = image.info.get("icc_profile") or None
    image.load()  # OSError here for a truncated file (LOAD_TRUNCATED_IMAGES stays False)
    workers = ThreadPoolExecutor(settings.workers - 1, thread_name_prefix="media") if settings.workers > 1 \
        else nullcontext(None)
    with workers as pool:  # per call: nothing is shared between uploads
        full = shrink_split(resizable(image), full_size, settings.full_resample, pool)
        full, icc = to_rgb(full, icc)
        full = without_info(without_opaque_alpha(make_upright(full, orientation)))
        meta = Metadata(icc, exif, xmp)
        return derive(full, meta, settings, width=upright[0], height=upright[1], animated=False, pool=pool)


def derive(full: Image.Image, meta: Metadata, settings: RenderSettings, *, width: int, height: int,
           animated: bool, full_rendition: Rendition | None = None, pool: Executor | None = None,
           preview_size: tuple[int, int] | None = None) -> Rendered:
    """Preview, thumbnail and blurhash from the upright RGB(A) ``full``; the full-size copy is encoded
    from it too unless given (a kept upload, or an animation's own). ``preview_size`` defaults to ``full``
    fitted to the preview edge (given when ``full`` is a reduced decode of a kept upload).

    With a ``pool``, the full-size JPEG/PNG (the longest encode) runs in its thread while this one makes
    the smaller copies. It encodes another Image object over the same pixels: ``Image.save`` stores its
    options on the image object (``encoderinfo``), so two saves of one object at once would mix them up,
    while resizing and copying only read it (no 30-45 MB copy: encoders only read the pixels)."""
    encode = settings.encode
    pending: Future[EncodedFile] | None = None
    if full_rendition is None and pool is not None:
        pending = pool.submit(encode_still, same_pixels(full), _federation_format(full), meta, encode)
    preview = shrink(full, preview_size or fit(full.size, settings.preview_edge), Image.Resampling.LANCZOS,
                     SMALL_REDUCING_GAP)
    thumbnail = shrink(preview, fit(preview.size, settings.thumbnail_edge), Image.Resampling.LANCZOS,
                       SMALL_REDUCING_GAP)
    preview_rendition = _still_rendition(preview, meta, encode)
    thumbnail_rendition = _still_rendition(thumbnail, meta, encode)
    blurhash = blurhash_of(thumbnail)
    if full_rendition is None:
        one = pending.result() if pending is not None else encode_still(full, _federation_format(full), meta,
                                                                         encode)
        full_rendition = Rendition(webp=one, federation=one)
    return Rendered(
        full=full_rendition,
        preview=preview_rendition,
        thumbnail=thumbnail_rendition,
        blurhash=blurhash,
        width=width,
        height=height,
        animated=animated,
        has_alpha=full.mode == "RGBA",
    )


def same_pixels(image: Image.Image) -> Image.Image:
    """Another Image object over the same pixel memory (Pillow's own ``_new``, which ``copy`` would follow
    with a full copy of the pixels): its own ``encoderinfo`` for a concurrent save, nothing copied."""
    twin = image._new(image.im)
    twin.info = {}
    return twin


def _federation_format(image: Image.Image) -> ImageFormat:
    return ImageFormat.PNG if image.mode == "RGBA" else ImageFormat.JPEG


def _still_rendition(image: Image.Image, meta: Metadata, encode: EncodeSettings) -> Rendition:
    return Rendition(
        webp=encode_still(image, ImageFormat.WEBP, meta, encode),
        federation=encode_still(image, _federation_format(image), meta, encode),
    )
