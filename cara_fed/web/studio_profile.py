"""``/studio/profile``: the artist's profile and choices, as a form (display name, bio, avatar, header,
profile fields, commission status, locked account, search indexing, the pixels-untouched default).

The same path as ``PATCH /api/v1/accounts/update_credentials`` (api/accounts.py): images through the media
pipeline (services/media.store_profile_image), the change and its ``Update`` for followers in one
transaction (services/profiles.update_profile), the replaced files removed afterwards, and nothing kept
when anything is refused: every field is checked first and each problem shown beside its field."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.exceptions import RequestEntityTooLarge

from cara_fed.errors import CaraError
from cara_fed.services import media, profiles
from cara_fed.services.web_sessions import WebSession
from cara_fed.web.noai import search_choices_changed
from cara_fed.web.sessions import current_web_user, render_page, see_other, signed_in
from cara_fed.web.state import app_state
from cara_fed.web.studio_works import too_large

bp = Blueprint("studio_profile", __name__)
bp.register_error_handler(RequestEntityTooLarge, too_large)  # an avatar or header over the upload limit

COMMISSIONS = (("open", "Open: I take commissions"), ("waitlist", "Waitlist: ask to be put on the list"),
               ("closed", "Closed"))


def _values_of(session: WebSession) -> dict[str, Any]:
    account, user = session.account, session.user
    fields = [(f.get("name", ""), f.get("value", "")) for f in account.profile_fields or []
              if isinstance(f, dict)]
    return {"display_name": account.display_name, "note": account.note_source, "fields": fields,
            "commissions": user.commissions, "locked": account.locked, "indexable": account.indexable,
            "pixels_untouched": user.pixels_untouched}


def _values_from(form: MultiDict[str, str]) -> dict[str, Any]:
    fields = [((form.get(f"field_name_{i}") or "").strip(), (form.get(f"field_value_{i}") or "").strip())
              for i in range(profiles.MAX_FIELDS)]
    return {"display_name": form.get("display_name") or "", "note": form.get("note") or "",
            "fields": [(n, v) for n, v in fields if n or v], "commissions": form.get("commissions") or "",
            "locked": form.get("locked") is not None, "indexable": form.get("indexable") is not None,
            "pixels_untouched": form.get("pixels_untouched") is not None}


def _check(values: dict[str, Any]) -> dict[str, str]:
    """Each problem under its field's id (services/profiles.check would stop at the first)."""
    errors: dict[str, str] = {}
    if len(values["display_name"]) > profiles.DISPLAY_NAME_MAX:
        errors["display_name"] = f"At most {profiles.DISPLAY_NAME_MAX} characters."
    if len(values["note"]) > profiles.NOTE_MAX:
        errors["note"] = f"At most {profiles.NOTE_MAX} characters (this has {len(values['note'])})."
    for i, (name, value) in enumerate(values["fields"]):
        if len(name) > profiles.FIELD_NAME_MAX:
            errors[f"field_name_{i}"] = f"At most {profiles.FIELD_NAME_MAX} characters."
        if len(value) > profiles.FIELD_VALUE_MAX:
            errors[f"field_value_{i}"] = f"At most {profiles.FIELD_VALUE_MAX} characters."
    if values["commissions"] not in profiles.COMMISSION_CHOICES:
        errors["commissions"] = "Choose one of the commission states."
    return errors


async def _page(session: WebSession, values: dict[str, Any], errors: dict[str, str], status: int = 200,
                saved: bool = False) -> Response:
    fields = list(values["fields"]) + [("", "")] * (profiles.MAX_FIELDS - len(values["fields"]))
    return await render_page("studio/profile.html", status, nav="profile", values=values, errors=errors,
                             fields=fields[:profiles.MAX_FIELDS], commissions=COMMISSIONS, saved=saved,
                             account=session.account, limits=profiles)


@bp.get("/studio/profile")
@signed_in()
async def profile_page() -> Response:
    session = await current_web_user()
    assert session is not None
    return await _page(session, _values_of(session), {}, saved=request.args.get("saved") == "1")


def _chosen(files: MultiDict[str, FileStorage], name: str) -> FileStorage | None:
    upload = files.get(name)
    return upload if upload is not None and upload.filename else None


@bp.post("/studio/profile")
@signed_in()
async def profile_submit() -> Response:
    session = await current_web_user()
    assert session is not None
    settings = app_state(current_app).settings
    federation = app_state(current_app).federation
    assert federation is not None
    form, files = await request.form, await request.files
    values = _values_from(form)
    errors = _check(values)
    account, user = session.account, session.user
    before = (account.avatar_path, account.header_path, account.indexable)
    images: dict[str, str] = {}
    try:
        if not errors:  # images are processed only for a form that can be saved
            for name in ("avatar", "header"):
                upload = _chosen(files, name)
                if upload is None:
                    continue
                data = upload.read(settings.media.max_upload_bytes + 1)
                try:
                    images[f"{name}_path"] = await media.store_profile_image(settings, account, data)
                except CaraError as exc:
                    errors[name] = exc.message.removeprefix("Validation failed: ")
        if errors:
            await media.forget_files(settings, list(images.values()))
            return await _page(session, values, errors, 422)
        changes = profiles.ProfileChanges(
            display_name=values["display_name"], note=values["note"], fields=values["fields"],
            commissions=values["commissions"], locked=values["locked"], indexable=values["indexable"],
            pixels_untouched=values["pixels_untouched"], **images)
        try:
            account = await profiles.update_profile(federation, account, user, changes)
        except CaraError as exc:  # a rule the form did not check itself: said at the top, nothing kept
            await media.forget_files(settings, list(images.values()))
            return await _page(session, values, {"display_name": exc.message}, 422)
    except BaseException:
        await media.forget_files(settings, list(images.values()))  # nothing half-saved
        raise
    replaced = [old for old, new in zip(before[:2], (account.avatar_path, account.header_path), strict=True)
                if old and old != new]
    await media.forget_files(settings, replaced)
    if account.indexable != before[2]:
        search_choices_changed(current_app)  # robots.txt, tdmrep.json and the page headers follow at once
    return see_other("/studio/profile?saved=1")
