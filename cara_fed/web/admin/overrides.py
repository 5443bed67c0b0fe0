"""Keeps a server process's settings in step with the instance texts an admin set on the settings page
(services/admin_instance.py: title, short description, contact address), so every page, the instance API
and NodeInfo, which read ``app_state(app).settings``, show them without further changes.

The settings file's values are kept aside at start-up; the overrides are read once before the first
request is served, again at once in the process that saves them (:func:`refresh`), and every
``POLL_SECONDS`` in every other process (a change made through another server process shows there within
a minute, like a new AI-crawler list). The poll runs beside requests, never on their path."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from quart import Blueprint, Quart, current_app

from cara_fed.services.admin_instance import apply_overrides, overrides
from cara_fed.web.state import app_state

log = logging.getLogger(__name__)
bp = Blueprint("admin_overrides", __name__)

POLL_SECONDS = 60.0
BASE_KEY = "cara_fed_admin_file_settings"
TASK_KEY = "cara_fed_admin_overrides_task"


async def refresh(app: Quart) -> None:
    """Apply the overrides in the database to this app's settings now."""
    state = app_state(app)
    base = app.extensions.setdefault(BASE_KEY, state.settings)
    updated = apply_overrides(base, await overrides())
    if updated != state.settings:
        state.settings = updated


async def _poll(app: Quart) -> None:
    while True:
        await asyncio.sleep(POLL_SECONDS)
        try:
            await refresh(app)
        except asyncio.CancelledError:
            raise
        except Exception:  # a database hiccup: keep the texts in force and try again later
            log.warning("could not read the instance overrides", exc_info=True)


@bp.while_app_serving
async def keep_current() -> AsyncIterator[None]:
    # while_serving runs after every before_serving function, so the database is open here.
    app: Quart = current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        await refresh(app)
    except Exception:
        log.warning("could not read the instance overrides", exc_info=True)
    app.extensions[TASK_KEY] = asyncio.create_task(_poll(app), name="admin-overrides")
    yield


@bp.after_app_serving
async def stop_polling() -> None:
    # Registered before the app's own shutdown (web blueprints are installed first): the poll stops
    # before the database closes.
    task: asyncio.Task[None] | None = current_app.extensions.pop(TASK_KEY, None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
