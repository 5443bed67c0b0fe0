"""EXIF rebuilt from an allow-list, never copied and pruned (noai.md section 6, security.md E36).

A fresh ``Image.Exif`` holds only Artist (0x013B) and Copyright (0x8298), plus Orientation (0x0112) for
copies whose pixels we did not rotate (pixels-untouched mode). Everything else in the upload's EXIF - the GPS
IFD (0x8825), MakerNote, BodySerialNumber, CameraOwnerName, LensSerialNumber, the IFD1 thumbnail (which can
hold the unedited original) - is simply never written. Rebuilding rather than deleting is what noai.md
recommends: ``ImageOps.exif_transpose`` keeps ``info["exif"]``, and passing it back re-leaks GPS (E36).
"""

from __future__ import annotations

import re

from PIL import Image

from .xmp import RightsNotice

ARTIST = 0x013B
COPYRIGHT = 0x8298
ORIENTATION = 0x0112

_CONTROL = re.compile("[\x00-\x1f\x7f]+")
_MAX_TEXT = 500


def read_orientation(image: Image.Image) -> int:
    """EXIF orientation 1-8 of ``image`` (1 when absent, unreadable or out of range)."""
    try:
        value = image.getexif().get(ORIENTATION, 1)
    except Exception:  # noqa: BLE001 - a damaged EXIF block must not fail the upload; it is dropped anyway
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def read_exif_text(image: Image.Image) -> tuple[str | None, str | None]:
    """(Artist, Copyright) from the upload's EXIF, cleaned, or None each."""
    try:
        exif = image.getexif()
        return _text(exif.get(ARTIST)), _text(exif.get(COPYRIGHT))
    except Exception:  # noqa: BLE001 - as above
        return None, None


def _text(value: object) -> str | None:
    if isinstance(value, str):
        # Pillow decodes ASCII fields as Latin-1; most writers put UTF-8 there.
        try:
            value = value.encode("latin-1").decode("utf-8")
        except UnicodeError:
            pass
    elif isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    else:
        return None
    # EXIF Copyright may hold "photographer\0editor" (EXIF 2.32 section 4.6.5); keep both, readable.
    text = _CONTROL.sub("; ", value).strip("; ").strip()[:_MAX_TEXT]
    return text or None


def build_exif(notice: RightsNotice, *, artist: str | None = None, copyright_text: str | None = None,
               orientation: int = 1) -> Image.Exif:
    """The EXIF written into every copy: the upload's own Artist/Copyright when it had them, otherwise
    the notice's; Orientation only when it is not 1 (copies whose pixels are already upright omit it)."""
    exif = Image.Exif()
    # Bytes, not str: Pillow writes str ASCII fields with encode("ascii", "replace"), which would turn
    # "Zoë" into "Zo?"; readers (exiftool, exiv2, browsers) take UTF-8 in ASCII fields.
    exif[ARTIST] = (artist or notice.artist_name).encode("utf-8")
    exif[COPYRIGHT] = (copyright_text or notice.rights).encode("utf-8")
    if orientation != 1:
        exif[ORIENTATION] = orientation
    return exif


def exif_bytes(exif: Image.Exif) -> bytes:
    """TIFF-structured EXIF bytes starting "Exif\\0\\0" (Pillow adds the prefix), for a JPEG APP1
    segment; PNG's eXIf chunk takes them without the prefix."""
    return exif.tobytes()
