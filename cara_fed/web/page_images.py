"""How a page draws an image: ``src``, ``srcset`` from the stored derivatives, intrinsic ``width`` and
``height`` (so nothing moves while images load) and the alt text.

The derivatives (media/process.py): thumbnail 400 px and preview 1280 px on the long edge, WebP each with
a JPEG/PNG twin for federation; the full size up to ``media.full_size_max_edge``, one JPEG/PNG (often the
upload itself, metadata rewritten: media/kept.py); an untouched original when the artist asked for it
(then ``meta.original`` is that file's size). Link previews (OpenGraph) get the
preview's JPEG/PNG twin: not every unfurler reads WebP."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.federation.urls import LocalUrls
from cara_fed.services.pages import PageImage
from media.geometry import fit

PREVIEW_EDGE = 1280
THUMBNAIL_EDGE = 400


@dataclass(slots=True)  # not frozen, as page_works.WorkCard: built once per work of a profile
class ImageTag:
    src: str
    srcset: str
    width: int | None
    height: int | None
    alt: str
    link: str  # the largest copy, for "open the full image"
    og: str  # an absolute JPEG/PNG preview for link previews
    og_width: int | None
    og_height: int | None

    @property
    def ratio(self) -> float:
        return self.width / self.height if self.width and self.height else 1.0


def image_tag(image: PageImage, urls: LocalUrls, full_max_edge: int) -> ImageTag:
    """(Called once per work of a profile: kept to plain arithmetic and string joins.)"""
    files = image.files
    width, height = image.width, image.height
    media = urls.base + "/media/"
    preview_name = files.get("preview")
    if preview_name is None:
        # Not processed here (an older row, or remote media not cached): the one file there is.
        src = media + image.file_path if image.file_path else image.remote_url or ""
        return ImageTag(src=src, srcset="", width=width, height=height, alt=image.description, link=src,
                        og=src, og_width=width, og_height=height)
    srcset = ""
    preview: tuple[int, int] | None = None
    if width and height:
        full = (width, height) if "untouched" not in files else fit((width, height), full_max_edge)
        if image.preview_width and image.preview_height:
            preview = (image.preview_width, image.preview_height)
        else:
            preview = fit(full, PREVIEW_EDGE)
        thumbnail_width = fit(preview, THUMBNAIL_EDGE)[0]
        parts = []
        last_width = 0
        for name, size_width in ((files.get("thumbnail"), thumbnail_width), (preview_name, preview[0]),
                                 (files.get("full"), full[0])):
            if name is not None and size_width != last_width:  # one file per width, smallest first
                parts.append(f"{media}{name} {size_width}w")
                last_width = size_width
        srcset = ", ".join(parts)
    largest = files.get("untouched") or files.get("full") or preview_name
    return ImageTag(src=media + preview_name, srcset=srcset, width=width, height=height, alt=image.description,
                    link=media + largest, og=media + (files.get("preview_federation") or preview_name),
                    og_width=preview[0] if preview else None, og_height=preview[1] if preview else None)
