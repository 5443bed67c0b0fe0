"""Dimensions and frame counts read from the container headers by hand, before Pillow sees the file.

Why not ``Image.open(...).size``: Pillow's own guard (``Image.MAX_IMAGE_PIXELS``) is a process-wide setting
that only *warns* between 89 M and 179 M pixels (security.md E32), and Pillow counts GIF frames by seeking
through every one of them (E33). Reading the few header bytes ourselves lets the caller's caps refuse a
bomb before any decoder runs, and a frame count stops as soon as it passes a cap, so a 10 000-frame GIF
costs one linear walk over its block headers. Nothing here allocates more than the input.

Formats: JPEG (ITU T.81 B.1.1), PNG and APNG (PNG 3rd edition, sections 5, 11.2.1 and the acTL/fcTL
chunks), GIF (GIF89a sections 17-24), WebP (RFC 9649 section 2.5-2.7), HEIF/AVIF (ISO/IEC 14496-12 boxes,
ISO/IEC 23008-12 ``ispe``).
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

from .errors import InvalidMedia, UnsupportedMedia
from .formats import ImageFormat
from .limits import MediaLimits

# Browsers show frames of 10 ms or less for 100 ms (WebKit ImageSource::frameDurationAtIndex, Chromium
# ImageFrame timing, Firefox the same for GIF); the copies we write keep what viewers showed.
_FASTEST_SHOWN_MS = 10
_DEFAULT_FRAME_MS = 100


@dataclass(frozen=True)
class HeaderInfo:
    """What the header claims. For HEIF/AVIF ``width``/``height`` are the largest image in the file (an
    upper bound on the primary image) and ``frames`` is 1 until Pillow has counted them."""

    width: int
    height: int
    frames: int = 1
    durations: tuple[int, ...] = ()  # milliseconds per frame, for animations whose header gives them

    @property
    def pixels(self) -> int:
        return self.width * self.height


def read_header(fmt: ImageFormat, data: bytes, limits: MediaLimits) -> HeaderInfo:
    """Dimensions (and frames) of ``data``, already checked against ``limits``; InvalidMedia when the
    header is damaged or cut short, TooLarge when a cap is passed."""
    reader = _READERS[fmt]
    try:
        info = reader(data, limits)
    except (IndexError, struct.error) as exc:
        raise InvalidMedia(f"damaged {fmt.pillow} header (the file may be truncated)") from exc
    if info.width < 1 or info.height < 1:
        raise InvalidMedia(f"{fmt.pillow} header gives an empty image ({info.width}x{info.height})")
    limits.check_pixels(info.width, info.height)
    if info.frames > 1:
        limits.check_frames(info.frames, info.width, info.height)
    return info


# -- JPEG -------------------------------------------------------------------------------------------------

# Start-of-frame markers: C0-CF except DHT (C4), JPG (C8) and DAC (CC). Browsers decode only Huffman
# baseline, extended and progressive (C0-C2); lossless, hierarchical and arithmetic-coded JPEGs are
# refused (none of them would display, and arithmetic coding defeats the size check below).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}
_SOF_ACCEPTED = frozenset({0xC0, 0xC1, 0xC2})


def _jpeg(data: bytes, limits: MediaLimits) -> HeaderInfo:
    pos = 2  # after SOI
    while True:
        if data[pos] != 0xFF:
            raise InvalidMedia("damaged JPEG: marker expected")
        while data[pos] == 0xFF:  # fill bytes may precede any marker (T.81 B.1.1.2)
            pos += 1
        marker = data[pos]
        pos += 1
        if marker in (0xD9, 0xDA, 0xD8):
            raise InvalidMedia("damaged JPEG: no frame header before the image data")
        if marker == 0x01 or 0xD0 <= marker <= 0xD7:
            continue  # stand-alone markers carry no length
        (length,) = struct.unpack_from(">H", data, pos)
        if length < 2 or pos + length > len(data):
            raise InvalidMedia("damaged JPEG: a segment runs past the end of the file")
        if marker in _SOF_MARKERS:
            if marker not in _SOF_ACCEPTED:
                raise UnsupportedMedia(
                    "unsupported kind of JPEG (lossless, hierarchical or arithmetic-coded)")
            height, width = struct.unpack_from(">HH", data, pos + 3)
            if height == 0 or width == 0:
                raise InvalidMedia("unsupported JPEG: height given by a DNL marker")
            limits.check_pixels(width, height)
            _check_jpeg_plausible(data, pos + 7, width, height)
            return HeaderInfo(width, height)
        pos += length


def _check_jpeg_plausible(data: bytes, components_at: int, width: int, height: int) -> None:
    """Refuse a file too short to hold the blocks its frame header claims, before any decoder allocates
    the frame (security.md E32: a few bytes claiming a huge image). In Huffman coding every 8x8 block of
    a component takes at least one bit in that component's first scan (a DC code; baseline also needs an
    EOB code), and every component is in some scan, so the file holds at least as many bits as the
    component with the fewest blocks has blocks (T.81 F.1.2, G.1.2.1)."""
    count = data[components_at]
    factors = [(data[components_at + 2 + 3 * i] >> 4, data[components_at + 2 + 3 * i] & 15)
               for i in range(count)]
    if not factors or any(h == 0 or v == 0 for h, v in factors):
        raise InvalidMedia("damaged JPEG: bad frame header")
    h_max = max(h for h, _ in factors)
    v_max = max(v for _, v in factors)
    fewest = min(_ceil_div(_ceil_div(width * h, h_max), 8) * _ceil_div(_ceil_div(height * v, v_max), 8)
                 for h, v in factors)
    if len(data) * 8 < fewest:
        raise InvalidMedia("damaged JPEG: far too short for the size it claims (truncated or a bomb)")


# -- PNG / APNG -------------------------------------------------------------------------------------------


def _png(data: bytes, limits: MediaLimits) -> HeaderInfo:
    length, kind = struct.unpack_from(">I4s", data, 8)
    if kind != b"IHDR" or length != 13:
        raise InvalidMedia("damaged PNG: IHDR must come first")
    width, height = struct.unpack_from(">II", data, 16)
    if width > 2**31 - 1 or height > 2**31 - 1:
        raise InvalidMedia("damaged PNG: dimensions out of range")
    limits.check_pixels(width, height)
    declared = 1
    durations: list[int] = []
    idat_bytes = 0
    pos = 8
    # Walk the chunks for acTL, the fcTL of each frame and the IDAT sizes, checking each CRC.
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        body = pos + 8
        if body + length + 4 > len(data):
            raise InvalidMedia("truncated PNG: a chunk runs past the end of the file")
        # Pillow does not check IDAT checksums while decoding; a damaged file should not pass as a
        # picture of noise (zlib.crc32 runs at memory speed: a few ms for the largest upload).
        if zlib.crc32(data[pos + 4:body + length]) != struct.unpack_from(">I", data, body + length)[0]:
            raise InvalidMedia("damaged PNG: chunk checksum mismatch")
        if kind == b"IDAT":
            idat_bytes += length
        elif kind == b"acTL":
            declared = max(1, struct.unpack_from(">I", data, body)[0])
            limits.check_frames(declared, width, height)
        elif kind == b"fcTL":
            delay_num, delay_den = struct.unpack_from(">HH", data, body + 20)
            durations.append(_clamp_ms(delay_num * 1000 // (delay_den or 100)))
            limits.check_frames(len(durations), width, height)
        elif kind == b"IEND":
            break
        pos = body + length + 4
    else:
        raise InvalidMedia("truncated PNG: no IEND chunk")
    frames = max(declared, len(durations)) if declared > 1 else 1
    _check_png_plausible(data[24:26], width, height, idat_bytes)
    return HeaderInfo(width, height, frames, tuple(durations) if frames > 1 else ())


# Deflate's best case: a 258-byte match in two 1-bit codes (RFC 1951 3.2.5), i.e. 1032:1.
_DEFLATE_MAX_RATIO = 1032
_PNG_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def _check_png_plausible(depth_and_type: bytes, width: int, height: int, idat_bytes: int) -> None:
    """Refuse a PNG whose image data could not inflate to the pixels its IHDR claims, before any decoder
    allocates them (security.md E32: a 60-byte PNG claiming 10 000 x 10 000)."""
    bit_depth, colour_type = depth_and_type[0], depth_and_type[1]
    channels = _PNG_CHANNELS.get(colour_type)
    if channels is None or bit_depth not in (1, 2, 4, 8, 16):
        raise InvalidMedia("damaged PNG: unknown colour type or bit depth")
    least_raw_bytes = width * height * channels * bit_depth // 8  # filter bytes ignored: a lower bound
    if idat_bytes * _DEFLATE_MAX_RATIO < least_raw_bytes:
        raise InvalidMedia("damaged PNG: far too short for the size it claims (truncated or a bomb)")


# -- GIF --------------------------------------------------------------------------------------------------


def _gif(data: bytes, limits: MediaLimits) -> HeaderInfo:
    width, height, flags = struct.unpack_from("<HHB", data, 6)
    pos = 13 + (3 << ((flags & 7) + 1) if flags & 0x80 else 0)  # global colour table
    canvas_w, canvas_h = width, height
    durations: list[int] = []
    delay: int | None = None
    end = len(data)
    while True:
        if pos >= end:
            if not durations:
                raise InvalidMedia("truncated GIF: no image data")
            break  # a missing trailer after a complete frame is common and harmless
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x21:  # extension: label, then data sub-blocks
            label = data[pos + 1]
            if label == 0xF9 and data[pos + 2] >= 4:  # graphic control extension
                delay = struct.unpack_from("<H", data, pos + 4)[0] * 10
            pos = _skip_sub_blocks(data, pos + 2)
        elif block == 0x2C:  # image descriptor
            left, top, w, h, image_flags = struct.unpack_from("<HHHHB", data, pos + 1)
            pos += 10
            if image_flags & 0x80:
                pos += 3 << ((image_flags & 7) + 1)  # local colour table
            pos = _skip_sub_blocks(data, pos + 1)  # LZW minimum code size, then the data
            # Pillow grows the canvas to hold a frame that overflows the logical screen.
            canvas_w, canvas_h = max(canvas_w, left + w), max(canvas_h, top + h)
            limits.check_pixels(canvas_w, canvas_h)
            durations.append(_clamp_ms(delay))
            delay = None
            limits.check_frames(len(durations), canvas_w, canvas_h)
        else:
            raise InvalidMedia("damaged GIF: unknown block")
    frames = len(durations)
    return HeaderInfo(canvas_w, canvas_h, frames, tuple(durations) if frames > 1 else ())


def _skip_sub_blocks(data: bytes, pos: int) -> int:
    """Position after a chain of data sub-blocks (a length byte, that many bytes, ..., a zero byte)."""
    while True:
        size = data[pos]
        pos += 1
        if size == 0:
            return pos
        pos += size
        if pos > len(data):
            raise InvalidMedia("truncated GIF: a data block runs past the end of the file")


# -- WebP -------------------------------------------------------------------------------------------------


def _webp(data: bytes, limits: MediaLimits) -> HeaderInfo:
    (riff_size,) = struct.unpack_from("<I", data, 4)
    if riff_size + 8 > len(data):
        raise InvalidMedia("truncated WebP: shorter than its RIFF header says")
    end = riff_size + 8
    kind, size = struct.unpack_from("<4sI", data, 12)
    body = 20
    if kind == b"VP8 ":
        if data[body + 3:body + 6] != b"\x9d\x01\x2a":
            raise InvalidMedia("damaged WebP: bad VP8 start code")
        w, h = struct.unpack_from("<HH", data, body + 6)
        return HeaderInfo(w & 0x3FFF, h & 0x3FFF)
    if kind == b"VP8L":
        if data[body] != 0x2F:
            raise InvalidMedia("damaged WebP: bad VP8L signature")
        (bits,) = struct.unpack_from("<I", data, body + 1)
        return HeaderInfo((bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1)
    if kind != b"VP8X":
        raise InvalidMedia("damaged WebP: unknown first chunk")
    flags = data[body]
    width = int.from_bytes(data[body + 4:body + 7], "little") + 1
    height = int.from_bytes(data[body + 7:body + 10], "little") + 1
    limits.check_pixels(width, height)
    if not flags & 0x02:  # not animated
        return HeaderInfo(width, height)
    durations: list[int] = []
    pos = body + size + (size & 1)
    while pos + 8 <= end:
        kind, size = struct.unpack_from("<4sI", data, pos)
        if kind == b"ANMF":
            durations.append(_clamp_ms(int.from_bytes(data[pos + 20:pos + 23], "little")))
            limits.check_frames(len(durations), width, height)
        pos += 8 + size + (size & 1)
    if pos > end or not durations:
        raise InvalidMedia("damaged WebP animation: frames missing or cut short")
    frames = len(durations)
    return HeaderInfo(width, height, frames, tuple(durations) if frames > 1 else ())


# -- HEIF / AVIF (ISO base media file format) -------------------------------------------------------------

_MAX_BOX_DEPTH = 4


def _isobmff(data: bytes, limits: MediaLimits) -> HeaderInfo:
    sizes = list(_ispe_sizes(data, 0, len(data), (b"meta", b"iprp", b"ipco"), 0))
    if not sizes:
        raise InvalidMedia("damaged HEIF/AVIF: no image size property (ispe)")
    # Every image item (primary, grid tiles, thumbnails, alpha/depth planes) has one; the largest bounds
    # the primary image whichever it is, without resolving item references.
    width, height = max(sizes, key=lambda size: size[0] * size[1])
    return HeaderInfo(width, height)


def _ispe_sizes(data: bytes, start: int, end: int, path: tuple[bytes, ...],
                depth: int) -> list[tuple[int, int]]:
    found: list[tuple[int, int]] = []
    pos = start
    while pos + 8 <= end:
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise InvalidMedia("damaged HEIF/AVIF: a box runs past its container")
        body = pos + header
        if depth < len(path) and kind == path[depth] and depth < _MAX_BOX_DEPTH:
            if kind == b"meta":
                body += 4  # FullBox version and flags
            found.extend(_ispe_sizes(data, body, pos + size, path, depth + 1))
        elif depth == len(path) and kind == b"ispe":
            found.append(struct.unpack_from(">II", data, body + 4))  # after version and flags
        pos += size
    return found


def _ceil_div(numerator: int, denominator: int) -> int:
    return -(-numerator // denominator)


def _clamp_ms(milliseconds: int | None) -> int:
    if milliseconds is None:
        return _DEFAULT_FRAME_MS
    return _DEFAULT_FRAME_MS if milliseconds <= _FASTEST_SHOWN_MS else milliseconds


_READERS = {
    ImageFormat.JPEG: _jpeg,
    ImageFormat.PNG: _png,
    ImageFormat.GIF: _gif,
    ImageFormat.WEBP: _webp,
    ImageFormat.AVIF: _isobmff,
    ImageFormat.HEIF: _isobmff,
}
