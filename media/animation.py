"""Animated GIF, WebP and APNG: the full-size copy keeps the animation (animated WebP, plus an animated GIF
for federation: Mastodon and Pixelfed take GIF, Pixelfed drops WebP); preview and thumbnail are stills of
the first frame. HEIF/AVIF sequences are rendered as stills of their primary image (media.process).

Frames are made one at a time, on demand, by :class:`FrameSource`, so memory holds one decoded frame plus
what the encoders keep (libwebp's animation encoder keeps its own compressed frames; Pillow's GIF writer
keeps every frame as palette indices, 1 byte per pixel). The frame and pixel counts were capped from the
header before anything was decoded (media.headers, security.md E33).
"""

from __future__ import annotations

from collections.abc import Callable

from PIL import Image

from .colour import profile_space, without_opaque_alpha
from .encode import Metadata, encode_animated_gif, encode_animated_webp
from .errors import InvalidMedia
from .geometry import fit, make_upright, shrink, stored_size, upright_size, without_info
from .exif import read_orientation
from .probe import PILLOW_ERRORS, ProbeResult
from .process import Rendered, RenderSettings, Rendition, derive


class FrameSource:
    """A stand-in for a multi-frame image in ``save(..., save_all=True, append_images=[source])``.

    Pillow's writers walk an appended image with ``n_frames``/``seek()`` (WebP: WebPImagePlugin._save_all)
    or ``ImageSequence.Iterator`` (GIF: GifImagePlugin._write_multiple_frames), then read the current
    frame with ``convert``/``getim`` (WebP) or ``copy`` (GIF). Each ``seek`` makes that frame with
    ``make_frame``; nothing else is kept. Tests check every frame arrives (test_animation.py), so a Pillow
    change to that walk would show.
    """

    def __init__(self, count: int, make_frame: Callable[[int], Image.Image]) -> None:
        self.n_frames = count
        self.is_animated = count > 1
        self._make_frame = make_frame
        self._index = -1
        self._frame: Image.Image | None = None
        self.info: dict[str, object] = {}

    def seek(self, index: int) -> None:
        if not 0 <= index < self.n_frames:
            raise EOFError("no more frames")
        if index != self._index:
            self._frame = self._make_frame(index)
            self._index = index

    def tell(self) -> int:
        return self._index

    def _current(self) -> Image.Image:
        if self._frame is None:
            self.seek(0)
        assert self._frame is not None
        return self._frame

    @property
    def mode(self) -> str:
        return self._current().mode

    @property
    def size(self) -> tuple[int, int]:
        return self._current().size

    @property
    def has_transparency_data(self) -> bool:
        return self._current().has_transparency_data

    def convert(self, *args: object, **kwargs: object) -> Image.Image:
        return self._current().convert(*args, **kwargs)  # type: ignore[arg-type]

    def copy(self) -> Image.Image:
        return self._current().copy()

    def getim(self) -> object:
        return self._current().getim()


def render_animation(image: Image.Image, probed: ProbeResult, exif: bytes, xmp: bytes,
                     settings: RenderSettings) -> Rendered:
    try:
        return _render(image, probed, exif, xmp, settings)
    except PILLOW_ERRORS as exc:
        raise InvalidMedia(f"damaged or truncated {probed.format.pillow} animation") from exc


def _render(image: Image.Image, probed: ProbeResult, exif: bytes, xmp: bytes,
            settings: RenderSettings) -> Rendered:
    orientation = read_orientation(image)
    canvas = (probed.width, probed.height)  # a GIF's canvas may grow frame by frame; ours is the largest
    upright = upright_size(canvas, orientation)
    full_size = stored_size(fit(upright, settings.full_max_edge), orientation)
    # APNG: when the IDAT image is not part of the animation Pillow shows it as frame 0 (PngImagePlugin).
    offset = 1 if getattr(image, "default_image", False) else 0
    durations = probed.durations
    loop = image.info.get("loop")  # None: the source plays once
    _profile, space = profile_space(image.info.get("icc_profile"))
    icc = image.info.get("icc_profile") if space == "RGB" else None

    def make_frame(index: int) -> Image.Image:
        image.seek(offset + index)
        frame = image.convert("RGBA")
        if frame.size != canvas:
            padded = Image.new("RGBA", canvas, (0, 0, 0, 0))
            padded.paste(frame, (0, 0))
            frame = padded
        return without_info(make_upright(shrink(frame, full_size, settings.full_resample), orientation))

    first = make_frame(0)
    has_alpha = without_opaque_alpha(first).mode == "RGBA" or "transparency" in image.info
    meta = Metadata(icc, exif, xmp)
    # WebP has no "play once" default: loop count 1 says it (ANIM chunk, RFC 9649 section 2.7.1.1).
    webp = encode_animated_webp(first, [FrameSource(len(durations) - 1, lambda i: make_frame(i + 1))],
                                durations, 1 if loop is None else loop, meta, settings.encode)
    gif = encode_animated_gif(first, [FrameSource(len(durations) - 1, lambda i: make_frame(i + 1))],
                              durations, loop, disposal=2 if has_alpha else 1)
    still = without_info(without_opaque_alpha(first))
    return derive(still, meta, settings, width=upright[0], height=upright[1], animated=True,
                  full_rendition=Rendition(webp=webp, federation=gif))
