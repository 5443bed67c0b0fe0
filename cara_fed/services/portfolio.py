"""The portfolio (issue 6): an artist's ordered works, each one of their posts (a Note with ordered images),
optionally grouped in ordered series. This module is the use cases; the web studio, the pages and the API
call these and nothing below them.

Writes (each in ONE transaction with the activities that tell followers; services/portfolio_store.py has
the rules for order, featured and concurrency):

- ``add_work(settings, account, media_ids, title=..., description=..., medium=..., year=..., tags=...,
  licence=..., series_id=..., visibility=..., sensitive=..., spoiler_text=..., language=...)`` -> WorkView.
  Uploaded images (services/media.upload) become a new post, whose text is the title, the description and
  the tags (services/portfolio_text.py), made by services/posts.create_post: Create{Note} (carrying the
  work's fields) and Add to the portfolio, at the top. The post is public or unlisted.
- ``make_work_from_status(settings, account, status_id, ...)`` -> WorkView: an existing own post with
  images joins (Add, and Update{Note} so followers learn its title and licence).
- ``update_work(settings, account, work_id, title=, description=, medium=, year=, tags=, licence=,
  series_id=, alt_texts={media_id: text}, media_ids=[...], sensitive=, spoiler_text=)`` -> WorkView: fields
  left out (``UNSET``) stay; the post is edited through services/posts.edit_post (Update{Note}, edit
  history), its text rebuilt when the title, description or tags change.
- ``remove_work(settings, account, work_id, delete_post=False)``: Remove from the portfolio; the post stays
  unless ``delete_post``.
- ``reorder_works(settings, account, work_ids)``, ``reorder_series_works(settings, account, series_id,
  work_ids)``: the listed works first, in that order, then the others as they were (a full list is an exact
  order); Update of the collection. Unknown ids (another artist's included): NotFound.
- Series: services/portfolio_series.py (create, update, reorder, delete), re-exported here.

Reads (services/portfolio_views.py, frozen values, a fixed number of queries):

- ``list_portfolio(account, series_id=None, limit=None, offset=0)`` -> ``PortfolioView(account_id, total,
  works: tuple[WorkView], series: tuple[SeriesView])``.
- ``get_work(work_id, account_id=None)`` -> ``WorkView``; ``get_works(ids)``; ``list_series(account)``;
  ``find_series(series_id, account_id=None)`` -> ``SeriesView``.
- ``WorkView``: id, account_id, username, domain (None: local), status_id, uri/url (remote works), title,
  description, medium, year, licence, series_id, series_name, position, series_position, tags, images
  (``WorkImage``: id, position, type, description = alt text, file_path, files by role, remote_url,
  content_type, blurhash, focus_x/y, meta, width, height, aspect), content (the post's HTML),
  spoiler_text, sensitive, visibility, language, created_at, updated_at, posted_at, edited_at,
  last_modified.

Errors: ValidationFailed (422, "Validation failed: ..."), NotFound (404, "Record not found": also for
another artist's works and series).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.delivery import enqueue_fanout
from cara_fed.federation.notes import status_to_ap
from cara_fed.federation.portfolio import DEFAULT_LICENCE, note_update
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, MediaAttachment, Status, Work
from cara_fed.models.portfolio import LICENCES
from cara_fed.services import portfolio_store, posts
from cara_fed.services.media import check_description
from cara_fed.services.portfolio_series import (create_series, delete_series, get_series, reorder_series,
                                                update_series)
from cara_fed.services.portfolio_store import PUBLIC_VISIBILITIES, UNSET, WorkFields, own_series
from cara_fed.services.portfolio_text import (DESCRIPTION_MAX, MEDIUM_MAX, TITLE_MAX, check_tags, compose_text,
                                              fields_from_text)
from cara_fed.services.portfolio_views import (PortfolioView, SeriesView, WorkImage, WorkView, find_series, get_work,
                                               get_works, list_portfolio, list_series)
from cara_fed.services.statuses import with_relations
from cara_fed.settings import Settings

YEAR_MIN, YEAR_MAX = 1, 9999


def _text(value: Any, name: str, limit: int) -> str:
    if not isinstance(value, str):
        raise ValidationFailed(f"Validation failed: {name} must be a string")
    value = value.strip()
    if len(value) > limit:
        raise ValidationFailed(f"Validation failed: {name} is too long (maximum is {limit} characters)")
    return value


def _year(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not YEAR_MIN <= value <= YEAR_MAX:
        raise ValidationFailed(f"Validation failed: year must be a whole number from {YEAR_MIN} to {YEAR_MAX}")
    return value


def _licence(value: Any) -> str:
    if value not in LICENCES:
        raise ValidationFailed(f"Validation failed: licence must be one of {', '.join(LICENCES)}")
    return str(value)


async def _check_images(account: Account, media_ids: Sequence[int]) -> None:
    """A work is 1..N images of the artist's own (whether they are free to attach, create_post checks)."""
    if not media_ids:
        raise ValidationFailed("Validation failed: a work needs at least one image")
    kinds = await MediaAttachment.filter(id__in=list(media_ids), account_id=account.id).values_list("type", flat=True)
    if len(kinds) != len(set(media_ids)):
        raise ValidationFailed("Validation failed: media not found or already attached to another post")
    if any(kind != "image" for kind in kinds):
        raise ValidationFailed("Validation failed: a work's media must be images")


async def _own_work(account: Account, work_id: int) -> Work:
    work = await Work.filter(id=work_id, account_id=account.id).first()
    if work is None:
        raise NotFound("Record not found")
    return work


async def add_work(settings: Settings, account: Account, media_ids: Sequence[int], *, title: str = "",
                   description: str = "", medium: str = "", year: int | None = None, tags: Sequence[str] = (),
                   licence: str = DEFAULT_LICENCE, series_id: int | None = None, visibility: str = "public",
                   sensitive: bool = False, spoiler_text: str = "", language: str | None = None,
                   idempotency_key: str | None = None) -> WorkView:
    fields = WorkFields(title=_text(title, "title", TITLE_MAX), description=_text(description, "description",
                                                                                   DESCRIPTION_MAX),
                        medium=_text(medium, "medium", MEDIUM_MAX), year=_year(year), licence=_licence(licence),
                        series_id=series_id)
    tag_names = check_tags(list(tags))
    if visibility not in PUBLIC_VISIBILITIES:
        raise ValidationFailed("Validation failed: a work's post must be public or unlisted")
    ids = list(dict.fromkeys(media_ids))
    await _check_images(account, ids)
    if series_id is not None:
        await own_series(account, series_id)
    text = compose_text(fields.title, fields.description, tag_names)
    status = await posts.create_post(settings, account, text, visibility=visibility, spoiler_text=spoiler_text,
                                     sensitive=sensitive, language=language, media_ids=ids,
                                     idempotency_key=idempotency_key, work=fields)
    work = await Work.filter(status_id=status.id).first()
    if work is None:  # an Idempotency-Key that an earlier plain post used
        raise ValidationFailed("Validation failed: this Idempotency-Key was used for a post that is not a work")
    return await get_work(work.id)


async def make_work_from_status(settings: Settings, account: Account, status_id: int, *,
                                title: str | None = None, description: str | None = None, medium: str = "",
                                year: int | None = None, licence: str = DEFAULT_LICENCE,
                                series_id: int | None = None) -> WorkView:
    status = await with_relations(Status.filter(id=status_id, account_id=account.id, deleted_at=None,
                                                reblog_of_id=None)).first()
    if status is None:
        raise NotFound("Record not found")
    if status.visibility not in PUBLIC_VISIBILITIES:
        raise ValidationFailed("Validation failed: a work's post must be public or unlisted")
    if not any(m.type == "image" for m in status.media_attachments):
        raise ValidationFailed("Validation failed: a work needs at least one image")
    derived_title, derived_description = fields_from_text(status.text, settings.portfolio.hashtag.lstrip("#"))
    fields = WorkFields(
        title=_text(derived_title if title is None else title, "title", TITLE_MAX),
        description=_text(derived_description if description is None else description, "description",
                          DESCRIPTION_MAX),
        medium=_text(medium, "medium", MEDIUM_MAX), year=_year(year), licence=_licence(licence), series_id=series_id)
    urls = LocalUrls(settings)
    async with in_transaction() as conn:
        work = await portfolio_store.attach_work(settings, account, status, fields, conn)
        loaded = await with_relations(Status.filter(id=status.id)).using_db(conn).get()
        await enqueue_fanout(note_update(status_to_ap(loaded, urls, with_context=False)), account, using_db=conn)
    return await get_work(work.id)


async def update_work(settings: Settings, account: Account, work_id: int, *, title: Any = UNSET,
                      description: Any = UNSET, medium: Any = UNSET, year: Any = UNSET, tags: Any = UNSET,
                      licence: Any = UNSET, series_id: Any = UNSET, alt_texts: Mapping[int, str] | None = None,
                      media_ids: Sequence[int] | None = None, sensitive: Any = UNSET,
                      spoiler_text: Any = UNSET) -> WorkView:
    work = await _own_work(account, work_id)
    status = await Status.filter(id=work.status_id, deleted_at=None).prefetch_related("tags",
                                                                                       "media_attachments").first()
    if status is None:
        raise NotFound("Record not found")
    changes: dict[str, Any] = {}
    if title is not UNSET:
        changes["title"] = _text(title, "title", TITLE_MAX)
    if description is not UNSET:
        changes["description"] = _text(description, "description", DESCRIPTION_MAX)
    if medium is not UNSET:
        changes["medium"] = _text(medium, "medium", MEDIUM_MAX)
    if year is not UNSET:
        changes["year"] = _year(year)
    if licence is not UNSET:
        changes["licence"] = _licence(licence)
    if series_id is not UNSET and series_id is not None:
        await own_series(account, series_id)
    text = status.text
    if title is not UNSET or description is not UNSET or tags is not UNSET:
        tag_names = check_tags(list(tags)) if tags is not UNSET else sorted(t.name for t in status.tags)
        text = compose_text(changes.get("title", work.title), changes.get("description", work.description),
                            tag_names)
    if media_ids is not None:
        media_ids = list(dict.fromkeys(media_ids))
        await _check_images_or_own(account, media_ids, status)
    image_ids = set(media_ids) if media_ids is not None else {m.id for m in status.media_attachments}
    descriptions: dict[int, tuple[str | None, tuple[float, float] | None]] = {}
    for media_id, alt in (alt_texts or {}).items():
        if media_id not in image_ids:
            raise ValidationFailed(f"Validation failed: image {media_id} is not one of this work's")
        descriptions[media_id] = (check_description(alt), None)
    cw = status.spoiler_text if spoiler_text is UNSET else _text(spoiler_text, "spoiler_text", 1000)
    async with in_transaction() as conn:
        work = await portfolio_store.locked_work(account, work.id, conn)
        if changes:
            await Work.filter(id=work.id).using_db(conn).update(**changes, updated_at=portfolio_store.now())
        if series_id is not UNSET and series_id != work.series_id:
            if series_id is None:
                await portfolio_store.leave_series(settings, account, work, conn)
            else:
                await portfolio_store.join_series(settings, account, work, series_id, conn)
        await posts.edit_post(settings, account, status.id, text, spoiler_text=cw,
                              sensitive=status.sensitive if sensitive is UNSET else bool(sensitive),
                              language=status.language, media_ids=media_ids, media_descriptions=descriptions)
    return await get_work(work.id)


async def _check_images_or_own(account: Account, media_ids: list[int], status: Status) -> None:
    """The images of an edited work: its own current ones, or fresh uploads (images, the artist's)."""
    if not media_ids:
        raise ValidationFailed("Validation failed: a work needs at least one image")
    current = {m.id for m in status.media_attachments}
    fresh = [i for i in media_ids if i not in current]
    if fresh:
        await _check_images(account, fresh)


async def remove_work(settings: Settings, account: Account, work_id: int, *, delete_post: bool = False) -> None:
    work = await _own_work(account, work_id)
    if delete_post:
        await posts.delete_post(settings, account, work.status_id)  # its hook takes the work out
        return
    async with in_transaction() as conn:
        await portfolio_store.detach_work(settings, account, work, conn)


async def reorder_works(settings: Settings, account: Account, work_ids: Sequence[int]) -> bool:
    async with in_transaction() as conn:
        return await portfolio_store.place_works(settings, account, list(work_ids), conn)


async def reorder_series_works(settings: Settings, account: Account, series_id: int,
                               work_ids: Sequence[int]) -> bool:
    series = await own_series(account, series_id)
    async with in_transaction() as conn:
        return await portfolio_store.place_series_works(settings, account, series, list(work_ids), conn)


__all__ = [
    "UNSET", "PortfolioView", "SeriesView", "WorkImage", "WorkView", "add_work", "create_series", "delete_series",
    "find_series", "get_series", "get_work", "get_works", "list_portfolio", "list_series", "make_work_from_status",
    "remove_work", "reorder_series", "reorder_series_works", "reorder_works", "update_series", "update_work",
]
