"""Serving media files: only our own storage names reach the filesystem (anything else is 404), with the
hardening headers Mastodon added for user files (#25756: a sandboxing Content-Security-Policy and nosniff,
so a polyglot can never run as a page), an image content type from our own extension, ETag and 304,
byte ranges (206/416), and long immutable caching (names never change content). The no-AI reservation
headers come from the app's hook (web/noai.py), on every status and method alike.

Large-instance mode (``media.accel_redirect``): the answer carries ``X-Accel-Redirect`` and no body, and
nginx sends the file (README: the nginx snippet that keeps these headers)."""

from __future__ import annotations

from quart import Blueprint, Response, abort, current_app, request, send_file

from media import InvalidStorageName
from media.storage import validate_storage_name

from cara_fed.services.media import content_type_of, storage_at
from cara_fed.web.state import app_state

bp = Blueprint("media_files", __name__)

SANDBOX_CSP = "default-src 'none'; form-action 'none'; sandbox"


def harden(response: Response, max_age: int) -> Response:
    response.headers["Cache-Control"] = f"public, max-age={max_age}, immutable"
    return response


@bp.after_request
async def sandbox(response: Response) -> Response:
    """Every answer under /media/ (errors, 304 and 416 included) is sandboxed and never sniffed."""
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = SANDBOX_CSP
    response.headers["Cross-Origin-Resource-Policy"] = "cross-origin"
    response.headers["Access-Control-Allow-Origin"] = "*"  # web clients draw images on canvases
    return response


@bp.route("/media/<path:name>", methods=["GET", "HEAD"])
async def media_file(name: str) -> Response:
    settings = app_state(current_app).settings
    try:
        validate_storage_name(name)
        path = storage_at(settings.media.root).path(name)
    except InvalidStorageName:
        abort(404)
    if not path.is_file():
        abort(404)
    content_type = content_type_of(name)
    if settings.media.accel_redirect:
        response = Response("", content_type=content_type)
        response.headers["X-Accel-Redirect"] = settings.media.accel_redirect.rstrip("/") + "/" + name
        response.set_etag(name.rsplit("/", 1)[-1].split(".")[0])
        return harden(response, settings.media.cache_max_age)
    response = await send_file(path, mimetype=content_type, add_etags=False,
                               cache_timeout=settings.media.cache_max_age)
    # The name is 128 random bits and a file never changes under it: it is a perfect strong validator.
    response.set_etag(name.rsplit("/", 1)[-1].split(".")[0])
    await response.make_conditional(request, accept_ranges=True, complete_length=response.content_length)
    return harden(response, settings.media.cache_max_age)
