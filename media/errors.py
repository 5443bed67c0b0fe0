"""The errors every media function raises: one hierarchy, a short human message each.

The library knows nothing about HTTP; ``http_status`` is the status DESIGN.md section 7 and issue 5 ask the
app to answer with (Mastodon answers 422 for a file it cannot process and 415 for a type it does not accept:
app/controllers/api/v1/media_controller.rb, ``rescue Paperclip::Errors::NotIdentifiedByImageMagickError``).
The message is safe to show to the client as ``{"error": message}``: it never contains file contents.
"""

from __future__ import annotations

from typing import ClassVar


class MediaError(Exception):
    """Base class: the upload is refused and nothing was stored."""

    http_status: ClassVar[int] = 422

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UnsupportedMedia(MediaError):
    """Not one of the accepted image formats (judged from the bytes, never the name or the content type)."""

    http_status: ClassVar[int] = 415


class InvalidMedia(MediaError):
    """An accepted format, but the file is damaged, truncated or inconsistent."""

    http_status: ClassVar[int] = 422


class TooLarge(MediaError):
    """Over one of the caller's limits (bytes, pixels, frames x pixels, frames), found before decoding."""

    http_status: ClassVar[int] = 422
