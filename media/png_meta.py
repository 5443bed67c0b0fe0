"""Rewriting a PNG's metadata chunks while every chunk that makes the picture is copied byte for byte.

Kept (an allow-list, PNG 3rd edition section 4.3 and 11): the critical chunks IHDR, PLTE, IDAT, IEND; the
colour chunks cHRM, gAMA, iCCP, sBIT, sRGB, cICP, mDCV, cLLI; tRNS, bKGD, hIST, pHYs, sPLT; and APNG's acTL,
fcTL, fdAT. Dropped: tEXt, zTXt, iTXt (which can hold XMP with exif:GPS*), eXIf (EXIF with GPS), tIME and
every other chunk (private ones such as C2PA's caBX or Apple's iDOT), and anything after IEND. Inserted
after IHDR: our allow-list eXIf and an uncompressed iTXt "XML:com.adobe.xmp" chunk (the keyword XMP part 3,
1.1.5 registers). Chunk CRCs are checked on the way, so a damaged file is refused, not passed on.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import InvalidMedia

SIGNATURE = b"\x89PNG\r\n\x1a\n"
_KEPT = frozenset({
    b"IHDR", b"PLTE", b"IDAT", b"IEND",
    b"cHRM", b"gAMA", b"iCCP", b"sBIT", b"sRGB", b"cICP", b"mDCV", b"mDCv", b"cLLI", b"cLLi",
    b"tRNS", b"bKGD", b"hIST", b"pHYs", b"sPLT",
    b"acTL", b"fcTL", b"fdAT",
})
XMP_KEYWORD = b"XML:com.adobe.xmp"


@dataclass(frozen=True)
class Chunk:
    kind: bytes
    start: int  # offset of the length field; data[start:end] is the whole chunk, CRC included
    end: int

    def body(self, data: bytes) -> bytes:
        return data[self.start + 8:self.end - 4]


def png_chunks(data: bytes) -> list[Chunk]:
    """Every chunk from IHDR to IEND, CRCs checked. InvalidMedia if broken or IEND is missing."""
    if not data.startswith(SIGNATURE):
        raise InvalidMedia("not a PNG")
    chunks: list[Chunk] = []
    pos = len(SIGNATURE)
    while True:
        if pos + 12 > len(data):
            raise InvalidMedia("truncated PNG: no IEND chunk")
        length, kind = struct.unpack_from(">I4s", data, pos)
        end = pos + 12 + length
        if length > 2**31 - 1 or end > len(data):
            raise InvalidMedia("truncated PNG: a chunk runs past the end of the file")
        (crc,) = struct.unpack_from(">I", data, end - 4)
        if zlib.crc32(data[pos + 4:end - 4]) != crc:
            raise InvalidMedia("damaged PNG: chunk checksum mismatch")
        chunks.append(Chunk(kind, pos, end))
        if kind == b"IEND":
            return chunks
        pos = end


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def xmp_itxt_chunk(xmp: bytes) -> bytes:
    # keyword, NUL, compression flag 0, method 0, empty language tag NUL, empty translated keyword NUL, text
    return _chunk(b"iTXt", XMP_KEYWORD + b"\x00\x00\x00\x00\x00" + xmp)


def rewrite_png_metadata(data: bytes, *, exif_tiff: bytes, xmp: bytes) -> bytes:
    """``data`` with its metadata replaced by ``exif_tiff`` (bare TIFF EXIF, no "Exif\\0\\0") and
    ``xmp``; every image chunk copied unchanged, anything after IEND dropped."""
    chunks = png_chunks(data)
    if chunks[0].kind != b"IHDR":
        raise InvalidMedia("damaged PNG: IHDR must come first")
    out = [SIGNATURE, data[chunks[0].start:chunks[0].end], _chunk(b"eXIf", exif_tiff), xmp_itxt_chunk(xmp)]
    out.extend(data[c.start:c.end] for c in chunks[1:] if c.kind in _KEPT)
    return b"".join(out)


def image_data(data: bytes) -> bytes:
    """The concatenated IDAT/fdAT bodies (the compressed picture), for comparing two files."""
    return b"".join(c.body(data) for c in png_chunks(data) if c.kind in (b"IDAT", b"fdAT"))
