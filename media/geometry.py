"""Sizes, resizing and orientation: the small pure helpers the renderers share."""

from __future__ import annotations

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


def shrink(image: Image.Image, size: tuple[int, int], resample: Image.Resampling) -> Image.Image:
    """``image`` resized down to ``size``. ``reducing_gap`` lets Pillow first divide by an integer with
    the cheap box ``reduce()`` while the last step still shrinks by 2x or more; Pillow's docs call the
    result indistinguishable from a full resample at 2.0 (Image.resize, "reducing_gap")."""
    if image.size == size:
        return image
    return image.resize(size, resample, reducing_gap=2.0)


def without_info(image: Image.Image) -> Image.Image:
    """``image`` with its ``info`` emptied. Pillow copies ``info`` through resize, convert and transpose,
    and some encoders read it back: JPEG writes ``info["comment"]`` as a COM segment, GIF copies every
    key of a frame's ``info`` into its options, PNG falls back to ``info`` for the ICC profile and
    transparency. The upload's comment would then reach the output (test_metadata.py caught it)."""
    image.info = {}
    return image
