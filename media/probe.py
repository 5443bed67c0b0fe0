"""Probing an upload: what it is (from its bytes), how large it claims to be, and opening it safely.

Order matters (security.md E32-E34): byte cap, then the format signature (anything not on the list is
refused before any parser runs), then the caller's caps checked on the header (:mod:`media.headers`), and
only then Pillow, restricted to the one plugin the signature named, so an SVG, EPS, PSD or FITS file can
never reach Pillow's other plugins. Decoding happens later, in :mod:`media.process`.

Thread safety: nothing here writes process-wide state. Pillow's ``MAX_IMAGE_PIXELS`` and the warning
filters are left as the app set them (changing them per call would race between threads); our own caps
are checked first, and if Pillow's guard still fires (a caller's cap above Pillow's 179 M pixel error, or
the app turned ``DecompressionBombWarning`` into an error) that is reported as TooLarge too.
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass

import pillow_heif
from PIL import Image, ImageFile, UnidentifiedImageError

from .errors import InvalidMedia, MediaError, TooLarge, UnsupportedMedia
from .formats import ACCEPTED_NAMES, ImageFormat, describe_refused, sniff_format
from .headers import HeaderInfo, read_header
from .limits import MediaLimits

# Registers the "HEIF" plugin with Pillow once, at import (idempotent); it is only ever used for files
# whose ftyp brands say HEIF, since Image.open below is given the single expected format.
pillow_heif.register_heif_opener()

# Exceptions Pillow's plugins raise on damaged input (SyntaxError is the plugins' "not a valid file";
# zlib.error is an Exception subclass raised by PNG/APNG decompression paths). MemoryError is not here:
# running out of memory on an image within the caps is the server's problem, not the file's.
PILLOW_ERRORS: tuple[type[BaseException], ...] = (
    OSError, ValueError, SyntaxError, EOFError, struct.error, IndexError, KeyError, TypeError,
    ZeroDivisionError, zlib.error,
)


@dataclass(frozen=True)
class ProbeResult:
    """An accepted upload, before decoding. ``width``/``height`` as stored (EXIF orientation not yet
    applied), ``frames`` > 1 for an animation, ``durations`` in ms per frame when the header gives them."""

    format: ImageFormat
    width: int
    height: int
    frames: int
    durations: tuple[int, ...]
    byte_size: int

    @property
    def animated(self) -> bool:
        return self.frames > 1

    @property
    def content_type(self) -> str:
        return self.format.mime


def probe_image(data: bytes, limits: MediaLimits) -> ProbeResult:
    """Identify ``data`` and check it against ``limits`` from its header; nothing is decoded.

    Raises TooLarge, UnsupportedMedia (not an accepted format) or InvalidMedia (damaged header)."""
    limits.check_bytes(len(data))
    fmt = sniff_format(data)
    if fmt is None:
        raise UnsupportedMedia(f"unsupported file type ({describe_refused(data)}); "
                               f"upload a {ACCEPTED_NAMES} image")
    header = read_header(fmt, data, limits)
    return _result(fmt, header, len(data))


def open_image(data: bytes, probed: ProbeResult, limits: MediaLimits) -> tuple[Image.Image, ProbeResult]:
    """Pillow's lazy image for ``data`` (header parsed, no pixels decoded) and the probe result updated
    with what only Pillow can count (HEIF/AVIF frames and exact size). The caller decodes it."""
    if ImageFile.LOAD_TRUNCATED_IMAGES:
        # Someone in this process turned it on: truncated files would decode as grey padding (E34).
        raise RuntimeError("PIL.ImageFile.LOAD_TRUNCATED_IMAGES must stay False for media processing")
    try:
        image = Image.open(io.BytesIO(data), formats=[probed.format.pillow])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise TooLarge("image too large (refused by the image library's own limit)") from exc
    except UnidentifiedImageError as exc:
        raise InvalidMedia(f"damaged {probed.format.pillow} file") from exc
    except PILLOW_ERRORS as exc:
        raise InvalidMedia(f"damaged {probed.format.pillow} file") from exc
    try:
        return image, _check_opened(image, probed, limits)
    except BaseException:
        image.close()
        raise


def _check_opened(image: Image.Image, probed: ProbeResult, limits: MediaLimits) -> ProbeResult:
    width, height = image.size
    if probed.format in (ImageFormat.HEIF, ImageFormat.AVIF):
        # Our header bound is the largest item; the primary image Pillow picked must fit inside it.
        if width * height > probed.width * probed.height or width < 1 or height < 1:
            raise InvalidMedia("damaged image: its size disagrees with its header")
        frames = int(getattr(image, "n_frames", 1))  # counted by libavif/libheif from the container
        limits.check_pixels(width, height)
        if frames > 1:
            limits.check_frames(frames, width, height)
        return ProbeResult(probed.format, width, height, frames, (), probed.byte_size)
    if probed.format is ImageFormat.GIF:
        # Pillow grows a GIF's canvas frame by frame when one overflows the logical screen; our header
        # walk already took the largest, so Pillow's first size may only be smaller.
        fits = width <= probed.width and height <= probed.height
    else:
        fits = (width, height) == (probed.width, probed.height)
    if not fits:
        raise InvalidMedia("damaged image: its size disagrees with its header")
    return probed


def _result(fmt: ImageFormat, header: HeaderInfo, byte_size: int) -> ProbeResult:
    return ProbeResult(fmt, header.width, header.height, header.frames, header.durations, byte_size)


def probe_and_open(data: bytes, limits: MediaLimits) -> tuple[Image.Image, ProbeResult]:
    """:func:`probe` then :func:`open_image`; every refusal is a :class:`MediaError`."""
    probed = probe_image(data, limits)
    return open_image(data, probed, limits)


__all__ = ["MediaError", "ProbeResult", "open_image", "probe_and_open", "probe_image"]
