"""Rewriting a JPEG's metadata segments while every byte of its image data stays as it was.

For "pixels untouched" uploads (artists who post Glaze/Nightshade-protected work, noai.md section 9): the
segments that describe the picture - quantisation and Huffman tables, frame and scan headers, the
entropy-coded scans, restart intervals, the ICC profile (APP2 ICC_PROFILE) and Adobe's colour transform flag
(APP14) - are copied verbatim, in order. Metadata segments are dropped: APP1 (EXIF with its GPS IFD,
MakerNote and thumbnail; XMP and extended XMP with exif:GPS*), APP13 (Photoshop IRB / IPTC, which can hold
locations), the other APPn (MPF, FlashPix, JUMBF/C2PA...), COM, and whatever follows EOI (appended HTML or
ZIP, MPF's second image). Our allow-list EXIF and the no-AI XMP are inserted after SOI (and JFIF).
Segment syntax: ITU T.81 annex B; EXIF APP1: CIPA DC-008 4.5.4; XMP APP1: Adobe XMP part 3, 1.1.3.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from .errors import InvalidMedia

SOI, EOI, SOS = 0xD8, 0xD9, 0xDA
APP0, APP1, APP2, APP14, COM = 0xE0, 0xE1, 0xE2, 0xEE, 0xFE
XMP_HEADER = b"http://ns.adobe.com/xap/1.0/\x00"
_MAX_SEGMENT = 65533  # the two length bytes count themselves


@dataclass(frozen=True)
class Segment:
    """``data[start:end]`` is the whole segment: marker, length, payload and, for SOS, the entropy-coded
    data that follows it up to the next marker."""

    marker: int
    start: int
    end: int
    payload: int  # offset of the payload (after marker and length); == end for stand-alone markers


def jpeg_segments(data: bytes) -> list[Segment]:
    """Every segment from SOI to EOI. InvalidMedia if the structure is broken or EOI is missing."""
    if not data.startswith(b"\xff\xd8"):
        raise InvalidMedia("not a JPEG")
    segments = [Segment(SOI, 0, 2, 2)]
    pos = 2
    size = len(data)
    while True:
        if pos >= size or data[pos] != 0xFF:
            raise InvalidMedia("damaged or truncated JPEG: marker expected")
        start = pos
        while pos < size and data[pos] == 0xFF:  # fill bytes (T.81 B.1.1.2)
            pos += 1
        if pos >= size:
            raise InvalidMedia("truncated JPEG")
        marker = data[pos]
        pos += 1
        if marker == EOI:
            segments.append(Segment(marker, start, pos, pos))
            return segments
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            segments.append(Segment(marker, start, pos, pos))
            continue
        if pos + 2 > size:
            raise InvalidMedia("truncated JPEG")
        (length,) = struct.unpack_from(">H", data, pos)
        end = pos + length
        if length < 2 or end > size:
            raise InvalidMedia("damaged or truncated JPEG: a segment runs past the end of the file")
        if marker == SOS:
            end = _end_of_entropy_data(data, end)
        segments.append(Segment(marker, start, end, pos + 2))
        pos = end


def _end_of_entropy_data(data: bytes, pos: int) -> int:
    """Offset of the marker that ends a scan: 0xFF followed by neither a stuffed 0x00 nor RSTn."""
    while True:
        pos = data.find(b"\xff", pos)
        if pos < 0 or pos + 1 >= len(data):
            raise InvalidMedia("truncated JPEG: the image data has no end")
        following = data[pos + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7 or following == 0xFF:
            pos += 1 if following == 0xFF else 2
            continue
        return pos


def _keep(data: bytes, segment: Segment) -> bytes | None:
    """The bytes to copy for ``segment``, or None to drop it."""
    marker = segment.marker
    payload = data[segment.payload:segment.end]
    if marker == APP0:
        if payload.startswith(b"JFIF\x00") and len(payload) >= 14:
            # Keep JFIF (density, version) without its thumbnail (JFIF 1.02: Xthumbnail, Ythumbnail).
            body = payload[:12] + b"\x00\x00"
            return _segment(APP0, body)
        return None
    if marker == APP2:
        return data[segment.start:segment.end] if payload.startswith(b"ICC_PROFILE\x00") else None
    if marker == APP14:
        return data[segment.start:segment.end] if payload.startswith(b"Adobe") else None
    if 0xE0 <= marker <= 0xEF or marker == COM:
        return None
    return data[segment.start:segment.end]


def _segment(marker: int, payload: bytes) -> bytes:
    if len(payload) > _MAX_SEGMENT:
        raise ValueError("metadata segment too long for JPEG")
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def rewrite_jpeg_metadata(data: bytes, *, exif: bytes, xmp: bytes) -> bytes:
    """``data`` with its metadata replaced by ``exif`` (with the "Exif\\0\\0" prefix) and ``xmp``; every
    image-data byte copied unchanged, anything after EOI dropped."""
    segments = jpeg_segments(data)
    kept = [_keep(data, segment) for segment in segments[1:]]
    out = [b"\xff\xd8"]
    rest = [part for part in kept if part is not None]
    if rest and rest[0][1] == APP0:  # JFIF must stay first (JFIF 1.02)
        out.append(rest.pop(0))
    out.append(_segment(APP1, exif))
    out.append(_segment(APP1, XMP_HEADER + xmp))
    out.extend(rest)
    return b"".join(out)


def image_data(data: bytes) -> bytes:
    """The bytes that make the picture (tables, frame, scans), for comparing two files."""
    segments = jpeg_segments(data)
    return b"".join(data[s.start:s.end] for s in segments
                    if not (0xE0 <= s.marker <= 0xEF or s.marker in (COM, SOI)))
