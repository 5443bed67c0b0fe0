"""Image probing and processing, metadata, the no-AI policy and storage backends.

Never imports cara_fed, quart or tortoise, nor activitypub/webfinger (see DESIGN.md section 2): it takes
bytes and primitives and returns frozen dataclasses. The app's entry point is :func:`process_upload`
(synchronous and CPU-bound: run it with ``asyncio.to_thread``).

The names below are loaded on first use (PEP 562), so ``import media.noai`` does not pull in Pillow and
pillow-heif.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .errors import InvalidMedia, MediaError, TooLarge, UnsupportedMedia
    from .formats import ImageFormat
    from .limits import MediaLimits
    from .meta import Focus
    from .pipeline import ProcessedMedia, StoredFile, StoredRendition, process_upload, render_upload
    from .probe import ProbeResult, probe_and_open, probe_image
    from .process import RenderSettings
    from .storage import (InvalidStorageName, LocalStorage, MediaStorage, MemoryStorage, StoredStat,
                          is_storage_name, new_storage_name, validate_storage_name)
    from .xmp import DATA_MINING_VALUES, DEFAULT_DATA_MINING, RightsNotice, build_xmp

_EXPORTS = {
    "errors": ("InvalidMedia", "MediaError", "TooLarge", "UnsupportedMedia"),
    "formats": ("ImageFormat",),
    "limits": ("MediaLimits",),
    "meta": ("Focus",),
    "pipeline": ("ProcessedMedia", "StoredFile", "StoredRendition", "process_upload", "render_upload"),
    "probe": ("ProbeResult", "probe_image", "probe_and_open"),
    "process": ("RenderSettings",),
    "storage": ("InvalidStorageName", "LocalStorage", "MediaStorage", "MemoryStorage", "StoredStat",
                "is_storage_name", "new_storage_name", "validate_storage_name"),
    "xmp": ("DATA_MINING_VALUES", "DEFAULT_DATA_MINING", "RightsNotice", "build_xmp"),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}
__all__ = sorted(_MODULE_OF)


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'media' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value
