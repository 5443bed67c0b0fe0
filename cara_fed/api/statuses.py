"""Statuses (docs: methods/statuses): post, read, edit, delete, thread, and the viewer's actions on a
post (favourite, boost, bookmark, pin), each answering the Status entity with the counts and flags updated."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request

from cara_fed.api.auth import authorized, me, my_user, viewer
from cara_fed.api.entities.accounts import accounts_to_api
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.entities.media import media_to_api
from cara_fed.api.entities.statuses import one_status_to_api, statuses_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import params, parse_id
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Favourite, Status, StatusEdit
from cara_fed.services import interactions, posts, status_marks, threads
from cara_fed.services.visibility import visible_status
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_statuses", __name__)


def _urls() -> LocalUrls:
    return LocalUrls(app_state(current_app).settings)


async def _render(status_id: int) -> Response:
    status = await visible_status(status_id, viewer())
    return json_response(await one_status_to_api(status, _urls(), viewer()))


def _focus(value: Any) -> tuple[float, float] | None:
    """``"x,y"`` with both in [-1, 1] (docs: api/guidelines#focal-points)."""
    if value in (None, ""):
        return None
    try:
        x_text, y_text = str(value).split(",")
        x, y = float(x_text), float(y_text)
    except ValueError:
        raise ValidationFailed("Validation failed: focus must be two numbers, \"x,y\"") from None
    if not (-1.0 <= x <= 1.0 and -1.0 <= y <= 1.0):
        raise ValidationFailed("Validation failed: focus values must be between -1.0 and 1.0")
    return x, y


def _media_ids(values: list[Any]) -> list[int]:
    return [parse_id(v, "media_ids") for v in values]


@bp.post("/api/v1/statuses")
@authorized("write:statuses")
async def create() -> Response:
    p = await params()
    settings = app_state(current_app).settings
    if p.dict("poll"):
        raise ValidationFailed("Validation failed: polls are not supported")
    if p.str("scheduled_at"):
        raise ValidationFailed("Validation failed: scheduled posts are not supported")
    visibility = p.str("visibility") or my_user().default_visibility or "public"
    status = await posts.create_post(
        settings, me(), p.str("status", "") or "", visibility=visibility,
        spoiler_text=p.str("spoiler_text", "") or "", sensitive=bool(p.bool("sensitive", False)),
        language=p.str("language") or None, media_ids=_media_ids(p.list("media_ids")),
        in_reply_to_id=p.id("in_reply_to_id"), idempotency_key=request.headers.get("Idempotency-Key") or None)
    return json_response(await one_status_to_api(status, _urls(), me()))


@bp.get("/api/v1/statuses/<status_id>")
@authorized("read:statuses", optional=True)
async def show(status_id: str) -> Response:
    return await _render(parse_id(status_id))


@bp.delete("/api/v1/statuses/<status_id>")
@authorized("write:statuses")
async def delete(status_id: str) -> Response:
    deleted = await posts.delete_post(app_state(current_app).settings, me(), parse_id(status_id))
    entity = await one_status_to_api(deleted, _urls(), me())
    entity["text"] = deleted.text  # for "delete and redraft"
    return json_response(entity)


@bp.put("/api/v1/statuses/<status_id>")
@authorized("write:statuses")
async def edit(status_id: str) -> Response:
    p = await params()
    sid = parse_id(status_id)
    before = await visible_status(sid, me())
    if before.account_id != me().id:
        raise NotFound("Record not found")
    snapshot = await one_status_to_api(before, _urls(), me())
    descriptions: dict[int, tuple[str | None, tuple[float, float] | None]] = {}
    for item in p.list("media_attributes"):
        if not isinstance(item, dict) or "id" not in item:
            raise ValidationFailed("Validation failed: media_attributes entries need an id")
        description = item.get("description")
        if description is not None and not isinstance(description, str):
            raise ValidationFailed("Validation failed: media description must be a string")
        descriptions[parse_id(item["id"], "media_attributes id")] = (description, _focus(item.get("focus")))
    media_ids = _media_ids(p.list("media_ids")) if p.has("media_ids") else None
    status = await posts.edit_post(
        app_state(current_app).settings, me(), sid, p.str("status", "") or "",
        spoiler_text=p.str("spoiler_text", "") or "", sensitive=bool(p.bool("sensitive", False)),
        language=p.str("language") or before.language, media_ids=media_ids, media_descriptions=descriptions,
        snapshot=snapshot)
    return json_response(await one_status_to_api(status, _urls(), me()))


@bp.get("/api/v1/statuses/<status_id>/history")
@authorized("read:statuses", optional=True)
async def history(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), viewer())
    urls = _urls()
    account = (await accounts_to_api([status.account], urls))[0]
    edits = await StatusEdit.filter(status_id=status.id).order_by("id")
    if not edits:
        entity = await one_status_to_api(status, urls, viewer())
        return json_response([{"content": entity["content"], "spoiler_text": entity["spoiler_text"],
                               "sensitive": entity["sensitive"], "created_at": entity["created_at"],
                               "account": account, "poll": None, "media_attachments":
                                   entity["media_attachments"], "emojis": []}])
    current_media = [media_to_api(m, urls) for m in sorted(status.media_attachments, key=lambda m: m.position)]
    result = []
    for n, edit in enumerate(edits):
        last = n == len(edits) - 1
        result.append({"content": edit.content, "spoiler_text": edit.spoiler_text, "sensitive": edit.sensitive,
                       "created_at": api_datetime(edit.created_at), "account": account, "poll": None,
                       "media_attachments": current_media if last else (edit.media or []), "emojis": []})
    return json_response(result)


@bp.get("/api/v1/statuses/<status_id>/source")
@authorized("read:statuses")
async def source(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    if status.account_id != me().id:
        raise NotFound("Record not found")
    return json_response({"id": str(status.id), "text": status.text, "spoiler_text": status.spoiler_text})


@bp.get("/api/v1/statuses/<status_id>/context")
@authorized("read:statuses", optional=True)
async def context(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), viewer())
    before = await threads.ancestors(status, viewer())
    after = await threads.descendants(status, viewer())
    rendered = await statuses_to_api([*before, *after], _urls(), viewer())
    return json_response({"ancestors": rendered[:len(before)], "descendants": rendered[len(before):]})


@bp.post("/api/v1/statuses/<status_id>/favourite")
@authorized("write:favourites")
async def favourite(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await interactions.favourite(app_state(current_app).settings, me(), status.id)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/unfavourite")
@authorized("write:favourites")
async def unfavourite(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await interactions.unfavourite(app_state(current_app).settings, me(), status.id)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/reblog")
@authorized("write:statuses")
async def reblog(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    if status.reblog_of_id is not None:
        status = await visible_status(status.reblog_of_id, me())
    if status.visibility not in ("public", "unlisted"):
        raise ValidationFailed("Validation failed: Reblog of private or direct posts is not allowed")
    boost = await interactions.reblog(app_state(current_app).settings, me(), status.id)
    return await _render(boost.id)


@bp.post("/api/v1/statuses/<status_id>/unreblog")
@authorized("write:statuses")
async def unreblog(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    original_id = status.reblog_of_id or status.id
    await interactions.unreblog(app_state(current_app).settings, me(), original_id)
    return await _render(original_id)


@bp.post("/api/v1/statuses/<status_id>/bookmark")
@authorized("write:bookmarks")
async def bookmark(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await status_marks.bookmark(me(), status)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/unbookmark")
@authorized("write:bookmarks")
async def unbookmark(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await status_marks.unbookmark(me(), status)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/pin")
@authorized("write:accounts")
async def pin(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await status_marks.pin(me(), status, app_state(current_app).settings)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/unpin")
@authorized("write:accounts")
async def unpin(status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), me())
    await status_marks.unpin(me(), status, app_state(current_app).settings)
    return await _render(status.id)


@bp.post("/api/v1/statuses/<status_id>/mute")
@bp.post("/api/v1/statuses/<status_id>/unmute")
@authorized("write:mutes")
async def mute_conversation(status_id: str) -> Response:
    # Conversation mutes are not kept yet: the status is answered unchanged (muted stays false).
    return await _render(parse_id(status_id))


async def _accounts_page(model: type, status_id: str) -> Response:
    status = await visible_status(parse_id(status_id), viewer())
    page = page_params(40, 80)
    query = model.filter(status_id=status.id) if model is Favourite else model.filter(
        reblog_of_id=status.id, deleted_at=None)
    if page.max_id is not None:
        query = query.filter(id__lt=page.max_id)
    if page.since_id is not None:
        query = query.filter(id__gt=page.since_id)
    if page.min_id is not None:
        query = query.filter(id__gt=page.min_id)
    rows = page.newest_first(list(await query.order_by("id" if page.ascending else "-id").limit(page.limit)
                                  .select_related("account")))
    rows = [r for r in rows if r.account.suspended_at is None]
    accounts: list[Account] = [r.account for r in rows]
    response = json_response(await accounts_to_api(accounts, _urls()))
    return with_link(response, [r.id for r in rows])


@bp.get("/api/v1/statuses/<status_id>/favourited_by")
@authorized("read:accounts", optional=True)
async def favourited_by(status_id: str) -> Response:
    return await _accounts_page(Favourite, status_id)


@bp.get("/api/v1/statuses/<status_id>/reblogged_by")
@authorized("read:accounts", optional=True)
async def reblogged_by(status_id: str) -> Response:
    return await _accounts_page(Status, status_id)
