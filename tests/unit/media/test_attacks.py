"""security.md section E (image uploads, items 32-37) attacked at the library level.

Every refused upload must raise a MediaError with the right status and leave the storage empty. "No large
allocation" and "refused quickly" are shown deterministically, without clocks: for the bombs, Pillow's
``Image.open`` is replaced by a trap, so the refusal provably comes from the header walk, before any
decoder could allocate or loop.
"""

from __future__ import annotations

import io
import os
import struct
import warnings
from pathlib import Path
from typing import Any

import pytest
from PIL import Image, ImageFile

import media.probe
from media import (InvalidMedia, InvalidStorageName, LocalStorage, MediaError, MediaLimits, MediaStorage,
                   ProcessedMedia, TooLarge, UnsupportedMedia, process_upload, validate_storage_name)
from media.storage import MemoryStorage

from .imagegen import encode, gif_frames, jpeg_claiming, picture, png_chunk, png_claiming

POLICY = "https://art.example/about/ai"


def upload(data: bytes, storage: MediaStorage, **options: Any) -> ProcessedMedia:
    limits = options.pop("limits", MediaLimits())
    return process_upload(data, limits=limits, artist_name="Ada", policy_url=POLICY, storage=storage,
                          **options)


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


@pytest.fixture
def storage(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "media")


@pytest.fixture
def no_decoder(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any call into Pillow's opener fails the test: the refusal must come first."""
    def trap(*args: object, **kwargs: object) -> None:
        raise AssertionError("Pillow was asked to open a file the header walk should have refused")

    monkeypatch.setattr(media.probe.Image, "open", trap)


def refused(data: bytes, storage: LocalStorage, error: type[MediaError], **options: object) -> MediaError:
    with pytest.raises(error) as caught:
        upload(data, storage, **options)
    assert stored_files(storage.root) == []
    assert caught.value.message and len(caught.value.message) < 200
    return caught.value


# -- E32 decompression bombs --------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_decoder")
def test_e32_tiny_png_claiming_10000_square_is_refused_before_decoding(storage: LocalStorage) -> None:
    data = png_claiming(10_000, 10_000)
    assert len(data) < 100
    # Exactly at the 100 MP cap, so the size alone passes; 64 bytes of deflate cannot hold 300 MB of
    # pixels (deflate's best ratio is 1032:1), so the file is refused as damaged without decoding.
    error = refused(data, storage, InvalidMedia)
    assert error.http_status == 422


@pytest.mark.usefixtures("no_decoder")
def test_e32_tiny_png_claiming_20000_square_is_too_large(storage: LocalStorage) -> None:
    data = png_claiming(20_000, 20_000)
    assert len(data) < 100
    assert refused(data, storage, TooLarge).http_status == 422


@pytest.mark.usefixtures("no_decoder")
def test_e32_jpeg_claiming_65535_square_is_too_large(storage: LocalStorage) -> None:
    refused(jpeg_claiming(65_535, 65_535), storage, TooLarge)


@pytest.mark.usefixtures("no_decoder")
def test_e32_small_jpeg_claiming_10000_square_is_refused_as_implausible(storage: LocalStorage) -> None:
    refused(jpeg_claiming(10_000, 10_000), storage, InvalidMedia)


def test_e32_pillow_bomb_error_and_warning_become_too_large(storage: LocalStorage,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    data = encode(picture((60, 60)), "PNG")  # 3600 pixels
    # Pillow's own guard, lowered for the test: an error above twice the limit...
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 1000)
    refused(data, storage, TooLarge)
    # ...and a warning above the limit, which an app may turn into an error.
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        refused(data, storage, TooLarge)


def test_e32_the_cap_is_ours_not_pillows(storage: LocalStorage) -> None:
    # Below Pillow's 89 MP warning threshold, our own (caller's) cap still applies.
    data = encode(picture((300, 200)), "PNG")
    refused(data, storage, TooLarge, limits=MediaLimits(max_pixels=59_999))


# -- E33 animation bombs ----------------------------------------------------------------------------------


@pytest.mark.usefixtures("no_decoder")
def test_e33_ten_thousand_frame_gif_is_refused_from_the_header(storage: LocalStorage) -> None:
    data = gif_frames(10_000)
    error = refused(data, storage, TooLarge)
    # The walk stopped at the first frame past the cap, it did not count all 10 000.
    assert "more than 1000 frames" in error.message


@pytest.mark.usefixtures("no_decoder")
def test_e33_frames_times_pixels_are_capped(storage: LocalStorage) -> None:
    data = gif_frames(10_000, size=(250, 250))
    error = refused(data, storage, TooLarge, limits=MediaLimits(max_frames=1_000_000))
    assert "animation too large" in error.message


def test_e33_frame_count_walk_stops_early(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    original = MediaLimits.check_frames

    def spy(self: MediaLimits, frames: int, width: int, height: int) -> None:
        calls.append(frames)
        original(self, frames, width, height)

    monkeypatch.setattr(MediaLimits, "check_frames", spy)
    with pytest.raises(TooLarge):
        media.probe.probe_image(gif_frames(10_000), MediaLimits(max_frames=50))
    assert max(calls) == 51


# -- E34 format allow-list by content ------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "what"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><script>fetch("/api/v1/accounts")</script></svg>', "SVG"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 1 1\n(x) print\n", "EPS"),
    (b"8BPS\x00\x01\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x10\x00\x00\x00\x10\x00\x08\x00\x03", "PSD"),
    (b"SIMPLE  =                    T / FITS\nBITPIX  =                    8\nEND" + b" " * 2800, "FITS"),
    (b"<!doctype html><html><body><img src=x onerror=alert(1)></body></html>", "HTML"),
])
def test_e34_non_images_are_unsupported_media(storage: LocalStorage, data: bytes, what: str) -> None:
    error = refused(data, storage, UnsupportedMedia)
    assert error.http_status == 415 and what in error.message


def test_e34_pillow_is_only_ever_offered_the_sniffed_format(monkeypatch: pytest.MonkeyPatch) -> None:
    # Even if a file slipped past the signature check, Image.open is only ever given the expected format.
    seen: list[object] = []
    real_open = Image.open

    def spy(fp: object, mode: str = "r", formats: object = None) -> Image.Image:
        seen.append(formats)
        return real_open(fp, mode, formats)  # type: ignore[arg-type]

    monkeypatch.setattr(media.probe.Image, "open", spy)
    upload(encode(picture((40, 30)), "PNG"), MemoryStorage())
    assert seen == [["PNG"]]


def test_e34_truncated_jpeg_is_invalid(storage: LocalStorage) -> None:
    data = encode(picture((300, 200)), "JPEG", quality=95)
    refused(data[: len(data) * 2 // 3], storage, InvalidMedia)


@pytest.mark.parametrize("fmt", ["PNG", "WEBP", "GIF"])
def test_e34_truncated_png_webp_gif_are_invalid(storage: LocalStorage, fmt: str) -> None:
    image = picture((300, 200))
    data = encode(image.convert("P") if fmt == "GIF" else image, fmt)
    refused(data[: len(data) * 2 // 3], storage, InvalidMedia)


def corrupt_png_idat(recompute_crc: bool) -> bytes:
    """With ``recompute_crc``: a well-formed chunk whose deflate stream stops half-way (every chunk and
    IEND present, so only the decoder can tell); without: one flipped bit, the chunk CRC left stale."""
    data = encode(Image.effect_noise((200, 150), 50), "PNG")  # noise: a single, incompressible IDAT
    pos = data.index(b"IDAT") - 4
    length = struct.unpack(">I", data[pos:pos + 4])[0]
    body = data[pos + 8:pos + 8 + length]
    if recompute_crc:
        chunk = png_chunk(b"IDAT", body[: len(body) // 2])
    else:
        flipped = bytearray(body)
        flipped[len(body) // 2] ^= 0x01
        chunk = data[pos:pos + 8] + bytes(flipped) + data[pos + 8 + length:pos + 12 + length]
    return data[:pos] + chunk + data[pos + 12 + length:]


@pytest.mark.parametrize("make", [
    lambda: corrupt_png_idat(recompute_crc=True),
    lambda: corrupt_png_idat(recompute_crc=False),
    lambda: (lambda gif: gif[:900] + b"\xff" * 20 + gif[920:])(encode(picture((200, 150)).convert("P"), "GIF")),
], ids=["png-deflate", "png-crc", "gif-lzw"])
def test_e34_damaged_image_data_is_invalid(storage: LocalStorage, make) -> None:  # type: ignore[no-untyped-def]
    refused(make(), storage, InvalidMedia)


def test_e34_truncated_images_stay_refused_even_if_pillow_is_told_otherwise(
        storage: LocalStorage, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(RuntimeError, match="LOAD_TRUNCATED_IMAGES"):
        upload(encode(picture((30, 20)), "JPEG"), storage)
    assert stored_files(storage.root) == []


def test_e34_gif_named_png_is_processed_as_the_gif_it_is() -> None:
    result = upload(encode(picture((30, 20)).convert("P"), "GIF"), MemoryStorage())
    assert result.source_content_type == "image/gif"


# -- E35 polyglots are re-encoded ----------------------------------------------------------------------------


@pytest.mark.parametrize("payload", [
    b"<html><script>alert(document.cookie)</script></html>",
    b'{"@context":"https://www.w3.org/ns/activitystreams","type":"Note"}',
    b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"evil.py" + b"\x00" * 30 + b"PK\x05\x06" + b"\x00" * 18,
])
@pytest.mark.parametrize("untouched", [False, True])
def test_e35_appended_payloads_are_absent_from_every_output(payload: bytes, untouched: bool) -> None:
    data = encode(picture((200, 150)), "JPEG") + payload
    storage = MemoryStorage()
    result = upload(data, storage, pixels_untouched=untouched)
    assert len(storage.names()) == 5  # full size (the kept upload, also the untouched copy), 2 previews, 2 thumbnails
    for name in storage.names():
        out = storage.open(name).read()
        assert out != data
        for marker in (b"<html", b"<script", b"activitystreams", b"PK\x03\x04", b"PK\x05\x06", b"evil.py"):
            assert marker not in out, (name, marker)
        with Image.open(io.BytesIO(out)) as image:
            image.load()
    assert result.full.webp == result.full.federation  # one full-size file
    assert {result.full.federation.content_type, result.preview.federation.content_type} == {"image/jpeg"}
    assert result.preview.webp.content_type == "image/webp"


# -- E37 storage names are ours ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [
    "../../app/x.py", "..", "../x.jpg", "/etc/passwd", "ab/cd/../../../etc/passwd", "x.jpg\x00.png",
    "a" * 5000, "ab/cd/abcd" + "0" * 28 + ".jpg\u202egpj", "..%2f..%2fetc/passwd", "ab\\cd\\x.jpg",
    "AB/CD/ABCD" + "0" * 28 + ".JPG", "ab/cd/ef" + "0" * 30 + ".jpg", "ab/cd/abcd" + "0" * 28 + ".php",
    "ab/cd/abcd" + "0" * 28 + ".jpg/", "ab/cd/abcd" + "0" * 28 + ".jpg\n", "", None, 42,
    "ab/cd/abcd" + "0" * 27 + "\u0660.jpg",  # an Arabic-Indic digit is a digit to \d, not to [0-9a-f]
])
def test_e37_names_that_are_not_ours_never_reach_the_filesystem(tmp_path: Path, name: object) -> None:
    storage = LocalStorage(tmp_path / "media")
    with pytest.raises(InvalidStorageName):
        validate_storage_name(name)
    for call in (storage.open, storage.stat, storage.delete):
        with pytest.raises(InvalidStorageName):
            call(name)  # type: ignore[arg-type]


def test_e37_stored_files_live_under_random_names_inside_the_root(tmp_path: Path) -> None:
    root = tmp_path / "media"
    storage = LocalStorage(root)
    result = upload(encode(picture((64, 48)), "JPEG"), storage)
    names = result.storage_names
    assert len(set(names)) == len(names) == 5
    for name in names:
        assert validate_storage_name(name) == name
        path = storage.path(name)
        assert path.resolve().is_relative_to(root.resolve())
        assert path.is_file()
    assert sorted(p.relative_to(root).as_posix() for p in stored_files(root)) == sorted(names)
    # Nothing anywhere else under tmp_path.
    assert [p for p in tmp_path.rglob("*") if p.is_file() and not p.is_relative_to(root)] == []


def test_e37_a_symlinked_shard_cannot_lead_out_of_the_root(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    storage = LocalStorage(tmp_path / "media")
    (storage.root / "ab").mkdir()
    os.symlink(outside, storage.root / "ab" / "cd")
    with pytest.raises(InvalidStorageName):
        storage.path("ab/cd/abcd" + "0" * 28 + ".jpg")
