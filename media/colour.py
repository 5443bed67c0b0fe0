"""Pixel modes and colour profiles: every derivative is 8-bit RGB or RGBA with an RGB ICC profile or none.

Two steps, so the expensive one runs on the smaller image:
* :func:`resizable` before resizing: cheap mode fixes Pillow's resampler needs (palette images would be
  resized with NEAREST, 16-bit grey would be clipped instead of scaled, 1-bit has no grey levels).
* :func:`to_rgb` after resizing: CMYK and grey become RGB through their own ICC profile (a CMYK or grey
  profile attached to an RGB file is invalid, and a naive convert shifts the colours); an RGB profile
  (Display P3, Adobe RGB...) is kept as it is, since dropping it shifts the colours too (noai.md section 6:
  "pass icc_profile= or colours shift").
"""

from __future__ import annotations

import io
import logging

from PIL import Image, ImageCms

log = logging.getLogger(__name__)

# Built once at import (immutable bytes, shared safely between threads); lcms handles are made per call.
SRGB_ICC = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
# A larger "profile" is more likely a payload than a colour space (real ones are a few KB; a camera's
# with lookup tables well under 1 MB).
_MAX_ICC_BYTES = 2 * 1024 * 1024
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N", "I"})


def resizable(image: Image.Image) -> Image.Image:
    """``image`` in a mode Pillow resamples properly: RGB, RGBA, L, LA or CMYK."""
    mode = image.mode
    if mode in ("L", "RGB") and "transparency" in image.info:  # a tRNS colour key
        return image.convert("RGBA")
    if mode in ("RGB", "RGBA", "L", "LA", "CMYK"):
        return image
    if mode == "P":
        return image.convert("RGBA" if image.has_transparency_data else "RGB")
    if mode in ("PA", "RGBa"):
        return image.convert("RGBA")
    if mode == "La":
        return image.convert("LA")
    if mode == "1":
        return image.convert("L")
    if mode in _SIXTEEN_BIT:
        # 0..65535 scaled to 0..255 (convert("L") would clip everything above 255 to white).
        return image.convert("I").point(lambda value: value / 257).convert("L")
    return image.convert("RGBA" if image.has_transparency_data else "RGB")


def profile_space(icc: bytes | None) -> tuple[ImageCms.ImageCmsProfile | None, str]:
    """The parsed profile and its colour space ("RGB", "CMYK", "GRAY", ...), or (None, "")."""
    if not icc or len(icc) > _MAX_ICC_BYTES:
        return None, ""
    try:
        profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        return profile, profile.profile.xcolor_space.strip()
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        log.info("unreadable ICC profile dropped")
        return None, ""


def to_rgb(image: Image.Image, icc: bytes | None) -> tuple[Image.Image, bytes | None]:
    """(RGB or RGBA image, the ICC profile bytes that describe it or None) from a :func:`resizable` one."""
    profile, space = profile_space(icc)
    if image.mode in ("RGB", "RGBA"):
        return image, icc if space == "RGB" else None
    if image.mode == "CMYK":
        if space == "CMYK" and profile is not None:
            converted = _transform(image, profile, "RGB")
            if converted is not None:
                return converted, SRGB_ICC
        return image.convert("RGB"), None
    # L or LA
    alpha = image.getchannel("A") if image.mode == "LA" else None
    grey = image.getchannel("L") if alpha is not None else image
    rgb: Image.Image | None = None
    out_icc: bytes | None = None
    if space == "GRAY" and profile is not None:
        rgb = _transform(grey, profile, "RGB")
        out_icc = SRGB_ICC if rgb is not None else None
    if rgb is None:
        rgb = grey.convert("RGB")
    if alpha is not None:
        rgb.putalpha(alpha)
    return rgb, out_icc


def _transform(image: Image.Image, profile: ImageCms.ImageCmsProfile, mode: str) -> Image.Image | None:
    try:
        srgb = ImageCms.ImageCmsProfile(io.BytesIO(SRGB_ICC))
        result = ImageCms.profileToProfile(image, profile, srgb, outputMode=mode)
    except (OSError, ValueError, TypeError, ImageCms.PyCMSError):
        log.info("colour conversion through the embedded profile failed; converting naively")
        return None
    return result


def without_opaque_alpha(image: Image.Image) -> Image.Image:
    """RGBA whose alpha is 255 everywhere becomes RGB, so its federation copy can be a JPEG."""
    if image.mode == "RGBA":
        low, _high = image.getchannel("A").getextrema()
        if low == 255:
            return image.convert("RGB")
    return image
