"""Animations keep their animation in the full-size copy (animated WebP, animated GIF for federation);
preview and thumbnail are stills."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image, ImageChops, ImageStat

import media.animation
from media import MediaLimits, ProcessedMedia, RenderSettings, process_upload
from media.storage import MemoryStorage

from .imagegen import animated_gif, encode, picture

POLICY = "https://art.example/about/ai"


def upload(data: bytes, **options: object) -> tuple[ProcessedMedia, MemoryStorage]:
    storage = MemoryStorage()
    result = process_upload(data, limits=MediaLimits(), artist_name="Ada", policy_url=POLICY,
                            storage=storage, **options)  # type: ignore[arg-type]
    return result, storage


def frames_of(data: bytes) -> tuple[list[Image.Image], list[int], object]:
    """Every frame (RGBA), its duration, and the loop count as Pillow reads them."""
    with Image.open(io.BytesIO(data)) as image:
        frames, durations = [], []
        for index in range(getattr(image, "n_frames", 1)):
            image.seek(index)
            image.load()
            frames.append(image.convert("RGBA"))
            durations.append(int(image.info.get("duration", 0)))
        return frames, durations, image.info.get("loop")


def close(a: Image.Image, b: Image.Image, tolerance: float = 8.0) -> bool:
    """Mean difference per channel at most ``tolerance`` (lossy WebP rings at sharp edges, so not max)."""
    difference = ImageChops.difference(a.convert("RGB"), b.convert("RGB"))
    return max(ImageStat.Stat(difference).mean) <= tolerance


def test_animated_gif_keeps_frames_durations_and_loop() -> None:
    durations = [60, 70, 80, 90, 100, 110]
    source = animated_gif(frames=6, durations=durations, loop=0)
    result, storage = upload(source)
    assert result.animated and result.source_content_type == "image/gif"
    source_frames, _, _ = frames_of(source)
    for stored, fmt in ((result.full.webp, "image/webp"), (result.full.federation, "image/gif")):
        assert stored.content_type == fmt
        frames, got_durations, loop = frames_of(storage.open(stored.name).read())
        assert len(frames) == 6 and got_durations == durations and loop == 0
        for got, expected in zip(frames, source_frames, strict=True):
            assert got.size == expected.size and close(got, expected), stored.name
    for rendition in (result.preview, result.thumbnail):
        for stored in (rendition.webp, rendition.federation):
            with Image.open(io.BytesIO(storage.open(stored.name).read())) as still:
                assert getattr(still, "n_frames", 1) == 1
        assert rendition.federation.content_type == "image/jpeg"


def test_a_gif_that_plays_once_still_plays_once() -> None:
    result, storage = upload(animated_gif(frames=3, loop=None))
    _, _, webp_loop = frames_of(storage.open(result.full.webp.name).read())
    assert webp_loop == 1
    gif = storage.open(result.full.federation.name).read()
    assert b"NETSCAPE2.0" not in gif


def test_transparent_animation_keeps_alpha() -> None:
    result, storage = upload(animated_gif(frames=4, transparent=True))
    assert result.has_alpha
    assert result.preview.federation.content_type == "image/png"
    frames, _, _ = frames_of(storage.open(result.full.webp.name).read())
    assert frames[1].getpixel((0, 0))[3] == 0  # type: ignore[index]
    frames, _, _ = frames_of(storage.open(result.full.federation.name).read())
    assert frames[2].getpixel((0, 0))[3] == 0  # type: ignore[index]


@pytest.mark.parametrize("fmt", ["WEBP", "PNG"])
def test_animated_webp_and_apng_sources_stay_animated(fmt: str) -> None:
    frames = [picture((80, 60), seed=i) for i in range(4)]
    source = encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=[50, 60, 70, 80],
                    loop=0)
    result, storage = upload(source)
    assert result.animated
    got, durations, _ = frames_of(storage.open(result.full.webp.name).read())
    assert len(got) == 4 and durations == [50, 60, 70, 80]
    got, _, _ = frames_of(storage.open(result.full.federation.name).read())
    assert len(got) == 4


def test_large_animation_frames_are_resized_to_the_full_size_cap() -> None:
    settings = RenderSettings(full_max_edge=100, preview_edge=50, thumbnail_edge=20)
    result, storage = upload(animated_gif(frames=3, size=(300, 150)), settings=settings)
    assert (result.width, result.height) == (300, 150)
    for stored in (result.full.webp, result.full.federation):
        frames, _, _ = frames_of(storage.open(stored.name).read())
        assert len(frames) == 3 and {f.size for f in frames} == {(100, 50)}
    assert (result.preview.webp.width, result.thumbnail.webp.width) == (50, 20)


def test_frames_are_made_one_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    live: list[int] = []
    made: list[int] = []
    real_init = media.animation.FrameSource.__init__

    def init(self: media.animation.FrameSource, count: int,
             make_frame: Callable[[int], Image.Image]) -> None:
        def counting(index: int) -> Image.Image:
            made.append(index)
            return make_frame(index)

        real_init(self, count, counting)
        live.append(count)

    monkeypatch.setattr(media.animation.FrameSource, "__init__", init)
    upload(animated_gif(frames=5))
    # Two encoders (WebP, GIF), each walking frames 1..4 once through its own FrameSource.
    assert live == [4, 4] and made == [0, 1, 2, 3, 0, 1, 2, 3]


def test_animated_avif_becomes_a_still_of_its_first_frame() -> None:
    frames = [Image.new("RGB", (64, 48), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    try:
        source = encode(frames[0], "AVIF", save_all=True, append_images=frames[1:], duration=100)
    except (OSError, ValueError) as exc:
        pytest.skip(f"this Pillow cannot write animated AVIF: {exc}")
    result, storage = upload(source)
    assert not result.animated
    with Image.open(io.BytesIO(storage.open(result.full.federation.name).read())) as image:
        assert image.format == "JPEG"
        assert close(image, frames[0])
