"""What every admin page shares: the roles that may open it, the signed-in staff member, ids from the path,
rendering with the admin layout, and how a refused action is shown (the page again, its message beside
the form or at the top, with the service's status; nothing was stored)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, current_app, request

from cara_fed.errors import CaraError, Forbidden, NotFound
from cara_fed.models import User
from cara_fed.services.staff import is_admin
from cara_fed.settings import Settings
from cara_fed.web.sessions import current_web_user, render_page
from cara_fed.web.state import app_state

STAFF = ("moderator", "admin")
ADMINS = ("admin",)
PAGE_SIZE = 40


def settings() -> Settings:
    return app_state(current_app).settings


async def staff_user() -> User:
    """The signed-in moderator or admin (only behind @signed_in(roles=STAFF or ADMINS))."""
    session = await current_web_user()
    assert session is not None, "behind @signed_in"
    return session.user


def path_id(value: str) -> int:
    """An id from the path; anything else names nothing (404)."""
    if not value.isdigit() or len(value) > 19:
        raise NotFound("Record not found")
    return int(value)


def message(exc: CaraError) -> str:
    return exc.message.removeprefix("Validation failed: ")


async def render(template: str, status: int = 200, *, nav: str, **context: Any) -> Response:
    """An admin page: the template gets ``nav`` (the current section), ``is_admin`` and ``done`` (the
    ``?done=`` of the redirect after a successful action) besides render_page's context."""
    user = await staff_user()
    return await render_page(template, status, nav=nav, is_admin=is_admin(user),
                             done=request.args.get("done", ""), **context)


def install_errors(bp: Blueprint) -> None:
    """A missing record or a refused permission is a page, not the API's JSON."""

    @bp.errorhandler(NotFound)
    async def not_found(_: NotFound) -> Response:
        return await render_page("admin/refused.html", 404, message="There is no such record.")

    @bp.errorhandler(Forbidden)
    async def forbidden(exc: Forbidden) -> Response:
        return await render_page("admin/refused.html", 403, message=exc.message)


def form_bool(form: Any, name: str) -> bool:
    return form.get(name) is not None and form.get(name) not in ("", "0", "false")


def int_arg(name: str) -> int | None:
    value = request.args.get(name) or ""
    return int(value) if value.isdigit() and len(value) <= 19 else None
