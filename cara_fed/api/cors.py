"""CORS for the paths browser clients (Elk, Phanpy) call from another origin: Mastodon opens /api,
/oauth/token, /oauth/revoke, /.well-known and /nodeinfo to any origin and exposes Link and the rate-limit
headers (config/initializers/cors.rb). Web clients die without it (pixelfed/pixelfed#4411)."""

from __future__ import annotations

from quart import Quart, Response, request

_PREFIXES = ("/api/", "/oauth/token", "/oauth/revoke", "/.well-known/", "/nodeinfo/")
_EXPOSED = ("Link, X-RateLimit-Reset, X-RateLimit-Limit, X-RateLimit-Remaining, X-Request-Id, Idempotency-Key, "
            "X-Total-Count")
_ALLOWED_METHODS = "POST, PUT, DELETE, GET, PATCH, OPTIONS"


def is_cors_path(path: str) -> bool:
    return path.startswith(_PREFIXES) or path == "/.well-known"


def install_cors(app: Quart) -> None:
    @app.before_request
    async def preflight() -> Response | None:
        if request.method == "OPTIONS" and is_cors_path(request.path):
            response = Response("", status=200)
            response.headers["Access-Control-Allow-Methods"] = _ALLOWED_METHODS
            wanted = request.headers.get("Access-Control-Request-Headers")
            response.headers["Access-Control-Allow-Headers"] = wanted or "Authorization, Content-Type"
            response.headers["Access-Control-Max-Age"] = "86400"
            return response
        return None

    @app.after_request
    async def add_cors(response: Response) -> Response:
        if is_cors_path(request.path):
            response.headers["Access-Control-Allow-Origin"] = "*"
            response.headers["Access-Control-Expose-Headers"] = _EXPOSED
        return response
