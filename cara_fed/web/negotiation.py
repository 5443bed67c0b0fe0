"""One URL, two representations: ActivityStreams JSON for servers, HTML for people (DESIGN.md section 5)."""

from __future__ import annotations

from typing import Any

import orjson
from quart import Response

AS_CONTENT_TYPE = "application/activity+json; charset=utf-8"
_AS_PROFILE = "https://www.w3.org/ns/activitystreams"


def wants_activitystreams(accept: str | None) -> bool:
    """True for ``application/activity+json`` and for ``application/ld+json`` (with the ActivityStreams
    profile, or with no profile: some servers send bare ld+json). Browsers never ask for either."""
    for part in (accept or "").split(","):
        media_type, _, params = part.strip().partition(";")
        media_type = media_type.strip().lower()
        if media_type == "application/activity+json":
            return True
        if media_type == "application/ld+json":
            profile = next((p.split("=", 1)[1].strip().strip('"') for p in params.split(";")
                            if p.strip().lower().startswith("profile=")), None)
            if profile is None or _AS_PROFILE in profile.split():
                return True
    return False


def activity_response(document: dict[str, Any], status: int = 200) -> Response:
    response = Response(orjson.dumps(document), status=status, content_type=AS_CONTENT_TYPE)
    response.headers["Vary"] = "Accept"
    return response


def json_response(document: Any, content_type: str = "application/json; charset=utf-8", *,
                  cors: bool = False, status: int = 200) -> Response:
    response = Response(orjson.dumps(document), status=status, content_type=content_type)
    if cors:
        response.headers["Access-Control-Allow-Origin"] = "*"
    return response
