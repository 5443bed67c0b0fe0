"""Sizes, resizing and orientation: the small pure helpers the renderers share."""

from __future__ import annotations

from concurrent.futures import Executor

from PIL import Image

# EXIF orientation -> the transpose that makes the pixels upright (EXIF 2.32 section 4.6.5, Table 4;
# the same table as PIL.ImageOps.exif_transpose).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def fit(size: tuple[int, int], edge: int) -> tuple[int, int]:
    """``size`` scaled so its long edge is at most ``edge`` (never enlarged; each side at least 1)."""
    width, height = size
    long_edge = max(width, height)
    if long_edge <= edge:
        return width, height
    scale = edge / long_edge
    return max(1, round(width * scale)), max(1, round(height * scale))


def swaps_axes(orientation: int) -> bool:
    return orientation in (5, 6, 7, 8)


def upright_size(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if swaps_axes(orientation) else size


def stored_size(upright: tuple[int, int], orientation: int) -> tuple[int, int]:
    """The size, in the file's own orientation, whose upright form is ``upright``."""
    return (upright[1], upright[0]) if swaps_axes(orientation) else upright


def make_upright(image: Image.Image, orientation: int) -> Image.Image:
    method = _TRANSPOSE.get(orientation)
    return image if method is None else image.transpose(method)


def shrink(image: Image.Image, size: tuple[int, int], resample: Image.Resampling,
           reducing_gap: float = 2.0) -> Image.Image:
    """``image`` resized down to ``size``. ``reducing_gap`` lets Pillow first divide by an integer with
    the cheap box ``reduce()`` while the last step still shrinks by that much or more (Image.resize,
    "reducing_gap"; Pillow's docs call 2.0 indistinguishable from a full resample)."""
    if image.size == size:
        return image
    return image.resize(size, resample, reducing_gap=reducing_gap)


# Below this many source pixels one thread resamples fast enough that a second is not worth its start-up.
_SPLIT_MIN_PIXELS = 4_000_000
_PREMULTIPLIED = {"RGBA": "RGBa", "LA": "La"}


def shrink_split(image: Image.Image, size: tuple[int, int], resample: Image.Resampling,
                 pool: Executor | None) -> Image.Image:
    """:func:`shrink` with the top and bottom halves of the result resampled in two threads (Pillow
    releases the GIL while it resamples). Each half is ``resize(..., box=...)`` over its share of the
    source; Pillow's filter still reads source rows beyond the box (Resample.c precompute_coeffs clips to
    the image, not the box), so the seam matches a one-piece resize (test_process.py checks)."""
    if pool is None or image.size == size or image.width * image.height < _SPLIT_MIN_PIXELS or size[1] < 2:
        return shrink(image, size, resample)
    factor = int(min(image.width / size[0], image.height / size[1]) / 2.0)  # as reducing_gap=2.0 would
    if factor >= 2:
        image = image.reduce(factor)
    mode = image.mode
    if mode in _PREMULTIPLIED:  # once here, not once per half inside resize()
        image = image.convert(_PREMULTIPLIED[mode])
    width, height = size
    split = height // 2
    cut = split * image.height / height
    bottom = pool.submit(image.resize, (width, height - split), resample, (0, cut, image.width, image.height))
    top = image.resize((width, split), resample, (0, 0, image.width, cut))
    result = Image.new(image.mode, size)
    result.paste(top, (0, 0))
    result.paste(bottom.result(), (0, split))
    return result.convert(mode) if mode in _PREMULTIPLIED else result


def without_info(image: Image.Image) -> Image.Image:
    """``image`` with its ``info`` emptied. Pillow copies ``info`` through resize, convert and transpose,
    and some encoders read it back: JPEG writes ``info["comment"]`` as a COM segment, GIF copies every
    key of a frame's ``info`` into its options, PNG falls back to ``info`` for the ICC profile and
    transparency. The upload's comment would then reach the output (test_metadata.py caught it)."""
    image.info = {}
    return image
