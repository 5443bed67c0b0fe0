"""Derivatives: sizes, formats, orientation, colour, alpha, HEIC/AVIF conversion, blurhash, meta."""

from __future__ import annotations

import io

import blurhash
import pytest
from PIL import Image, ImageCms
from PIL.JpegImagePlugin import JpegImageFile

from media import (Focus, ImageFormat, InvalidMedia, MediaLimits, ProcessedMedia, RenderSettings,
                   process_upload)
from media.colour import SRGB_ICC
from media.jpeg_meta import image_data as jpeg_image_data
from media.png_meta import image_data as png_image_data
from media.storage import MemoryStorage

from .imagegen import encode, picture

POLICY = "https://art.example/about/ai"


def upload(data: bytes, **options: object) -> tuple[ProcessedMedia, MemoryStorage]:
    storage = MemoryStorage()
    result = process_upload(data, limits=MediaLimits(), artist_name="Ada", policy_url=POLICY,
                            storage=storage, **options)  # type: ignore[arg-type]
    return result, storage


def opened(storage: MemoryStorage, name: str) -> Image.Image:
    image = Image.open(io.BytesIO(storage.open(name).read()))
    image.load()
    return image


def near(a: tuple[int, ...], b: tuple[int, ...], tolerance: int = 40) -> bool:
    return all(abs(x - y) <= tolerance for x, y in zip(a, b, strict=False))


@pytest.mark.parametrize("keep_source", [True, False])
def test_default_sizes_and_encodings(keep_source: bool) -> None:
    source = encode(picture((3000, 2000)), "JPEG", quality=90)
    result, storage = upload(source, settings=RenderSettings(keep_source=keep_source))
    assert (result.width, result.height) == (3000, 2000)
    for which, size in {"preview": (1280, 853), "thumbnail": (400, 267)}.items():
        rendition = getattr(result, which)
        assert rendition.webp.content_type == "image/webp"
        assert rendition.federation.content_type == "image/jpeg"
        for stored, fmt in ((rendition.webp, "WEBP"), (rendition.federation, "JPEG")):
            image = opened(storage, stored.name)
            assert image.format == fmt and image.mode == "RGB"
            assert image.size == size == (stored.width, stored.height)
            assert stored.size == storage.stat(stored.name).size
            assert stored.name.endswith("." + ("webp" if fmt == "WEBP" else "jpg"))
    full = result.full.federation
    assert result.full.webp == full  # the full size is one JPEG, in both roles
    image = opened(storage, full.name)
    assert full.content_type == "image/jpeg" and image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (3000, 2000) == (full.width, full.height) and full.name.endswith(".jpg")
    # Kept: the upload's own image data, byte for byte; re-encoded: new image data.
    assert (jpeg_image_data(storage.open(full.name).read()) == jpeg_image_data(source)) is keep_source
    assert len(storage.names()) == 5
    assert result.untouched is None and not result.animated and not result.has_alpha


@pytest.mark.parametrize(("case", "make", "settings"), [
    ("rotated", lambda: encode(picture((300, 200)), "JPEG", exif=_orientation_exif(6)), RenderSettings()),
    ("over the cap", lambda: encode(picture((300, 200)), "JPEG"), RenderSettings(full_max_edge=200)),
    ("CMYK", lambda: encode(Image.new("CMYK", (300, 200), (0, 255, 255, 0)), "JPEG"), RenderSettings()),
    ("mismatched profile", lambda: encode(picture((300, 200)), "PNG", icc_profile=ImageCms.ImageCmsProfile(
        ImageCms.createProfile("LAB")).tobytes()), RenderSettings()),
    ("WebP", lambda: encode(picture((300, 200)), "WEBP"), RenderSettings()),
    ("switched off", lambda: encode(picture((300, 200)), "PNG"), RenderSettings(keep_source=False)),
])
def test_uploads_readers_could_show_differently_are_re_encoded(case: str, make: object, settings: RenderSettings
                                                               ) -> None:
    data = make()  # type: ignore[operator]
    result, storage = upload(data, settings=settings)
    out = storage.open(result.full.federation.name).read()
    assert out[:16] != data[:16] or len(out) != len(data)
    with Image.open(io.BytesIO(out)) as image:
        assert image.mode in ("RGB", "RGBA") and 0x0112 not in image.getexif()
        assert max(image.size) <= settings.full_max_edge
    assert len(storage.names()) == 5


def _orientation_exif(value: int) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = value
    return exif.tobytes()


def test_a_kept_png_keeps_its_image_chunks_and_its_own_mode() -> None:
    grey = Image.new("I;16", (120, 80), 40_000)
    source = encode(grey, "PNG")
    result, storage = upload(source)
    out = storage.open(result.full.federation.name).read()
    assert png_image_data(out) == png_image_data(source)
    with Image.open(io.BytesIO(out)) as image:
        assert image.mode == "I;16" and image.getpixel((10, 10)) == 40_000
    preview = opened(storage, result.preview.webp.name)
    assert preview.mode == "RGB" and near(preview.getpixel((10, 10)), (155, 155, 155), 3)  # type: ignore[arg-type]


def test_full_size_copy_is_capped_and_small_images_are_never_enlarged() -> None:
    settings = RenderSettings(full_max_edge=1000, preview_edge=500, thumbnail_edge=100)
    result, _ = upload(encode(picture((1500, 3000)), "PNG"), settings=settings)
    assert (result.full.webp.width, result.full.webp.height) == (500, 1000)
    assert (result.preview.webp.width, result.preview.webp.height) == (250, 500)
    assert (result.thumbnail.webp.width, result.thumbnail.webp.height) == (50, 100)
    result, _ = upload(encode(picture((200, 120)), "PNG"))
    for rendition in (result.full, result.preview, result.thumbnail):
        assert (rendition.webp.width, rendition.webp.height) == (200, 120)


def test_jpeg_is_decoded_in_draft_mode_at_the_size_needed(monkeypatch: pytest.MonkeyPatch) -> None:
    requested: list[tuple[int, int]] = []
    real_draft = JpegImageFile.draft

    def spy(self: JpegImageFile, mode: str | None,
            size: tuple[int, int] | None) -> tuple[str, tuple[int, int, float, float]] | None:
        assert size is not None
        requested.append(size)
        result = real_draft(self, mode, size)
        assert self.size[0] >= size[0] and self.size[1] >= size[1]
        return result

    monkeypatch.setattr(JpegImageFile, "draft", spy)
    settings = RenderSettings(full_max_edge=500, preview_edge=300, thumbnail_edge=100)
    result, _ = upload(encode(picture((2400, 1600)), "JPEG"), settings=settings)
    assert requested == [(500, 333)]
    assert (result.full.webp.width, result.full.webp.height) == (500, 333)


@pytest.mark.parametrize("orientation", [1, 3, 6, 8])
def test_exif_orientation_is_applied_to_every_derivative(orientation: int) -> None:
    exif = Image.Exif()
    exif[0x0112] = orientation
    stored = picture((400, 300))  # red top-left, green top-right, as stored
    result, storage = upload(encode(stored, "JPEG", quality=95, exif=exif))
    upright = (300, 400) if orientation in (6, 8) else (400, 300)
    assert (result.width, result.height) == upright
    # Where the stored top-left (red) and top-right (green) corners are seen once upright.
    red_at, green_at = {1: ((5, 5), (-6, 5)), 3: ((-6, -6), (5, -6)),
                        6: ((-6, 5), (-6, -6)), 8: ((5, -6), (5, 5))}[orientation]
    for rendition in (result.full, result.preview, result.thumbnail):
        for stored_file in (rendition.webp, rendition.federation):
            image = opened(storage, stored_file.name)
            w, h = image.size
            assert (w > h) == (upright[0] > upright[1])
            scale = w / upright[0]
            def at(corner: tuple[int, int]) -> tuple[int, ...]:
                x, y = corner
                x = int(x * scale) if x >= 0 else w + int(x * scale) - 1
                y = int(y * scale) if y >= 0 else h + int(y * scale) - 1
                return image.getpixel((max(0, x), max(0, y)))  # type: ignore[return-value]
            assert near(at(red_at), (255, 0, 0), 60), (orientation, stored_file.name)
            assert near(at(green_at), (0, 255, 0), 60), (orientation, stored_file.name)
            assert 0x0112 not in image.getexif()


def test_an_rgb_icc_profile_is_kept_byte_for_byte() -> None:
    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for fmt in ("JPEG", "PNG", "WEBP"):
        result, storage = upload(encode(picture((300, 200)), fmt, icc_profile=profile))
        for rendition in (result.full, result.preview, result.thumbnail):
            for stored in (rendition.webp, rendition.federation):
                assert opened(storage, stored.name).info.get("icc_profile") == profile


def test_cmyk_jpeg_becomes_rgb_with_the_right_colours() -> None:
    cmyk = Image.new("CMYK", (200, 100), (0, 255, 255, 0))  # red in ink
    result, storage = upload(encode(cmyk, "JPEG", quality=95))
    for stored in (result.full.webp, result.full.federation, result.thumbnail.federation):
        image = opened(storage, stored.name)
        assert image.mode == "RGB"
        assert near(image.getpixel((50, 50)), (255, 0, 0))  # type: ignore[arg-type]
        assert "icc_profile" not in image.info  # a CMYK profile must not label RGB pixels


def test_a_profile_that_does_not_match_the_pixels_is_dropped() -> None:
    lab_profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("LAB")).tobytes()
    result, storage = upload(encode(picture((100, 80)), "PNG", icc_profile=lab_profile))
    for stored in (result.full.federation, result.preview.webp, result.thumbnail.federation):
        assert "icc_profile" not in opened(storage, stored.name).info


def test_sixteen_bit_grey_png_is_scaled_not_clipped() -> None:
    grey = Image.new("I;16", (120, 80), 40_000)
    result, storage = upload(encode(grey, "PNG"), settings=RenderSettings(keep_source=False))
    image = opened(storage, result.full.federation.name)
    assert image.mode == "RGB"
    value = image.getpixel((10, 10))
    assert near(value, (155, 155, 155), 3), value  # 40000 / 257, not 255


def test_grey_jpeg_and_one_bit_png_become_rgb() -> None:
    for data in (encode(picture((120, 80), "L"), "JPEG"), encode(picture((120, 80), "1"), "PNG")):
        result, storage = upload(data)
        assert opened(storage, result.preview.webp.name).mode == "RGB"
        assert opened(storage, result.preview.federation.name).mode == "RGB"


def test_palette_png_with_transparency_keeps_alpha_and_federates_as_png() -> None:
    image = Image.new("P", (160, 120), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0] * 762)
    image.paste(1, (40, 30, 120, 90))
    result, storage = upload(encode(image, "PNG", transparency=0))
    assert result.has_alpha
    for rendition in (result.full, result.preview, result.thumbnail):
        assert rendition.federation.content_type == "image/png"
        for stored in (rendition.webp, rendition.federation):
            out = opened(storage, stored.name)
            assert out.mode == ("P" if rendition is result.full else "RGBA")  # the full size is the kept upload
            out = out.convert("RGBA")
            assert out.getpixel((0, 0))[3] == 0  # type: ignore[index]
            w, h = out.size
            assert out.getpixel((w // 2, h // 2))[3] == 255  # type: ignore[index]


def test_opaque_alpha_is_dropped_so_federation_gets_a_jpeg() -> None:
    rgba = picture((200, 100)).convert("RGBA")
    result, _ = upload(encode(rgba, "PNG"), settings=RenderSettings(keep_source=False))
    assert not result.has_alpha
    assert result.full.federation.content_type == "image/jpeg"
    assert result.preview.federation.content_type == "image/jpeg"
    kept, _ = upload(encode(rgba, "PNG"))  # kept: the upload's PNG is the full size; the smaller copies as above
    assert not kept.has_alpha and kept.full.federation.content_type == "image/png"
    assert kept.preview.federation.content_type == "image/jpeg"


@pytest.mark.parametrize(("fmt", "mime"), [("HEIF", "image/heic"), ("AVIF", "image/avif")])
def test_heic_and_avif_are_converted(fmt: str, mime: str) -> None:
    import pillow_heif  # noqa: F401 - the HEIF writer

    data = encode(picture((320, 240)), fmt, quality=80)
    result, storage = upload(data)
    assert result.source_content_type == mime
    assert (result.width, result.height) == (320, 240)
    full = opened(storage, result.full.federation.name)
    assert full.format == "JPEG" and full.size == (320, 240)
    assert near(full.getpixel((5, 5)), (255, 0, 0), 70)  # type: ignore[arg-type]
    assert result.full.webp == result.full.federation
    assert opened(storage, result.preview.webp.name).format == "WEBP"


def test_blurhash_is_4x3_and_decodes_to_the_image_colours() -> None:
    result, _ = upload(encode(Image.new("RGB", (300, 200), (200, 40, 40)), "PNG"))
    assert len(result.blurhash) == 6 + 2 * (4 * 3 - 1)
    x, y = blurhash.components(result.blurhash)
    assert (x, y) == (4, 3)
    pixels = blurhash.decode(result.blurhash, 8, 6)
    assert near(tuple(int(c) for c in pixels[3][4]), (200, 40, 40), 8)


def test_blurhash_of_transparent_image_is_over_white() -> None:
    transparent = Image.new("RGBA", (100, 100), (0, 0, 0, 0))
    result, _ = upload(encode(transparent, "PNG"))
    pixels = blurhash.decode(result.blurhash, 4, 4)
    assert near(tuple(int(c) for c in pixels[2][2]), (255, 255, 255), 3)


def test_meta_has_mastodons_shape() -> None:
    result, _ = upload(encode(picture((3000, 2000)), "JPEG"), focus=Focus(-0.5, 0.25))
    meta = result.meta
    assert meta == {
        "original": {"width": 3000, "height": 2000, "size": "3000x2000", "aspect": 1.5},
        "small": {"width": 1280, "height": 853, "size": "1280x853", "aspect": 1280 / 853},
        "focus": {"x": -0.5, "y": 0.25},
    }
    meta["original"]["width"] = 1  # a fresh dict each time: the frozen result is not changed
    assert result.meta["original"]["width"] == 3000
    assert upload(encode(picture((30, 20)), "PNG"))[0].meta["focus"] == {"x": 0.0, "y": 0.0}


@pytest.mark.parametrize("text", ["0.5", "2,0", "-1.5,0", "nan,0", "inf,1", "a,b", "1,2,3", ""])
def test_bad_focus_is_invalid_media(text: str) -> None:
    with pytest.raises(InvalidMedia):
        Focus.parse(text)


def test_focus_parses_mastodons_form_field() -> None:
    assert Focus.parse("-0.42,0.69") == Focus(-0.42, 0.69)
    assert Focus.parse("1,-1").as_dict() == {"x": 1.0, "y": -1.0}


def test_grey_with_a_grey_profile_is_converted_through_it() -> None:
    # Pillow cannot make a GRAY profile, so take the sRGB output path as the check: the result is RGB
    # labelled sRGB or unlabelled, never a GRAY profile on RGB pixels.
    result, storage = upload(encode(picture((60, 40), "L"), "PNG"))
    info = opened(storage, result.full.webp.name).info
    assert info.get("icc_profile") in (None, SRGB_ICC)
    assert result.source_format is ImageFormat.PNG


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_resampling_in_two_halves_matches_one_piece(mode: str) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from PIL import ImageChops

    from media.geometry import shrink, shrink_split

    source = picture((2600, 1700), mode)  # above the 4 MP split threshold
    size = (1733, 1133)  # an odd height: halves of 566 and 567 rows
    with ThreadPoolExecutor(1) as pool:
        split = shrink_split(source, size, Image.Resampling.HAMMING, pool)
    whole = shrink(source, size, Image.Resampling.HAMMING)
    assert split.size == whole.size and split.mode == whole.mode == mode
    if mode == "RGBA":
        # Compare premultiplied: where alpha is 1/255, a rounding step of 1 in the premultiplied value is a
        # jump of up to 255 once divided by alpha, invisible but not equal.
        split, whole = split.convert("RGBa"), whole.convert("RGBa")
    extrema = ImageChops.difference(split, whole).getextrema()
    tolerance = 1 if mode == "RGB" else 2
    assert max(high for _, high in extrema) <= tolerance, extrema  # type: ignore[union-attr]


@pytest.mark.parametrize("size", [(90, 60), (2200, 2000)])
def test_one_worker_and_two_workers_write_the_same_bytes(size: tuple[int, int]) -> None:
    data = encode(picture(size, "RGBA"), "PNG") if size[0] < 100 else encode(picture(size), "JPEG")
    outputs = []
    for workers in (1, 2):
        storage = MemoryStorage()
        result = process_upload(data, limits=MediaLimits(), artist_name="Ada", policy_url=POLICY,
                                storage=storage, settings=RenderSettings(workers=workers), year=2026)
        outputs.append([storage.open(name).read() for name in result.storage_names])
    assert outputs[0] == outputs[1]
