"""Every 4xx/5xx leaves as Mastodon-style ``{"error": "..."}`` JSON, never an HTML page or a traceback."""

from __future__ import annotations

import logging

from quart import Quart
from werkzeug.exceptions import HTTPException

from cara_fed.errors import CaraError

log = logging.getLogger(__name__)


def register_error_handlers(app: Quart) -> None:
    @app.errorhandler(HTTPException)
    async def http_error(exc: HTTPException) -> tuple[dict[str, str], int, dict[str, str]]:
        headers = {k: v for k, v in exc.get_headers() if k.lower() in ("allow", "retry-after")}
        status = exc.code or 500
        return {"error": _message(exc)}, status, headers

    @app.errorhandler(CaraError)
    async def service_error(exc: CaraError) -> tuple[dict[str, str], int]:
        return {"error": exc.message}, exc.status

    @app.errorhandler(Exception)
    async def unexpected(exc: Exception) -> tuple[dict[str, str], int]:
        log.exception("unhandled error")
        return {"error": "Internal server error"}, 500


def _message(exc: HTTPException) -> str:
    if exc.description and exc.description != type(exc).description:
        return exc.description  # raised with our own message, e.g. abort(400, "...")
    # werkzeug's default descriptions are long English paragraphs; Mastodon answers with a short phrase.
    return {404: "Record not found", 405: "Method not allowed"}.get(exc.code or 0, exc.name)
