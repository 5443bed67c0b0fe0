"""Image probing and processing, metadata, the no-AI policy and storage backends.

Never imports cara_fed, quart or tortoise, nor activitypub/webfinger (see DESIGN.md section 2): it takes
bytes and primitives and returns frozen dataclasses. The app's entry point is :func:`process_upload`
(synchronous and CPU-bound: run it with ``asyncio.to_thread``).
"""

from __future__ import annotations

from .errors import InvalidMedia, MediaError, TooLarge, UnsupportedMedia
from .formats import ImageFormat
from .limits import MediaLimits
from .meta import Focus
from .pipeline import ProcessedMedia, StoredFile, StoredRendition, process_upload, render_upload
from .probe import ProbeResult, probe
from .process import RenderSettings
from .storage import (InvalidStorageName, LocalStorage, MediaStorage, MemoryStorage, StoredStat,
                      is_storage_name, new_storage_name, validate_storage_name)
from .xmp import DATA_MINING_VALUES, DEFAULT_DATA_MINING, RightsNotice, build_xmp

__all__ = [
    "DATA_MINING_VALUES", "DEFAULT_DATA_MINING", "Focus", "ImageFormat", "InvalidMedia", "InvalidStorageName",
    "LocalStorage", "MediaError", "MediaLimits", "MediaStorage", "MemoryStorage", "ProbeResult",
    "ProcessedMedia", "RenderSettings", "RightsNotice", "StoredFile", "StoredRendition", "StoredStat",
    "TooLarge", "UnsupportedMedia", "build_xmp", "is_storage_name", "new_storage_name", "probe",
    "process_upload", "render_upload", "validate_storage_name",
]
