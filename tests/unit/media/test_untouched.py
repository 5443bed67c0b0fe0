"""Pixels-untouched mode: the original JPEG/PNG's encoded image data is kept byte for byte, only its
metadata is rewritten (GPS gone, allow-list EXIF, no-AI XMP).

Two proofs: Pillow decodes original and copy to identical pixels, and the compressed data (JPEG tables,
frame header and scans; PNG IDAT/fdAT) is the same bytes, extracted here by a deliberately naive walker
independent of media.jpeg_meta / media.png_meta.
"""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from media import InvalidMedia, MediaLimits, process_upload
from media.jpeg_meta import rewrite_jpeg_metadata
from media.png_meta import rewrite_png_metadata
from media.storage import MemoryStorage

from .imagegen import SECRETS, dirty_jpeg, dirty_png, encode, picture
from .readback import DMI_PROHIBITED, xmp_description

POLICY = "https://art.example/about/ai"


def untouched_of(data: bytes) -> bytes:
    storage = MemoryStorage()
    result = process_upload(data, limits=MediaLimits(), artist_name="Ada", policy_url=POLICY,
                            storage=storage, pixels_untouched=True)
    assert result.untouched is not None
    assert result.untouched.content_type in ("image/jpeg", "image/png")
    return storage.open(result.untouched.name).read()


def naive_jpeg_image_data(data: bytes) -> bytes:
    """Every non-APPn, non-COM segment up to SOS, then everything from SOS to the final EOI."""
    pos, kept = 2, b""
    while True:
        marker = data[pos + 1]
        length = struct.unpack(">H", data[pos + 2:pos + 4])[0]
        if marker == 0xDA:
            return kept + data[pos:data.rindex(b"\xff\xd9") + 2]
        if not (0xE0 <= marker <= 0xEF or marker == 0xFE):
            kept += data[pos:pos + 2 + length]
        pos += 2 + length


def naive_png_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    pos, chunks = 8, []
    while pos < len(data):
        length = struct.unpack(">I", data[pos:pos + 4])[0]
        chunks.append((data[pos + 4:pos + 8], data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return chunks


def same_pixels(a: bytes, b: bytes) -> None:
    with Image.open(io.BytesIO(a)) as first, Image.open(io.BytesIO(b)) as second:
        first.load()
        second.load()
        assert first.mode == second.mode and first.size == second.size
        assert first.tobytes() == second.tobytes()


def common_checks(original: bytes, copy: bytes) -> None:
    assert copy != original
    same_pixels(original, copy)
    for secret in SECRETS:
        assert secret not in copy, secret
    description = xmp_description(copy)
    assert description["DataMining"] == DMI_PROHIBITED
    assert description["WebStatement"] == POLICY


@pytest.mark.parametrize("options", [
    {}, {"progressive": True}, {"restart_marker_blocks": 4}, {"subsampling": 0}, {"optimize": True},
], ids=["baseline", "progressive", "restart-markers", "444", "optimized"])
def test_jpeg_scan_data_and_pixels_are_unchanged(options: dict[str, object]) -> None:
    original = dirty_jpeg(orientation=6, **options)
    copy = untouched_of(original)
    common_checks(original, copy)
    assert naive_jpeg_image_data(copy) == naive_jpeg_image_data(original)
    assert copy.startswith(b"\xff\xd8\xff\xe0") and copy[6:11] == b"JFIF\x00"  # JFIF stays first
    with Image.open(io.BytesIO(copy)) as image:
        assert image.getexif()[0x0112] == 6


def test_cmyk_jpeg_keeps_its_adobe_segment_and_icc_profile() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()  # stands in for any profile
    original = encode(Image.new("CMYK", (64, 48), (10, 200, 30, 5)), "JPEG", icc_profile=profile)
    assert b"Adobe" in original
    copy = untouched_of(original)
    common_checks(original, copy)
    assert b"Adobe" in copy
    with Image.open(io.BytesIO(copy)) as image:
        assert image.mode == "CMYK" and image.info["icc_profile"] == profile


def test_png_idat_and_pixels_are_unchanged() -> None:
    original = dirty_png()
    copy = untouched_of(original)
    common_checks(original, copy)
    idat = [body for kind, body in naive_png_chunks(original) if kind == b"IDAT"]
    assert [body for kind, body in naive_png_chunks(copy) if kind == b"IDAT"] == idat
    kinds = [kind for kind, _ in naive_png_chunks(copy)]
    assert kinds[0] == b"IHDR" and kinds[-1] == b"IEND"
    assert b"tEXt" not in kinds and b"zTXt" not in kinds and kinds.count(b"iTXt") == 1
    assert kinds.count(b"eXIf") == 1


@pytest.mark.parametrize("make", [
    lambda: encode(Image.new("I;16", (50, 40), 1234), "PNG"),
    lambda: encode(picture((50, 40), "RGBA"), "PNG"),
    lambda: encode(Image.new("P", (30, 20), 1), "PNG", transparency=1),
    lambda: encode(picture((50, 40)), "PNG", icc_profile=ImageCms.ImageCmsProfile(
        ImageCms.createProfile("sRGB")).tobytes(), dpi=(300, 300)),
], ids=["16-bit", "rgba", "palette-trns", "icc-dpi"])
def test_png_variants_keep_their_rendering_chunks(make) -> None:  # type: ignore[no-untyped-def]
    original = make()
    copy = untouched_of(original)
    common_checks(original, copy)
    rendering = {b"PLTE", b"tRNS", b"iCCP", b"pHYs", b"IDAT", b"gAMA", b"sRGB"}
    assert [c for c in naive_png_chunks(copy) if c[0] in rendering] == \
        [c for c in naive_png_chunks(original) if c[0] in rendering]


def test_apng_frames_are_kept() -> None:
    frames = [picture((40, 30), seed=i) for i in range(3)]
    original = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[100, 200, 300])
    copy = untouched_of(original)
    data_chunks = {b"IDAT", b"fdAT", b"fcTL", b"acTL"}
    assert [c for c in naive_png_chunks(copy) if c[0] in data_chunks] == \
        [c for c in naive_png_chunks(original) if c[0] in data_chunks]
    with Image.open(io.BytesIO(copy)) as image, Image.open(io.BytesIO(original)) as source:
        assert image.n_frames == source.n_frames == 3
        for index in range(3):
            image.seek(index)
            source.seek(index)
            assert image.tobytes() == source.tobytes()


def test_other_formats_have_no_untouched_copy() -> None:
    storage = MemoryStorage()
    result = process_upload(encode(picture((40, 30)), "WEBP"), limits=MediaLimits(), artist_name="Ada",
                            policy_url=POLICY, storage=storage, pixels_untouched=True)
    assert result.untouched is None
    assert len(storage.names()) == 5  # the full size re-encoded (one JPEG), preview and thumbnail pairs


def test_rewriters_refuse_broken_structure() -> None:
    exif, xmp = b"Exif\x00\x00" + Image.Exif().tobytes()[6:], b"<x/>"
    jpeg = encode(picture((40, 30)), "JPEG")
    with pytest.raises(InvalidMedia):
        rewrite_jpeg_metadata(jpeg[:-2], exif=exif, xmp=xmp)  # no EOI
    with pytest.raises(InvalidMedia):
        rewrite_jpeg_metadata(jpeg[:300], exif=exif, xmp=xmp)
    png = bytearray(encode(picture((40, 30)), "PNG"))
    png[40] ^= 0xFF  # inside IDAT: checksum no longer matches
    with pytest.raises(InvalidMedia, match="checksum"):
        rewrite_png_metadata(bytes(png), exif_tiff=exif[6:], xmp=xmp)
