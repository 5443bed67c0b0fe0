"""Encoders: one image (or animation) -> the bytes of one file, with our metadata and nothing else.

Pillow 13 writes no metadata unless asked (a plain save drops EXIF, XMP and text chunks; since 11.1 XMP is
not copied from ``info`` either: https://pillow.readthedocs.io/en/stable/releasenotes/11.1.0.html), so every
file carries exactly the ICC profile, the allow-list EXIF and the no-AI XMP passed here.
How each format takes XMP (checked on Pillow 13.0.0, tests/unit/media/test_metadata.py):
JPEG ``xmp=`` (an APP1 segment), WebP ``xmp=`` (the "XMP " chunk), PNG ignores ``xmp=`` so an iTXt chunk
with keyword "XML:com.adobe.xmp" is written instead (the PNG spec's registered XMP keyword), GIF cannot
hold it at all (the HTTP headers carry the signal).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image, PngImagePlugin

from .formats import ImageFormat


@dataclass(frozen=True)
class EncodeSettings:
    """Quality knobs. WebP ``method`` trades encoder time for size (0 fastest, 6 smallest; libwebp
    cwebp -m): still WebPs are the preview and thumbnail, fetched on every timeline view, so a thorough
    one; animations, many frames at full size, the fastest."""

    jpeg_quality: int = 88
    webp_quality: int = 85
    webp_method: int = 2
    png_compress_level: int = 6
    animation_webp_method: int = 0


@dataclass(frozen=True)
class Metadata:
    """What goes into every file: ICC profile, EXIF (TIFF bytes with the "Exif\\0\\0" prefix), XMP."""

    icc: bytes | None
    exif: bytes
    xmp: bytes

    @property
    def exif_tiff(self) -> bytes:
        """The EXIF without the JPEG APP1 prefix (WebP's EXIF chunk and PNG's eXIf hold bare TIFF)."""
        return self.exif[6:] if self.exif.startswith(b"Exif\x00\x00") else self.exif


@dataclass(frozen=True)
class EncodedFile:
    """One file ready to store."""

    data: bytes
    format: ImageFormat
    width: int
    height: int

    @property
    def content_type(self) -> str:
        return self.format.mime


def encode_still(image: Image.Image, fmt: ImageFormat, meta: Metadata, settings: EncodeSettings) -> EncodedFile:
    """``image`` (RGB or RGBA) as a JPEG, PNG or WebP file."""
    out = io.BytesIO()
    if fmt is ImageFormat.JPEG:
        image.save(out, "JPEG", quality=settings.jpeg_quality, icc_profile=meta.icc, exif=meta.exif,
                   xmp=meta.xmp)
    elif fmt is ImageFormat.PNG:
        image.save(out, "PNG", compress_level=settings.png_compress_level, icc_profile=meta.icc,
                   exif=meta.exif_tiff, pnginfo=_png_xmp(meta.xmp))
    elif fmt is ImageFormat.WEBP:
        image.save(out, "WEBP", quality=settings.webp_quality, method=settings.webp_method,
                   icc_profile=meta.icc or "", exif=meta.exif_tiff, xmp=meta.xmp)
    else:
        raise ValueError(f"no still encoder for {fmt}")
    return EncodedFile(out.getvalue(), fmt, image.width, image.height)


def _png_xmp(xmp: bytes) -> PngImagePlugin.PngInfo:
    info = PngImagePlugin.PngInfo()
    # Uncompressed, as Adobe's XMP specification part 3 (1.1.5) asks, so simple scanners find it.
    info.add_itxt("XML:com.adobe.xmp", xmp.decode("utf-8"), zip=False)
    return info


def encode_animated_webp(first: Image.Image, rest: Sequence[object], durations: Sequence[int],
                         loop: int, meta: Metadata, settings: EncodeSettings) -> EncodedFile:
    """An animated WebP. ``rest`` may be a lazy sequence (frames made on demand, see media.animation)."""
    out = io.BytesIO()
    first.save(out, "WEBP", save_all=True, append_images=rest, duration=list(durations), loop=loop,
               quality=settings.webp_quality, method=settings.animation_webp_method,
               icc_profile=meta.icc or "", exif=meta.exif_tiff, xmp=meta.xmp)
    return EncodedFile(out.getvalue(), ImageFormat.WEBP, first.width, first.height)


def encode_animated_gif(first: Image.Image, rest: Sequence[object], durations: Sequence[int],
                        loop: int | None, *, disposal: int) -> EncodedFile:
    """An animated GIF (the federation copy of an animation: Pixelfed drops WebP, Mastodon takes GIF).
    GIF holds no XMP, EXIF or ICC profile; ``loop`` None plays once (no NETSCAPE2.0 block). ``disposal``
    2 (restore to background) for transparent animations, else 1 (keep, so frames can be deltas)."""
    out = io.BytesIO()
    options: dict[str, object] = {"save_all": True, "append_images": rest, "duration": list(durations),
                                  "disposal": disposal}
    if loop is not None:
        options["loop"] = loop
    first.save(out, "GIF", **options)
    return EncodedFile(out.getvalue(), ImageFormat.GIF, first.width, first.height)
