"""Test images made on the spot with Pillow (and, for what Pillow cannot write, by hand).

The "dirty" files carry every kind of metadata the pipeline must drop, each with a marker string a test
can look for in the outputs' bytes: GPS (EXIF GPS IFD and XMP exif:GPSLatitude), a MakerNote, serial
numbers, an owner name, an EXIF thumbnail (IFD1, itself a JPEG with a comment), PNG text chunks.
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Sequence

from PIL import Image, ImageDraw, PngImagePlugin

SECRETS = (b"GPSLatitude", b"MAKERNOTE-SECRET", b"SERIAL-0042", b"OWNER-SECRET", b"THUMBNAIL-SECRET",
           b"PNG-TEXT-SECRET", b"COMMENT-SECRET", b"IPTC-SECRET")

DIRTY_XMP = (
    '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
    '<rdf:Description rdf:about="" xmlns:exif="http://ns.adobe.com/exif/1.0/"'
    ' exif:GPSLatitude="52,22.5N" exif:GPSLongitude="4,53.6E"/>'
    '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
).encode()


def picture(size: tuple[int, int], mode: str = "RGB", seed: int = 1) -> Image.Image:
    """A non-uniform picture (gradient, shapes, a little noise) so encoders and resamplers do real work
    and orientation mistakes are visible: the top-left corner is red, the top-right green."""
    width, height = size
    base = Image.linear_gradient("L").resize(size)
    noise = Image.effect_noise(size, 12 + seed).convert("L")
    image = Image.merge("RGB", (base, noise, base.transpose(Image.Transpose.FLIP_LEFT_RIGHT)))
    draw = ImageDraw.Draw(image)
    corner = max(2, min(width, height) // 5)
    draw.rectangle((0, 0, corner, corner), fill=(255, 0, 0))
    draw.rectangle((width - corner - 1, 0, width - 1, corner), fill=(0, 255, 0))
    draw.ellipse((width // 4, height // 4, width // 2, height // 2), fill=(30, 60, 200))
    if mode == "RGBA":
        alpha = Image.linear_gradient("L").rotate(90).resize(size)
        image.putalpha(alpha)
    elif mode != "RGB":
        image = image.convert(mode)
    return image


def encode(image: Image.Image, fmt: str, **options: object) -> bytes:
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


# -- EXIF by hand (Pillow cannot write an IFD1 thumbnail) ---------------------------------------------------

_ASCII, _SHORT, _LONG, _RATIONAL, _UNDEFINED = 2, 3, 4, 5, 7


def _ifd(entries: list[tuple[int, int, bytes, int]], start: int, next_ifd: int) -> bytes:
    """One little-endian IFD at offset ``start``: entries are (tag, type, value bytes, count); values
    longer than 4 bytes go right after the IFD."""
    entries = sorted(entries)
    table = struct.pack("<H", len(entries))
    data_at = start + 2 + 12 * len(entries) + 4
    extra = b""
    for tag, kind, value, count in entries:
        if len(value) <= 4:
            table += struct.pack("<HHI", tag, kind, count) + value.ljust(4, b"\x00")
        else:
            table += struct.pack("<HHII", tag, kind, count, data_at + len(extra))
            extra += value + (b"\x00" if len(value) % 2 else b"")
    return table + struct.pack("<I", next_ifd) + extra


def _ascii(text: bytes) -> tuple[bytes, int]:
    return text + b"\x00", len(text) + 1


def dirty_exif(orientation: int = 1, artist: bytes | None = None) -> bytes:
    """APP1-ready EXIF ("Exif\\0\\0" + TIFF): IFD0 (Make, Orientation, Artist, pointers), Exif IFD
    (MakerNote, serial numbers, owner), GPS IFD (latitude/longitude), IFD1 with a JPEG thumbnail."""
    thumbnail = encode(picture((64, 48)), "JPEG", quality=50)
    thumbnail = thumbnail[:2] + b"\xff\xfe" + struct.pack(">H", 18) + b"THUMBNAIL-SECRET" + thumbnail[2:]
    rational = b"".join(struct.pack("<II", n, d) for n, d in ((52, 1), (22, 1), (1500, 100)))

    def layout(offsets: dict[str, int]) -> dict[str, bytes]:
        make, make_n = _ascii(b"Canon")
        ifd0 = [(0x010F, _ASCII, make, make_n), (0x0112, _SHORT, struct.pack("<H", orientation), 1),
                (0x8769, _LONG, struct.pack("<I", offsets["exif"]), 1),
                (0x8825, _LONG, struct.pack("<I", offsets["gps"]), 1)]
        if artist is not None:
            value, count = _ascii(artist)
            ifd0.append((0x013B, _ASCII, value, count))
        serial, serial_n = _ascii(b"SERIAL-0042")
        owner, owner_n = _ascii(b"OWNER-SECRET")
        maker = b"MAKERNOTE-SECRET" * 4
        exif_ifd = [(0x927C, _UNDEFINED, maker, len(maker)), (0xA431, _ASCII, serial, serial_n),
                    (0xA430, _ASCII, owner, owner_n), (0xA435, _ASCII, serial, serial_n)]
        gps = [(0x0000, 1, b"\x02\x03\x00\x00", 4), (0x0001, _ASCII, b"N\x00", 2),
               (0x0002, _RATIONAL, rational, 3), (0x0003, _ASCII, b"E\x00", 2),
               (0x0004, _RATIONAL, rational, 3)]
        ifd1 = [(0x0103, _SHORT, struct.pack("<H", 6), 1),
                (0x0201, _LONG, struct.pack("<I", offsets["thumb"]), 1),
                (0x0202, _LONG, struct.pack("<I", len(thumbnail)), 1)]
        return {"ifd0": _ifd(ifd0, 8, offsets["ifd1"]), "exif": _ifd(exif_ifd, offsets["exif"], 0),
                "gps": _ifd(gps, offsets["gps"], 0), "ifd1": _ifd(ifd1, offsets["ifd1"], 0)}

    offsets = {"exif": 0, "gps": 0, "ifd1": 0, "thumb": 0}
    for _ in range(3):  # sizes do not depend on offsets, so two passes settle them
        parts = layout(offsets)
        position = 8
        for key in ("ifd0", "exif", "gps", "ifd1"):
            if key != "ifd0":
                offsets[key] = position
            position += len(parts[key])
        offsets["thumb"] = position
    parts = layout(offsets)
    tiff = b"II*\x00" + struct.pack("<I", 8) + b"".join(parts[k] for k in ("ifd0", "exif", "gps", "ifd1"))
    return b"Exif\x00\x00" + tiff + thumbnail


def jpeg_segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def dirty_jpeg(size: tuple[int, int] = (640, 480), orientation: int = 1, **options: object) -> bytes:
    """A JPEG with every metadata kind to drop: EXIF (GPS, MakerNote, serials, thumbnail), XMP with
    exif:GPSLatitude, an APP13 IPTC block, a comment."""
    data = encode(picture(size), "JPEG", quality=90, exif=dirty_exif(orientation), xmp=DIRTY_XMP, **options)
    extra = (jpeg_segment(0xED, b"Photoshop 3.0\x008BIM\x04\x04\x00\x00\x00\x00\x00\x0bIPTC-SECRET\x00")
             + jpeg_segment(0xFE, b"COMMENT-SECRET"))
    return data[:2] + extra + data[2:]


def dirty_png(image: Image.Image | None = None) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "PNG-TEXT-SECRET at GPSLatitude 52.37")
    info.add_text("Location", "PNG-TEXT-SECRET", zip=True)
    info.add_itxt("XML:com.adobe.xmp", DIRTY_XMP.decode(), zip=False)
    return encode(image or picture((320, 240)), "PNG", pnginfo=info, exif=dirty_exif()[6:])


# -- hand-made headers for bombs ---------------------------------------------------------------------------


def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_claiming(width: int, height: int) -> bytes:
    """A tiny PNG (well under 100 bytes) whose IHDR claims ``width`` x ``height`` RGB pixels."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(b"\x00" * 64))
            + png_chunk(b"IEND", b""))


def jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose frame header is patched to claim ``width`` x ``height``."""
    data = bytearray(encode(Image.new("RGB", (16, 16), (9, 9, 9)), "JPEG"))
    sof = data.index(b"\xff\xc0")
    struct.pack_into(">HH", data, sof + 5, height, width)
    return bytes(data)


def gif_frames(count: int, size: tuple[int, int] = (1, 1)) -> bytes:
    """A GIF with ``count`` frames, written block by block (Pillow would take far longer to save it)."""
    width, height = size
    header = b"GIF89a" + struct.pack("<HHBBB", width, height, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    # LZW (min code size 2) for a 1x1 image of colour 0: clear(4), 0, end(5) in 3-bit codes.
    lzw = b"\x02\x02\x44\x01\x00"
    frame = (b"\x21\xf9\x04\x00\x0a\x00\x00\x00"  # graphic control: 100 ms
             + b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0) + lzw)
    return header + loop + frame * count + b"\x3b"


def animated_gif(frames: int = 6, size: tuple[int, int] = (120, 80), durations: Sequence[int] | None = None,
                 transparent: bool = False, loop: int | None = 0) -> bytes:
    images = []
    for i in range(frames):
        background = (0, 0, 0, 0) if transparent else (255, 255, 255)
        image = Image.new("RGBA" if transparent else "RGB", size, background)
        draw = ImageDraw.Draw(image)
        x = i * (size[0] - 20) // max(1, frames - 1)
        margin = size[1] // 8
        draw.rectangle((x, margin, x + 19, size[1] - margin - 1), fill=(200, 20 * i % 256, 40, 255))
        images.append(image)
    options: dict[str, object] = {"save_all": True, "append_images": images[1:],
                                  "duration": list(durations or [80] * frames), "disposal": 2}
    if loop is not None:
        options["loop"] = loop
    return encode(images[0], "GIF", **options)
