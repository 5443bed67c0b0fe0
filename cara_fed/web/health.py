"""`GET /health`: 200 only when the database answers (load balancers and `make run` poll it)."""

from __future__ import annotations

import asyncio
import logging

from quart import Blueprint, current_app

from cara_fed.db import ping
from cara_fed.web.state import app_state

log = logging.getLogger(__name__)
bp = Blueprint("health", __name__)

PING_TIMEOUT_SECONDS = 2.0


@bp.get("/health")
async def health() -> tuple[dict[str, str], int]:
    state = app_state(current_app)
    try:
        if state.db is None:
            raise RuntimeError("database not opened")
        await asyncio.wait_for(ping(state.db), PING_TIMEOUT_SECONDS)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - any failure means "not healthy"
        log.warning("health check failed", extra={"error": repr(exc)})
        return {"status": "unavailable", "error": "database unavailable"}, 503
    return {"status": "ok"}, 200
