"""The blurhash clients paint while an image loads (https://blurha.sh; Mastodon stores one per attachment).

Computed from a tiny copy of the thumbnail. 4x3 components (the blurhash README's suggested default for
landscape images; Mastodon's app/models/media_attachment.rb BLURHASH_OPTIONS uses 4x4 - any decoder reads
either, the count is in the hash). The components only see the lowest frequencies, so a 32 px image gives
practically the same hash as the full one, and the pure-Python encoder's cost grows with the pixel count.
"""

from __future__ import annotations

import blurhash
from PIL import Image

from .geometry import fit

COMPONENTS_X = 4
COMPONENTS_Y = 3
EDGE = 32  # long edge of the image the hash is computed from (at most 64, as the brief asks)


def blurhash_of(image: Image.Image) -> str:
    """Blurhash of ``image`` (RGB or RGBA; transparency is shown over white, as the web page behind it)."""
    small = image.resize(fit(image.size, EDGE), Image.Resampling.BOX, reducing_gap=2.0)
    if small.mode == "RGBA":
        flat = Image.new("RGB", small.size, (255, 255, 255))
        flat.paste(small, mask=small.getchannel("A"))
        small = flat
    elif small.mode != "RGB":
        small = small.convert("RGB")
    width = small.width
    # get_flattened_data replaces getdata (deprecated in Pillow 12.1, removed in 14).
    flattened = getattr(small, "get_flattened_data", None)
    pixels = list(flattened() if flattened is not None else small.getdata())
    rows = [pixels[y * width:(y + 1) * width] for y in range(small.height)]
    return str(blurhash.encode(rows, COMPONENTS_X, COMPONENTS_Y))
