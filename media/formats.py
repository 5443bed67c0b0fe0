"""Which image format a file is, judged from its first bytes only (security.md E34).

The client's file name and Content-Type are never consulted: an HTML page named ``x.jpg`` or an SVG sent as
``image/png`` is whatever its bytes say. The accepted list is Mastodon's image list without SVG
(app/models/media_attachment.rb IMAGE_MIME_TYPES: jpeg png gif heic heif webp avif).
"""

from __future__ import annotations

from enum import Enum


class ImageFormat(Enum):
    """An accepted source format. ``pillow`` is the Pillow plugin name the file is opened with (and only
    that one), ``mime`` the content type to serve it with, ``extension`` the storage name's extension."""

    JPEG = ("JPEG", "image/jpeg", "jpg")
    PNG = ("PNG", "image/png", "png")
    GIF = ("GIF", "image/gif", "gif")
    WEBP = ("WEBP", "image/webp", "webp")
    AVIF = ("AVIF", "image/avif", "avif")
    HEIF = ("HEIF", "image/heic", "heic")

    def __init__(self, pillow: str, mime: str, extension: str) -> None:
        self.pillow = pillow
        self.mime = mime
        self.extension = extension


ACCEPTED_NAMES = "JPEG, PNG, WebP, GIF, AVIF or HEIC"

# ISO BMFF brands (ISO/IEC 23008-12 Annex B for HEIF, AV1 Image File Format section 8 for AVIF).
# ``mif1``/``msf1`` are the generic HEIF brands; an AVIF file lists ``avif`` among them, so AVIF brands are
# looked for first.
_AVIF_BRANDS = frozenset({b"avif", b"avis"})
_HEIF_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs",
                          b"mif1", b"msf1", b"mif2"})

# Formats refused by name in the message, so an artist learns why (first bytes -> what it is).
_KNOWN_REFUSED: tuple[tuple[bytes, str], ...] = (
    (b"%!PS", "PostScript/EPS"),
    (b"\xc5\xd0\xd3\xc6", "EPS"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"SIMPLE  =", "FITS"),
    (b"%PDF", "PDF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
    (b"BM", "BMP"),
    (b"PK\x03\x04", "ZIP"),
    (b"\x00\x00\x01\x00", "ICO"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "JPEG XL"),
)


def sniff_format(data: bytes) -> ImageFormat | None:
    """The accepted format ``data`` starts like, or None. Only a signature check: the header parsers in
    :mod:`media.headers` then read the dimensions and refuse what does not hold together."""
    if data.startswith(b"\xff\xd8\xff"):
        return ImageFormat.JPEG
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return ImageFormat.PNG
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return ImageFormat.GIF
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return ImageFormat.WEBP
    if len(data) >= 16 and data[4:8] == b"ftyp":
        return _isobmff_format(data)
    return None


def _isobmff_format(data: bytes) -> ImageFormat | None:
    size = int.from_bytes(data[:4], "big")
    if size < 16 or size > min(len(data), 4096) or size % 4:
        return None
    brands = {data[8:12]} | {data[i:i + 4] for i in range(16, size, 4)}  # major + compatible brands
    if brands & _AVIF_BRANDS:
        return ImageFormat.AVIF
    if brands & _HEIF_BRANDS:
        return ImageFormat.HEIF
    return None


def describe_refused(data: bytes) -> str:
    """A short name for a refused file, for the error message ("SVG", "HTML", ...), or "unknown"."""
    for magic, name in _KNOWN_REFUSED:
        if data.startswith(magic):
            return name
    head = data[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if head.startswith(b"<?xml") or head.startswith(b"<svg") or b"<svg" in head:
        return "SVG" if b"<svg" in head else "XML"
    if head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<script")):
        return "HTML"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "ISO media (" + data[8:12].decode("latin-1").strip() + ")"
    return "unknown"
