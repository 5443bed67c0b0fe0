"""Media uploads (docs: methods/media): ``POST /api/v2/media`` (and the legacy v1), processed at once, so
the answer is 200 with the complete entity (GoToSocial and Takahē do the same for images; Tusky and
Mastodon.py treat 200 as done); ``GET``/``PUT``/``DELETE /api/v1/media/:id`` for the uploader's own files."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, me
from cara_fed.api.entities.media import media_to_api
from cara_fed.api.params import params, parse_id
from cara_fed.errors import ValidationFailed
from cara_fed.federation.urls import LocalUrls
from cara_fed.services import media
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_media", __name__)


@bp.post("/api/v2/media")
@bp.post("/api/v1/media")
@authorized("write:media")
async def upload() -> Response:
    p = await params()
    file = p.file("file")
    if file is None:
        raise ValidationFailed("Validation failed: File can't be blank")
    settings = app_state(current_app).settings
    data = file.read(settings.media.max_upload_bytes + 1)  # the limit is checked by the pipeline
    created = await media.upload(settings, me(), data, description=p.str("description"),
                                 focus=p.str("focus"), pixels_untouched=p.bool("pixels_untouched"))
    return json_response(media_to_api(created, LocalUrls(settings)))


@bp.get("/api/v1/media/<media_id>")
@authorized("write:media")
async def show(media_id: str) -> Response:
    found = await media.own_media(me(), parse_id(media_id))
    return json_response(media_to_api(found, LocalUrls(app_state(current_app).settings)))


@bp.put("/api/v1/media/<media_id>")
@authorized("write:media")
async def update(media_id: str) -> Response:
    p = await params()
    changed = await media.update(me(), parse_id(media_id), description=p.str("description"),
                                 focus=p.str("focus"))
    return json_response(media_to_api(changed, LocalUrls(app_state(current_app).settings)))


@bp.delete("/api/v1/media/<media_id>")
@authorized("write:media")
async def delete(media_id: str) -> Response:
    await media.delete_unattached(app_state(current_app).settings, me(), parse_id(media_id))
    return json_response({})
