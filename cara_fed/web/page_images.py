"""How a page draws an image: ``src``, ``srcset`` from the stored derivatives, intrinsic ``width`` and
``height`` (so nothing moves while images load) and the alt text.

The derivatives (media/process.py): thumbnail 400 px and preview 1280 px on the long edge, full size up to
``media.full_size_max_edge``, all WebP, each with a JPEG/PNG twin for federation; an untouched original
when the artist asked for it (then ``meta.original`` is that file's size). Link previews (OpenGraph) get the
preview's JPEG/PNG twin: not every unfurler reads WebP."""

from __future__ import annotations

from dataclasses import dataclass

from cara_fed.federation.urls import LocalUrls
from cara_fed.services.pages import PageImage
from media.geometry import fit

PREVIEW_EDGE = 1280
THUMBNAIL_EDGE = 400
# What a grid cell or a work page takes of the viewport (mirrors cara.css: the grid's row height grows
# from 10rem on phones to 15rem; the work column is at most 60rem wide).
WORK_SIZES = "(min-width: 62rem) 60rem, 100vw"


@dataclass(frozen=True, slots=True)
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

    def grid_sizes(self) -> str:
        """About the width of the image's grid cell: the cell is as wide as its row is high (15rem, 10rem
        on phones) times the image's aspect ratio, and rows stretch up to a third to fill the line."""
        ratio = self.ratio
        return f"(max-width: 36rem) {ratio * 13:.1f}rem, {ratio * 19.5:.1f}rem"


def image_tag(image: PageImage, urls: LocalUrls, full_max_edge: int) -> ImageTag:
    files = image.files
    width, height = image.width, image.height
    if "preview" not in files:
        # Not processed here (an older row, or remote media not cached): the one file there is.
        if image.file_path:
            src = urls.media(image.file_path)
        else:
            src = image.remote_url or ""
        return ImageTag(src=src, srcset="", width=width, height=height, alt=image.description, link=src,
                        og=src, og_width=width, og_height=height)
    candidates: list[tuple[int, str]] = []
    preview: tuple[int, int] | None = None
    if width and height:
        full = (width, height) if "untouched" not in files else fit((width, height), full_max_edge)
        if image.preview_width and image.preview_height:
            preview = (image.preview_width, image.preview_height)
        else:
            preview = fit(full, PREVIEW_EDGE)
        thumbnail = fit(preview, THUMBNAIL_EDGE)
        for role, size in (("thumbnail", thumbnail), ("preview", preview), ("full", full)):
            if role in files and all(size[0] != w for w, _ in candidates):  # one file per width
                candidates.append((size[0], urls.media(files[role])))
    srcset = ", ".join(f"{url} {w}w" for w, url in candidates)
    preview_url = urls.media(files["preview"])
    largest = files.get("untouched") or files.get("full") or files["preview"]
    og = files.get("preview_federation") or files["preview"]
    return ImageTag(src=preview_url, srcset=srcset, width=width, height=height, alt=image.description,
                    link=urls.media(largest), og=urls.media(og), og_width=preview[0] if preview else None,
                    og_height=preview[1] if preview else None)
