"""The small resources clients read at start-up: read markers, preferences, and the collections cara_fed
keeps empty for now (custom emojis, lists, filters, announcements, trends, suggestions, conversations,
followed and featured tags, endorsements, scheduled statuses, domain blocks), answered as real empty
resources in Mastodon's shape, never 404: Takahē and GoToSocial learned that clients stop on a 404 here
(jointakahe/takahe#631, superseriousbusiness/gotosocial#2845). Plus the streaming health check."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from quart import Blueprint, Response

from cara_fed.api.auth import authorized, my_user
from cara_fed.api.entities.common import api_datetime
from cara_fed.api.params import params, parse_id
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Marker
from cara_fed.services import markers
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_misc", __name__)


# --- markers (docs: methods/markers; scopes as Api::V1::MarkersController) ---

def _marker_to_api(marker: Marker) -> dict[str, Any]:
    return {"last_read_id": str(marker.last_read_id), "version": marker.version,
            "updated_at": api_datetime(marker.updated_at)}


@bp.get("/api/v1/markers")
@authorized("read:statuses")
async def get_markers() -> Response:
    timelines = [str(t) for t in (await params()).list("timeline")]
    found = await markers.get_markers(my_user().id, timelines)
    return json_response({timeline: _marker_to_api(marker) for timeline, marker in found.items()})


@bp.post("/api/v1/markers")
@authorized("write:statuses")
async def save_markers() -> Response:
    """``home[last_read_id]=…`` / ``notifications[last_read_id]=…`` as form, or the same nested in JSON."""
    p = await params()
    positions: dict[str, int] = {}
    for timeline in markers.TIMELINES:
        if not p.has(timeline):
            continue
        value = p.dict(timeline).get("last_read_id")
        if value is None or value == "":
            raise ValidationFailed(f"Validation failed: {timeline}[last_read_id] can't be blank")
        positions[timeline] = parse_id(value, f"{timeline}[last_read_id]")
    saved = await markers.set_markers(my_user().id, positions)
    return json_response({timeline: _marker_to_api(marker) for timeline, marker in saved.items()})


# --- preferences (docs: methods/preferences; Ivory asks at start-up) ---

@bp.get("/api/v1/preferences")
@authorized("read:accounts")
async def preferences() -> Response:
    user = my_user()
    return json_response({
        "posting:default:visibility": user.default_visibility,
        "posting:default:sensitive": user.default_sensitive,
        "posting:default:language": user.default_language or None,
        "reading:expand:media": "default",
        "reading:expand:spoilers": False,
    })


# --- empty collections, each with the scope Mastodon asks for (docs: api/oauth-scopes) ---

# path -> scopes (any one of them); None: public (a token, if any, is still read).
_EMPTY_LISTS: dict[str, tuple[str, ...] | None] = {
    "/api/v1/custom_emojis": None,
    "/api/v1/trends": None,  # the old name of /trends/tags
    "/api/v1/trends/tags": None,
    "/api/v1/trends/statuses": None,
    "/api/v1/trends/links": None,
    "/api/v1/lists": ("read:lists",),
    "/api/v1/filters": ("read:filters",),
    "/api/v2/filters": ("read:filters",),
    "/api/v1/announcements": ("read",),
    "/api/v1/suggestions": ("read:accounts",),
    "/api/v2/suggestions": ("read:accounts",),
    "/api/v1/conversations": ("read:statuses",),
    "/api/v1/followed_tags": ("read:follows",),
    "/api/v1/endorsements": ("read:accounts",),
    "/api/v1/featured_tags": ("read:accounts",),
    "/api/v1/scheduled_statuses": ("read:statuses",),
    "/api/v1/domain_blocks": ("read:blocks",),
}


def _empty_list_view(scopes: tuple[str, ...] | None) -> Callable[[], Awaitable[Response]]:
    async def view() -> Response:
        return json_response([])

    return authorized(optional=True)(view) if scopes is None else authorized(*scopes)(view)


for _path, _scopes in _EMPTY_LISTS.items():
    bp.add_url_rule(_path, endpoint="empty_" + _path.strip("/").replace("/", "_"),
                    view_func=_empty_list_view(_scopes), methods=["GET"])


@bp.get("/api/v1/lists/<list_id>")
@authorized("read:lists")
async def get_list(list_id: str) -> Response:
    raise NotFound("Record not found")  # no lists exist yet


# --- streaming health (docs: methods/streaming#health): plain "OK", public ---

@bp.get("/api/v1/streaming/health")
async def streaming_health() -> Response:
    return Response("OK", content_type="text/plain; charset=utf-8")
