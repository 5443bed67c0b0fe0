"""The studio's works: ``/studio`` lists them, ``/studio/works/new`` uploads one (several images, alt text
for each, title, description, medium, year, tags, licence, series, pixels untouched or not),
``/studio/works/<id>`` edits one (fields, alt texts, images added or removed), ``/studio/works/<id>/delete``
deletes one.

Nothing is half-saved: the form is checked as a whole before any image is processed; each image then goes
through the media pipeline (services/media.upload), and if one is refused, or the work cannot be made,
every image already processed is deleted with its files before the form comes back with the reason beside
the image it concerns. The work itself (its post, Create, Add to the portfolio) is one transaction in
services/portfolio. Another artist's work is "not found", as in the API."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from cara_fed.errors import CaraError, NotFound
from cara_fed.models import Account
from cara_fed.services import media, portfolio
from cara_fed.services.web_sessions import WebSession
from cara_fed.settings import Settings
from cara_fed.web.sessions import current_web_user, render_page, see_other, signed_in
from cara_fed.web.state import app_state
from cara_fed.web.studio_forms import (
    DEFAULT_SLOTS,
    EDIT_SLOTS,
    LICENCE_CHOICES,
    ImageRow,
    WorkForm,
    check_image_rows,
    read_image_rows,
    read_work,
    slots,
)

bp = Blueprint("studio_works", __name__)


def _settings() -> Settings:
    return app_state(current_app).settings


async def _session() -> WebSession:
    session = await current_web_user()
    assert session is not None, "behind @signed_in"
    return session


def _work_id(value: str) -> int:
    if not value.isdigit() or len(value) > 20:
        raise NotFound("Record not found")
    return int(value)


@bp.errorhandler(RequestEntityTooLarge)
async def too_large(_: RequestEntityTooLarge) -> Response:
    limit = _settings().media.max_upload_bytes // (1024 * 1024)
    return await render_page("auth/refused.html", 413,
                             message=f"The images sent together are larger than this server takes at once "
                                     f"(about {limit} MB). Upload fewer images now and add the others by "
                                     "editing the work.")


@bp.errorhandler(NotFound)
async def not_found(_: NotFound) -> Response:
    return await render_page("auth/refused.html", 404, message="There is no such work in your portfolio.")


# -- the list ---------------------------------------------------------------------------------------------


@bp.get("/studio")
@signed_in()
async def works_page() -> Response:
    session = await _session()
    view = await portfolio.list_portfolio(session.account)
    return await render_page("studio/works.html", nav="works", view=view, done=request.args.get("done"))


# -- uploading --------------------------------------------------------------------------------------------


async def _series_choices(account: Account) -> list[tuple[str, str]]:
    return [("", "No series")] + [(str(s.id), s.name) for s in await portfolio.list_series(account)]


async def _new_page(session: WebSession, work: WorkForm, rows: int, status: int = 200,
                    alts: list[str] | None = None) -> Response:
    settings = _settings()
    return await render_page("studio/new_work.html", status, nav="new", work=work, errors=work.errors,
                             rows=rows, alts=alts or [], licences=LICENCE_CHOICES,
                             series=await _series_choices(session.account),
                             max_images=settings.api.max_media_attachments,
                             max_mb=settings.media.max_upload_bytes // (1024 * 1024))


@bp.get("/studio/works/new")
@signed_in()
async def new_work_page() -> Response:
    session = await _session()
    settings = _settings()
    work = WorkForm(pixels_untouched=bool(session.user.pixels_untouched))
    return await _new_page(session, work, slots(request.args.get("slots"), DEFAULT_SLOTS,
                                                settings.api.max_media_attachments))


async def _process_images(settings: Settings, account: Account, rows: list[ImageRow], errors: dict[str, str],
                          pixels_untouched: bool) -> list[int]:
    """Each chosen image through the media pipeline; a refused one is noted under its row. Returns the new
    media ids (the caller deletes them if anything was refused)."""
    made: list[int] = []
    for row in rows:
        if row.upload is None:
            continue
        data = row.upload.read(settings.media.max_upload_bytes + 1)
        try:
            attachment = await media.upload(settings, account, data, description=row.alt,
                                            pixels_untouched=pixels_untouched)
        except CaraError as exc:
            reason = exc.message.removeprefix("Validation failed: ")
            errors[f"files_{row.index}"] = f"{row.upload.filename}: {reason}"
            continue
        made.append(attachment.id)
    return made


async def _discard(settings: Settings, account: Account, media_ids: list[int]) -> None:
    """Delete freshly uploaded, never attached images and their files (services/media.delete_unattached)."""
    for media_id in media_ids:
        try:
            await media.delete_unattached(settings, account, media_id)
        except CaraError:
            continue


def _error_key(message: str) -> str:
    """Where a refusal from the service belongs on the form (the form checked the same rules first, so
    this is rare: a series deleted meanwhile, a race)."""
    lowered = message.lower()
    for key in ("series", "title", "description", "medium", "year", "tag", "licence"):
        if key in lowered:
            return {"series": "series_id", "tag": "tags"}.get(key, key)
    return "files_0"


@bp.post("/studio/works/new")
@signed_in()
async def new_work_submit() -> Response:
    session = await _session()
    settings = _settings()
    form, files = await request.form, await request.files
    work = await read_work(form, session.account)
    rows = read_image_rows(form, files)
    check_image_rows(rows, work.errors, required=True, max_images=settings.api.max_media_attachments)
    alts = [row.alt for row in rows]
    if work.errors:
        return await _new_page(session, work, max(len(rows), 1), 422, alts)
    made = await _process_images(settings, session.account, rows, work.errors, work.pixels_untouched)
    try:
        if work.errors:
            await _discard(settings, session.account, made)
            return await _new_page(session, work, len(rows), 422, alts)
        try:
            created = await portfolio.add_work(settings, session.account, made, **work.fields())
        except CaraError as exc:
            await _discard(settings, session.account, made)
            work.errors[_error_key(exc.message)] = exc.message.removeprefix("Validation failed: ")
            return await _new_page(session, work, len(rows), 422, alts)
    except BaseException:
        await _discard(settings, session.account, made)  # nothing half-saved, whatever happened
        raise
    return see_other(f"/studio/works/{created.id}?done=created")


# -- editing ----------------------------------------------------------------------------------------------


def _same(name: str, new: Any, old: Any) -> bool:
    """Unchanged fields are not sent (a work's post is edited only for what changed); tags in any order."""
    return sorted(new) == sorted(old) if name == "tags" else bool(new == old)


def _form_of(view: portfolio.WorkView) -> WorkForm:
    return WorkForm(title=view.title, description=view.description, medium=view.medium,
                    year=str(view.year) if view.year else "", tags=" ".join(f"#{t}" for t in view.tags),
                    licence=view.licence, series_id=str(view.series_id) if view.series_id else "")


async def _edit_page(session: WebSession, view: portfolio.WorkView, work: WorkForm, status: int = 200,
                     alts: dict[int, str] | None = None, removed: set[int] | None = None,
                     done: str | None = None, new_alts: list[str] | None = None) -> Response:
    settings = _settings()
    return await render_page("studio/edit_work.html", status, nav="works", view=view, work=work,
                             errors=work.errors, alts=alts or {i.id: i.description for i in view.images},
                             removed=removed or set(), new_alts=new_alts or [], rows=EDIT_SLOTS,
                             licences=LICENCE_CHOICES, series=await _series_choices(session.account),
                             done=done, max_mb=settings.media.max_upload_bytes // (1024 * 1024))


@bp.get("/studio/works/<work_id>")
@signed_in()
async def edit_work_page(work_id: str) -> Response:
    session = await _session()
    view = await portfolio.get_work(_work_id(work_id), account_id=session.account.id)
    return await _edit_page(session, view, _form_of(view), done=request.args.get("done"))


@bp.post("/studio/works/<work_id>")
@signed_in()
async def edit_work_submit(work_id: str) -> Response:
    session = await _session()
    settings = _settings()
    view = await portfolio.get_work(_work_id(work_id), account_id=session.account.id)
    form, files = await request.form, await request.files
    work = await read_work(form, session.account)
    work.pixels_untouched = form.get("pixels_untouched") is not None
    alts = {image.id: (form.get(f"alt_{image.id}") or "").strip() for image in view.images}
    removed = {image.id for image in view.images if form.get(f"remove_{image.id}") is not None}
    for image in view.images:
        if image.id in removed:
            continue
        if not alts[image.id]:
            work.errors[f"alt_{image.id}"] = "Describe the image for people who cannot see it."
        elif len(alts[image.id]) > media.DESCRIPTION_LIMIT:
            work.errors[f"alt_{image.id}"] = f"At most {media.DESCRIPTION_LIMIT} characters."
    rows = read_image_rows(form, files)
    kept = [image.id for image in view.images if image.id not in removed]
    check_image_rows(rows, work.errors, required=False,
                     max_images=settings.api.max_media_attachments - len(kept))
    if not kept and not any(row.upload for row in rows):
        work.errors[f"remove_{view.images[0].id}" if view.images else "files_0"] = (
            "A work needs at least one image: keep one, or add another.")
    new_alts = [row.alt for row in rows]
    if work.errors:
        return await _edit_page(session, view, work, 422, alts, removed, new_alts=new_alts)
    made = await _process_images(settings, session.account, rows, work.errors, work.pixels_untouched)
    try:
        if work.errors:
            await _discard(settings, session.account, made)
            return await _edit_page(session, view, work, 422, alts, removed, new_alts=new_alts)
        before = _form_of(view).fields()
        changes: dict[str, Any] = {k: v for k, v in work.fields().items() if not _same(k, v, before[k])}
        changed_alts = {i.id: alts[i.id] for i in view.images
                        if i.id not in removed and alts[i.id] != i.description}
        media_ids = kept + made if (removed or made) else None
        try:
            await portfolio.update_work(settings, session.account, view.id, alt_texts=changed_alts or None,
                                        media_ids=media_ids, **changes)
        except CaraError as exc:
            await _discard(settings, session.account, made)
            work.errors[_error_key(exc.message)] = exc.message.removeprefix("Validation failed: ")
            return await _edit_page(session, view, work, 422, alts, removed, new_alts=new_alts)
    except BaseException:
        await _discard(settings, session.account, made)
        raise
    return see_other(f"/studio/works/{view.id}?done=saved")


# -- deleting ---------------------------------------------------------------------------------------------


@bp.get("/studio/works/<work_id>/delete")
@signed_in()
async def delete_work_page(work_id: str) -> Response:
    session = await _session()
    view = await portfolio.get_work(_work_id(work_id), account_id=session.account.id)
    return await render_page("studio/delete_work.html", nav="works", view=view)


@bp.post("/studio/works/<work_id>/delete")
@signed_in()
async def delete_work_submit(work_id: str) -> Response:
    session = await _session()
    view = await portfolio.get_work(_work_id(work_id), account_id=session.account.id)
    form = await request.form
    keep_post = form.get("keep_post") == "1"
    await portfolio.remove_work(_settings(), session.account, view.id, delete_post=not keep_post)
    return see_other("/studio?done=" + ("removed" if keep_post else "deleted"))
