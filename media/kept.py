"""The upload's own file as the full-size copy: its encoded image data kept byte for byte, its metadata
rewritten (our allow-list EXIF and the no-AI XMP; GPS, MakerNote, thumbnails, IPTC and anything after the
end of the image dropped: media.jpeg_meta, media.png_meta).

Why: re-encoding the full-size copy of an artist's JPEG or PNG costs a generation of quality (and most of
the pipeline's CPU: bench/media.py), while the file is already in a format every browser, client and
fediverse server reads. GoToSocial keeps originals the same way (metadata stripped without re-encoding).
Only files every reader shows the same are kept; the rest are re-encoded as before:

- JPEG or PNG, still (animations have their own renderer);
- upright (EXIF orientation 1): a kept file with an Orientation tag would rely on every reader applying it,
  and the issue asks for orientation applied;
- within ``RenderSettings.full_max_edge``;
- JPEG: grey or YCbCr/RGB, since readers treat CMYK inconsistently (the frame is already one browsers
  decode: media.headers accepts only Huffman-coded baseline, extended and progressive frames); PNG: every colour type and depth (PNG 3rd edition, which browsers implement);
- an ICC profile, if any, that the derivatives would keep too: readable, of the pixels' colour space, and
  not oversized (media.colour drops the others, and readers disagree on them).
"""

from __future__ import annotations

from PIL import Image

from .colour import profile_space
from .encode import EncodedFile
from .errors import InvalidMedia
from .exif import build_exif
from .formats import ImageFormat
from .jpeg_meta import rewrite_jpeg_metadata
from .png_meta import rewrite_png_metadata
from .probe import ProbeResult
from .xmp import RightsNotice, build_xmp

_BROWSER_JPEG_MODES = frozenset({"RGB", "L"})
_GREY_MODES = frozenset({"1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "I;16N"})


def kept_full_size(data: bytes, image: Image.Image, probed: ProbeResult, *, orientation: int, max_edge: int,
                   notice: RightsNotice, artist: str | None, copyright_text: str | None) -> EncodedFile | None:
    """``data`` with rewritten metadata when it can serve as the full-size copy as it is, else None.
    ``image`` is the opened (not yet decoded) upload; nothing is decoded here."""
    if probed.animated or orientation != 1 or max(image.size) > max_edge or not _profile_fits(image):
        return None
    exif = build_exif(notice, artist=artist, copyright_text=copyright_text).tobytes()
    xmp = build_xmp(notice)
    try:
        if probed.format is ImageFormat.JPEG:
            if image.mode not in _BROWSER_JPEG_MODES:
                return None
            rewritten = rewrite_jpeg_metadata(data, exif=exif, xmp=xmp)
        elif probed.format is ImageFormat.PNG:
            rewritten = rewrite_png_metadata(data, exif_tiff=exif[6:], xmp=xmp)
        else:
            return None
    except (InvalidMedia, ValueError):
        # A structure our rewriters refuse (no EOI, a damaged chunk, oversized metadata) may still decode:
        # then the file is re-encoded, as before keeping existed, and the decoder has the last word.
        return None
    return EncodedFile(rewritten, probed.format, image.width, image.height)


def _profile_fits(image: Image.Image) -> bool:
    icc = image.info.get("icc_profile")
    if not icc:
        return True
    _profile, space = profile_space(icc)
    return space == ("GRAY" if image.mode in _GREY_MODES else "RGB")
