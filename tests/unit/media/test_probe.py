"""Probing: formats from the bytes only, caps from the header before decoding, typed refusals."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from media import ImageFormat, InvalidMedia, MediaError, MediaLimits, TooLarge, UnsupportedMedia, probe_image
from media.probe import open_image, probe_and_open

from .imagegen import animated_gif, encode, gif_frames, jpeg_claiming, picture, png_chunk, png_claiming

LIMITS = MediaLimits()


def heif_bytes(image: Image.Image) -> bytes:
    import pillow_heif  # noqa: F401 - media.probe registered the opener; saving needs the plugin loaded

    return encode(image, "HEIF", quality=70)


@pytest.mark.parametrize(("fmt", "make"), [
    (ImageFormat.JPEG, lambda: encode(picture((40, 30)), "JPEG")),
    (ImageFormat.PNG, lambda: encode(picture((40, 30)), "PNG")),
    (ImageFormat.WEBP, lambda: encode(picture((40, 30)), "WEBP")),
    (ImageFormat.WEBP, lambda: encode(picture((40, 30)), "WEBP", lossless=True)),
    (ImageFormat.WEBP, lambda: encode(picture((40, 30), "RGBA"), "WEBP")),
    (ImageFormat.GIF, lambda: encode(picture((40, 30)).convert("P"), "GIF")),
    (ImageFormat.AVIF, lambda: encode(picture((40, 30)), "AVIF", quality=60)),
    (ImageFormat.HEIF, lambda: heif_bytes(picture((40, 30)))),
])
def test_accepted_formats_are_identified_with_their_size(fmt: ImageFormat, make) -> None:
    data = make()
    probed = probe_image(data, LIMITS)
    assert probed.format is fmt
    if fmt in (ImageFormat.HEIF, ImageFormat.AVIF):
        # The header gives the coded size (HEVC pads to whole blocks, cropped by a clap box): an upper
        # bound, enough for the caps; Pillow then reports the exact size.
        assert probed.width >= 40 and probed.height >= 30
    else:
        assert (probed.width, probed.height) == (40, 30)
    assert probed.frames == 1 and not probed.animated
    image, opened = probe_and_open(data, LIMITS)
    with image:
        assert image.size == (40, 30)
        assert opened.format is fmt and (opened.width, opened.height) == (40, 30)


def test_animations_are_counted_from_the_header() -> None:
    probed = probe_image(animated_gif(frames=7, durations=[10, 20, 30, 40, 50, 60, 70]), LIMITS)
    assert probed.format is ImageFormat.GIF and probed.frames == 7 and probed.animated
    # 10 ms shows as 100 ms in browsers, so that is what the copies keep.
    assert probed.durations == (100, 20, 30, 40, 50, 60, 70)
    frames = [picture((32, 32), seed=i) for i in range(4)]
    webp = encode(frames[0], "WEBP", save_all=True, append_images=frames[1:], duration=[40, 50, 60, 70])
    probed = probe_image(webp, LIMITS)
    assert (probed.format, probed.frames, probed.durations) == (ImageFormat.WEBP, 4, (40, 50, 60, 70))
    apng = encode(frames[0], "PNG", save_all=True, append_images=frames[1:], duration=[40, 50, 60, 70])
    probed = probe_image(apng, LIMITS)
    assert (probed.format, probed.frames, probed.durations) == (ImageFormat.PNG, 4, (40, 50, 60, 70))


def test_the_name_and_content_type_play_no_part() -> None:
    # The API takes bytes only; a GIF "named .png" is a GIF, an HTML page "named .jpg" is refused.
    assert probe_image(encode(picture((8, 8)).convert("P"), "GIF"), LIMITS).format is ImageFormat.GIF
    with pytest.raises(UnsupportedMedia, match="HTML"):
        probe_image(b"<!DOCTYPE html><html><script>alert(1)</script></html>", LIMITS)


@pytest.mark.parametrize(("data", "named"), [
    (b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "SVG"),
    (b"<svg onload=alert(1)>", "SVG"),
    (b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 10 10\n", "EPS"),
    (b"\xc5\xd0\xd3\xc6" + b"\x00" * 40, "EPS"),
    (b"8BPS\x00\x01" + b"\x00" * 40, "PSD"),
    (b"SIMPLE  =                    T" + b" " * 50 + b"BITPIX  =                    8", "FITS"),
    (b"<html><body>not an image</body></html>", "HTML"),
    (b"%PDF-1.7\n", "PDF"),
    (b"II*\x00\x08\x00\x00\x00", "TIFF"),
    (b"BM" + b"\x00" * 60, "BMP"),
    (b"PK\x03\x04" + b"\x00" * 40, "ZIP"),
    (b"", "unknown"),
    (b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom", "ISO media"),
])
def test_everything_else_is_unsupported_media(data: bytes, named: str) -> None:
    with pytest.raises(UnsupportedMedia) as caught:
        probe_image(data, LIMITS)
    assert named in caught.value.message
    assert caught.value.http_status == 415


def test_real_eps_psd_and_fits_from_pillow_are_refused() -> None:
    image = picture((16, 16))
    eps = io.BytesIO()
    try:
        image.save(eps, "EPS")
    except OSError:  # Pillow writes EPS without Ghostscript
        pytest.skip("Pillow could not write EPS here")
    with pytest.raises(UnsupportedMedia):
        probe_image(eps.getvalue(), LIMITS)


def test_caps_from_the_header() -> None:
    data = encode(picture((100, 50)), "PNG")
    with pytest.raises(TooLarge, match="bytes"):
        probe_image(data, MediaLimits(max_bytes=len(data) - 1))
    probe_image(data, MediaLimits(max_bytes=len(data)))
    with pytest.raises(TooLarge, match="pixels"):
        probe_image(data, MediaLimits(max_pixels=4999))
    probe_image(data, MediaLimits(max_pixels=5000))
    gif = animated_gif(frames=5, size=(20, 10))
    with pytest.raises(TooLarge, match="animation"):
        probe_image(gif, MediaLimits(max_animation_pixels=999))
    probe_image(gif, MediaLimits(max_animation_pixels=1000))
    with pytest.raises(TooLarge, match="frames"):
        probe_image(gif, MediaLimits(max_frames=4))


def test_errors_are_media_errors_with_statuses() -> None:
    assert issubclass(UnsupportedMedia, MediaError) and UnsupportedMedia.http_status == 415
    assert issubclass(InvalidMedia, MediaError) and InvalidMedia.http_status == 422
    assert issubclass(TooLarge, MediaError) and TooLarge.http_status == 422


@pytest.mark.parametrize("data", [
    b"\xff\xd8\xff",  # JPEG signature only
    b"\xff\xd8\xff\xe0\x00\x10JFIF",  # cut inside the first segment
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR",  # cut inside IHDR
    b"GIF89a\x01\x00",
    b"RIFF\xff\x00\x00\x00WEBPVP8 ",
    b"\x00\x00\x00\x14ftypavif\x00\x00\x00\x00mif1",  # no meta box, no size
])
def test_damaged_headers_are_invalid_media(data: bytes) -> None:
    with pytest.raises(InvalidMedia):
        probe_image(data, LIMITS)


def test_png_without_iend_is_truncated() -> None:
    data = encode(picture((30, 30)), "PNG")
    with pytest.raises(InvalidMedia, match="truncated"):
        probe_image(data[:-12], LIMITS)


def test_lossless_and_arithmetic_jpegs_are_unsupported() -> None:
    data = bytearray(encode(picture((16, 16)), "JPEG"))
    data[data.index(b"\xff\xc0") + 1] = 0xC9  # arithmetic-coded sequential
    with pytest.raises(UnsupportedMedia):
        probe_image(bytes(data), LIMITS)


def test_size_mismatch_between_our_header_walk_and_pillow_is_refused() -> None:
    data = encode(picture((30, 20)), "PNG")
    probed = probe_image(data, LIMITS)
    from dataclasses import replace

    with pytest.raises(InvalidMedia):
        open_image(data, replace(probed, width=31), LIMITS)


def test_png_chunk_helper_builds_valid_chunks() -> None:
    # The bombs below are hand-made; make sure the helper itself yields something Pillow parses.
    data = png_claiming(3, 2)
    assert len(data) < 100
    assert Image.open(io.BytesIO(data)).size == (3, 2)
    assert png_chunk(b"IEND", b"").endswith(b"\xae\x42\x60\x82")
    assert probe_image(jpeg_claiming(20, 20), LIMITS).width == 20
    assert probe_image(gif_frames(3), LIMITS).frames == 3
