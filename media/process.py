"""Derivatives of an accepted image: full-size copy, preview and thumbnail, each as WebP plus a JPEG or PNG
copy for federation (Pixelfed drops WebP attachments), and the blurhash.

Order of work, chosen so each expensive step runs on the fewest pixels:
1. JPEG ``draft()``: libjpeg decodes straight to 1/2, 1/4 or 1/8 scale when the full-size copy is that much
   smaller (Pillow's JpegImagePlugin.draft; never below the size asked for).
2. One resample from the source to the full-size copy, in the file's own orientation.
3. Colour conversion (CMYK, grey -> RGB through their ICC profile) and EXIF orientation on that copy.
4. The preview from the full-size copy, the thumbnail from the preview, the blurhash from the thumbnail.
Metadata is rebuilt, never copied: :mod:`media.exif` (allow-list) and :mod:`media.xmp` (no-AI packet).
Animations go through :mod:`media.animation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from PIL import Image

from .blur import blurhash_of
from .colour import resizable, to_rgb, without_opaque_alpha
from .encode import EncodedFile, EncodeSettings, Metadata, encode_still
from .errors import InvalidMedia
from .exif import build_exif, read_exif_text, read_orientation
from .formats import ImageFormat
from .geometry import fit, make_upright, shrink, stored_size, upright_size, without_info
from .probe import PILLOW_ERRORS, ProbeResult
from .xmp import RightsNotice, build_xmp


@dataclass(frozen=True)
class RenderSettings:
    """Sizes are long edges in pixels. ``full_resample`` is the filter of the one big resample (source ->
    full-size copy, usually less than 2x); the smaller copies always use Lanczos."""

    full_max_edge: int = 4096
    preview_edge: int = 1280
    thumbnail_edge: int = 400
    full_resample: Image.Resampling = Image.Resampling.LANCZOS
    encode: EncodeSettings = field(default_factory=EncodeSettings)

    def __post_init__(self) -> None:
        if min(self.full_max_edge, self.preview_edge, self.thumbnail_edge) < 16:
            raise ValueError("RenderSettings: every long edge must be at least 16 pixels")


@dataclass(frozen=True)
class Rendition:
    """One size in its two encodings: ``webp`` for our own pages and clients, ``federation`` (JPEG, PNG
    for transparent images, GIF for animations) for other servers."""

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


def render(image: Image.Image, probed: ProbeResult, notice: RightsNotice,
           settings: RenderSettings) -> Rendered:
    """All derivatives of an opened (not yet decoded) ``image``. Raises InvalidMedia when decoding fails
    (truncated or corrupt data)."""
    orientation = read_orientation(image)
    artist, copyright_text = read_exif_text(image)
    exif = build_exif(notice, artist=artist, copyright_text=copyright_text).tobytes()
    xmp = build_xmp(notice)
    if probed.animated and probed.durations:
        from .animation import render_animation  # imported here: animation imports this module

        return render_animation(image, probed, exif, xmp, settings)
    try:
        return _render_still(image, probed, orientation, exif, xmp, settings)
    except PILLOW_ERRORS as exc:
        raise InvalidMedia(f"damaged or truncated {probed.format.pillow} image") from exc


def _render_still(image: Image.Image, probed: ProbeResult, orientation: int, exif: bytes, xmp: bytes,
                  settings: RenderSettings) -> Rendered:
    upright = upright_size(image.size, orientation)
    full_size = stored_size(fit(upright, settings.full_max_edge), orientation)
    if probed.format is ImageFormat.JPEG:
        image.draft(None, full_size)
    icc = image.info.get("icc_profile") or None
    image.load()  # OSError here for a truncated file (LOAD_TRUNCATED_IMAGES stays False)
    full = shrink(resizable(image), full_size, settings.full_resample)
    full, icc = to_rgb(full, icc)
    full = without_info(without_opaque_alpha(make_upright(full, orientation)))
    meta = Metadata(icc, exif, xmp)
    return derive(full, meta, settings, width=upright[0], height=upright[1], animated=False)


def derive(full: Image.Image, meta: Metadata, settings: RenderSettings, *, width: int, height: int,
           animated: bool, full_rendition: Rendition | None = None) -> Rendered:
    """Preview, thumbnail and blurhash from the upright RGB(A) full-size ``full``; the full-size rendition
    is encoded from it too unless given (animations bring their own)."""
    preview = shrink(full, fit(full.size, settings.preview_edge), Image.Resampling.LANCZOS)
    thumbnail = shrink(preview, fit(preview.size, settings.thumbnail_edge), Image.Resampling.LANCZOS)
    encode = settings.encode
    if full_rendition is None:
        full_rendition = _still_rendition(full, meta, encode, small=False)
    return Rendered(
        full=full_rendition,
        preview=_still_rendition(preview, meta, encode, small=True),
        thumbnail=_still_rendition(thumbnail, meta, encode, small=True),
        blurhash=blurhash_of(thumbnail),
        width=width,
        height=height,
        animated=animated,
        has_alpha=full.mode == "RGBA",
    )


def _still_rendition(image: Image.Image, meta: Metadata, encode: EncodeSettings, *, small: bool) -> Rendition:
    federation_format = ImageFormat.PNG if image.mode == "RGBA" else ImageFormat.JPEG
    return Rendition(
        webp=encode_still(image, ImageFormat.WEBP, meta, encode, small=small),
        federation=encode_still(image, federation_format, meta, encode, small=small),
    )
