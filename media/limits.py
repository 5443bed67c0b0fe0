"""The caller's caps on an upload, checked from the header before any pixel is decoded."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import TooLarge


@dataclass(frozen=True)
class MediaLimits:
    """Defaults are the app's (cara_fed settings ``media.*``): generous, since artists upload finished,
    large work (Mastodon's 16 MB / 8.3 MP would cut it down).

    ``max_frames`` bounds the per-frame overhead that ``max_animation_pixels`` cannot: a 10 000-frame GIF of
    1x1 frames holds few pixels but costs a Python-level step per frame in every pass (security.md E33).
    """

    max_bytes: int = 40 * 1024 * 1024
    max_pixels: int = 100_000_000
    max_animation_pixels: int = 400_000_000
    max_frames: int = 1_000

    def __post_init__(self) -> None:
        for name in ("max_bytes", "max_pixels", "max_animation_pixels", "max_frames"):
            if getattr(self, name) < 1:
                raise ValueError(f"MediaLimits.{name} must be positive")

    def check_bytes(self, size: int) -> None:
        if size > self.max_bytes:
            raise TooLarge(f"file too large: {size} bytes, at most {self.max_bytes} accepted")

    def check_pixels(self, width: int, height: int) -> None:
        if width * height > self.max_pixels:
            raise TooLarge(f"image too large: {width}x{height} pixels, at most {self.max_pixels} accepted")

    def check_frames(self, frames: int, width: int, height: int) -> None:
        """Raised as soon as a count passes a cap, so callers counting frames can stop early."""
        if frames > self.max_frames:
            raise TooLarge(f"animation too long: more than {self.max_frames} frames")
        if frames * width * height > self.max_animation_pixels:
            raise TooLarge(f"animation too large: {frames} frames of {width}x{height} pixels, at most "
                           f"{self.max_animation_pixels} pixels in all")
