"""Mastodon's attachment ``meta`` shape and the focal point.

Shape (Mastodon app/serializers/rest/media_attachment_serializer.rb, docs "MediaAttachment" entity):
``{"original": {"width", "height", "size": "WxH", "aspect"}, "small": {...}, "focus": {"x", "y"}}``;
``focus`` x and y run from -1 (left/bottom) to 1 (right/top), 0,0 the centre
(https://docs.joinmastodon.org/api/guidelines/#focal-points).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .errors import InvalidMedia


@dataclass(frozen=True)
class Focus:
    x: float = 0.0
    y: float = 0.0

    def __post_init__(self) -> None:
        for value in (self.x, self.y):
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) \
                    or not -1.0 <= value <= 1.0:
                raise InvalidMedia("focus must be two numbers between -1.0 and 1.0")

    @classmethod
    def parse(cls, text: str) -> Focus:
        """Mastodon's form field ``focus=x,y`` (e.g. "-0.42,0.69")."""
        parts = text.split(",")
        if len(parts) != 2:
            raise InvalidMedia("focus must be two numbers between -1.0 and 1.0")
        try:
            return cls(float(parts[0]), float(parts[1]))
        except ValueError as exc:
            raise InvalidMedia("focus must be two numbers between -1.0 and 1.0") from exc

    def as_dict(self) -> dict[str, float]:
        return {"x": float(self.x), "y": float(self.y)}


def dimensions(width: int, height: int) -> dict[str, Any]:
    return {"width": width, "height": height, "size": f"{width}x{height}", "aspect": width / height}


def mastodon_meta(original: tuple[int, int], small: tuple[int, int], focus: Focus) -> dict[str, Any]:
    """A fresh dict each call (callers may add to it)."""
    return {"original": dimensions(*original), "small": dimensions(*small), "focus": focus.as_dict()}
