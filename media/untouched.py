"""Pixels-untouched copies: the upload's own encoded image, with only its metadata rewritten.

Only JPEG and PNG can be kept this way (their metadata lives in separable segments/chunks; the formats
Pixelfed and Mastodon both take). Orientation stays an EXIF tag here, since the pixels are not rotated.
"""

from __future__ import annotations

from .encode import EncodedFile
from .exif import build_exif
from .formats import ImageFormat
from .jpeg_meta import rewrite_jpeg_metadata
from .png_meta import rewrite_png_metadata
from .xmp import RightsNotice, build_xmp

UNTOUCHED_FORMATS = frozenset({ImageFormat.JPEG, ImageFormat.PNG})


def untouched_copy(data: bytes, fmt: ImageFormat, notice: RightsNotice, *, width: int, height: int,
                   artist: str | None, copyright_text: str | None, orientation: int) -> EncodedFile | None:
    """The metadata-rewritten copy of ``data``, or None when ``fmt`` cannot be kept untouched.
    ``width``/``height`` are the upright dimensions (viewers apply the kept EXIF orientation)."""
    if fmt not in UNTOUCHED_FORMATS:
        return None
    exif = build_exif(notice, artist=artist, copyright_text=copyright_text, orientation=orientation)
    xmp = build_xmp(notice)
    if fmt is ImageFormat.JPEG:
        rewritten = rewrite_jpeg_metadata(data, exif=exif.tobytes(), xmp=xmp)
    else:
        rewritten = rewrite_png_metadata(data, exif_tiff=exif.tobytes()[6:], xmp=xmp)
    return EncodedFile(rewritten, fmt, width, height)
