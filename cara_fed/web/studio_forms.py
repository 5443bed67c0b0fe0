"""Reading the studio's work forms: the fields of a work and its image rows, each problem kept under the
id of the control it belongs to (so the page shows it beside that control). No database here except the
series check, and no files stored: web/studio_works.py does that once the form is known to be good."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import FileStorage, MultiDict

from cara_fed.errors import CaraError
from cara_fed.models import Account
from cara_fed.models.portfolio import LICENCES
from cara_fed.services import portfolio
from cara_fed.services.media import DESCRIPTION_LIMIT
from cara_fed.services.portfolio_text import DESCRIPTION_MAX, MEDIUM_MAX, TITLE_MAX, check_tags

LICENCE_CHOICES = tuple((code, {
    "all-rights-reserved": "All rights reserved",
    "cc-by-4.0": "CC BY 4.0: others may share and adapt, with credit",
    "cc-by-sa-4.0": "CC BY-SA 4.0: share and adapt, with credit, same licence",
    "cc-by-nc-4.0": "CC BY-NC 4.0: share and adapt, with credit, not commercially",
    "cc-by-nc-sa-4.0": "CC BY-NC-SA 4.0: with credit, not commercially, same licence",
    "cc-by-nd-4.0": "CC BY-ND 4.0: share unchanged, with credit",
    "cc-by-nc-nd-4.0": "CC BY-NC-ND 4.0: share unchanged, with credit, not commercially",
}.get(code, code)) for code in LICENCES)
_TAG_SPLIT = re.compile(r"[\s,]+")
DEFAULT_SLOTS = 3  # image rows on a new work's form (JavaScript adds more; ?slots=N without it)
EDIT_SLOTS = 2  # empty rows for adding images when editing


@dataclass
class WorkForm:
    """A work's fields as typed (shown again when something is wrong) and as checked."""
    title: str = ""
    description: str = ""
    medium: str = ""
    year: str = ""
    tags: str = ""
    licence: str = "all-rights-reserved"
    series_id: str = ""
    pixels_untouched: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def year_value(self) -> int | None:
        return int(self.year) if self.year.strip() else None

    @property
    def series_value(self) -> int | None:
        return int(self.series_id) if self.series_id else None

    @property
    def tag_list(self) -> list[str]:
        return [t for t in _TAG_SPLIT.split(self.tags) if t]

    def fields(self) -> dict[str, Any]:
        """The keyword arguments of services/portfolio add_work and update_work."""
        return {"title": self.title.strip(), "description": self.description.strip(),
                "medium": self.medium.strip(),
                "year": self.year_value, "tags": check_tags(self.tag_list), "licence": self.licence,
                "series_id": self.series_value}


@dataclass
class ImageRow:
    """One new image of the form: the chosen file (None: the row was left empty) and its alt text."""
    index: int
    upload: FileStorage | None
    alt: str


def _too_long(value: str, limit: int) -> str | None:
    return f"At most {limit} characters (this has {len(value)})." if len(value) > limit else None


async def read_work(form: MultiDict[str, str], account: Account) -> WorkForm:
    work = WorkForm(title=form.get("title") or "", description=form.get("description") or "",
                    medium=form.get("medium") or "", year=(form.get("year") or "").strip(),
                    tags=form.get("tags") or "", licence=form.get("licence") or "",
                    series_id=(form.get("series_id") or "").strip(),
                    pixels_untouched=form.get("pixels_untouched") is not None)
    errors = work.errors
    for name, limit in (("title", TITLE_MAX), ("description", DESCRIPTION_MAX), ("medium", MEDIUM_MAX)):
        problem = _too_long(getattr(work, name).strip(), limit)
        if problem:
            errors[name] = problem
    if work.year and not (work.year.isdigit() and 1 <= int(work.year) <= 9999):
        errors["year"] = "A year from 1 to 9999, or nothing."
    try:
        check_tags(work.tag_list)
    except CaraError as exc:
        errors["tags"] = exc.message.removeprefix("Validation failed: ")
    if work.licence not in LICENCES:
        errors["licence"] = "Choose one of the licences."
    if work.series_id:
        try:
            await portfolio.get_series(account, int(work.series_id))
        except (ValueError, CaraError):
            errors["series_id"] = "Choose one of your series, or none."
    return work


def read_image_rows(form: MultiDict[str, str], files: MultiDict[str, FileStorage]) -> list[ImageRow]:
    """The ``files[]`` inputs paired with the ``alt[]`` text areas beside them, in order (a browser sends
    every file input, chosen or not, so the n-th file goes with the n-th text)."""
    uploads = files.getlist("files[]")
    alts = form.getlist("alt[]")
    rows = []
    for index in range(max(len(uploads), len(alts))):
        upload = uploads[index] if index < len(uploads) else None
        rows.append(ImageRow(index=index, upload=upload if upload is not None and upload.filename else None,
                             alt=(alts[index] if index < len(alts) else "").strip()))
    return rows


def check_image_rows(rows: list[ImageRow], errors: dict[str, str], *, required: bool,
                     max_images: int) -> None:
    chosen = [row for row in rows if row.upload is not None]
    if required and not chosen:
        errors["files_0"] = "Choose at least one image."
    if len(chosen) > max_images:
        errors[f"files_{chosen[max_images].index}"] = f"A work holds at most {max_images} images."
    for row in rows:
        if row.upload is None:
            if row.alt:
                errors[f"files_{row.index}"] = ("Choose the image this description is for, or clear the "
                                                "description.")
            continue
        if not row.alt:
            errors[f"alt_{row.index}"] = "Describe the image for people who cannot see it."
        elif len(row.alt) > DESCRIPTION_LIMIT:
            errors[f"alt_{row.index}"] = f"At most {DESCRIPTION_LIMIT} characters (this has {len(row.alt)})."


def slots(requested: str | None, default: int, maximum: int) -> int:
    try:
        wanted = int(requested or default)
    except ValueError:
        wanted = default
    return max(1, min(wanted, maximum))
