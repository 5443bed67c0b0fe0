"""process_upload runs in worker threads (the app uses asyncio.to_thread): concurrent calls must give
exactly the bytes serial calls give, i.e. no state is shared between calls."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from media import MediaLimits, RenderSettings, process_upload
from media.storage import MemoryStorage

from .imagegen import animated_gif, dirty_jpeg, dirty_png, encode, picture

SETTINGS = RenderSettings(full_max_edge=300, preview_edge=200, thumbnail_edge=80)


def outputs(data: bytes, untouched: bool) -> tuple[str, list[bytes]]:
    storage = MemoryStorage()
    result = process_upload(data, limits=MediaLimits(), artist_name="Ada",
                            policy_url="https://art.example/ai", storage=storage,
                            pixels_untouched=untouched, settings=SETTINGS, year=2026)
    return result.blurhash, [storage.open(name).read() for name in result.storage_names]


def test_concurrent_uploads_match_serial_ones() -> None:
    inputs = [
        (dirty_jpeg((500, 400), orientation=6), True),
        (dirty_png(), True),
        (encode(picture((400, 300), "RGBA"), "WEBP"), False),
        (animated_gif(frames=4), False),
        (encode(picture((300, 500), "CMYK"), "JPEG"), False),
    ] * 2
    serial = [outputs(data, untouched) for data, untouched in inputs]
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(lambda item: outputs(*item), inputs))
    assert threaded == serial
