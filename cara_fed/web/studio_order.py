"""Ordering: ``/studio/order`` (the portfolio's works, and the series), ``/studio/series/<id>`` (one
series: its name and description and the order of its works), ``/studio/series`` (a new series).

Each list is a plain form that works without JavaScript: a position number per item (typed positions are
sorted, ties keep the current order) and "move up"/"move down" buttons that move one item by one place.
static/studio.js adds drag and drop, which only rewrites the position numbers of the same form. The new
order goes to services/portfolio (reorder_works, reorder_series_works, reorder_series), which tells
followers with an Update of the collection."""

from __future__ import annotations

from collections.abc import Sequence

from quart import Blueprint, Response, current_app, request
from werkzeug.datastructures import MultiDict

from cara_fed.errors import CaraError, NotFound
from cara_fed.services import portfolio
from cara_fed.services.web_sessions import WebSession
from cara_fed.settings import Settings
from cara_fed.web.sessions import current_web_user, render_page, see_other, signed_in
from cara_fed.web.state import app_state

bp = Blueprint("studio_order", __name__)


def _settings() -> Settings:
    return app_state(current_app).settings


async def _session() -> WebSession:
    session = await current_web_user()
    assert session is not None, "behind @signed_in"
    return session


def _id(value: str) -> int:
    if not value.isdigit() or len(value) > 20:
        raise NotFound("Record not found")
    return int(value)


@bp.errorhandler(NotFound)
async def not_found(_: NotFound) -> Response:
    return await render_page("auth/refused.html", 404, message="There is no such series in your portfolio.")


def _message(exc: CaraError) -> str:
    return exc.message.removeprefix("Validation failed: ")


def new_order(current: Sequence[int], form: MultiDict[str, str],
              prefix: str) -> tuple[list[int], dict[str, str]]:
    """The order the form asks for: a ``move`` button (``ID:up`` / ``ID:down``) moves one item by one
    place; otherwise the ``<prefix>ID`` position numbers (1 = first) are sorted, ties kept in the current
    order. Returns the order and the errors by field id (a position that is not a number)."""
    order = list(current)
    move = form.get("move") or ""
    item, _, direction = move.partition(":")
    if item.isdigit() and int(item) in order and direction in ("up", "down"):
        at = order.index(int(item))
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(order):
            order[at], order[to] = order[to], order[at]
        return order, {}
    errors: dict[str, str] = {}
    wanted: list[tuple[int, int, int]] = []
    for index, ident in enumerate(order):
        text = (form.get(f"{prefix}{ident}") or "").strip()
        if not text:
            wanted.append((index + 1, index, ident))
            continue
        try:
            wanted.append((int(text), index, ident))
        except ValueError:
            errors[f"{prefix}{ident}"] = "A whole number: 1 is the first place."
    return [ident for _, _, ident in sorted(wanted)], errors


# -- the portfolio and its series -------------------------------------------------------------------------


async def _order_page(session: WebSession, status: int = 200, errors: dict[str, str] | None = None,
                      series_form: dict[str, str] | None = None) -> Response:
    view = await portfolio.list_portfolio(session.account)
    return await render_page("studio/order.html", status, nav="order", view=view, errors=errors or {},
                             series_form=series_form or {"name": "", "description": ""},
                             done=request.args.get("done"))


@bp.get("/studio/order")
@signed_in()
async def order_page() -> Response:
    return await _order_page(await _session())


@bp.post("/studio/order")
@signed_in()
async def order_submit() -> Response:
    session = await _session()
    view = await portfolio.list_portfolio(session.account)
    order, errors = new_order([w.id for w in view.works], await request.form, "position_")
    if errors:
        return await _order_page(session, 422, errors)
    await portfolio.reorder_works(_settings(), session.account, order)
    return see_other("/studio/order?done=works#works")


@bp.post("/studio/series/order")
@signed_in()
async def series_order_submit() -> Response:
    session = await _session()
    series = await portfolio.list_series(session.account)
    order, errors = new_order([s.id for s in series], await request.form, "series_position_")
    if errors:
        return await _order_page(session, 422, errors)
    await portfolio.reorder_series(_settings(), session.account, order)
    return see_other("/studio/order?done=series#series")


@bp.post("/studio/series")
@signed_in()
async def series_create() -> Response:
    session = await _session()
    form = await request.form
    values = {"name": (form.get("name") or "").strip(), "description": form.get("description") or ""}
    try:
        await portfolio.create_series(_settings(), session.account, values["name"], values["description"])
    except CaraError as exc:
        field = "series_description" if "description" in exc.message else "series_name"
        return await _order_page(session, 422, {field: _message(exc)}, values)
    return see_other("/studio/order?done=series_created#series")


# -- one series -------------------------------------------------------------------------------------------


async def _series_page(session: WebSession, series_id: int, status: int = 200,
                       errors: dict[str, str] | None = None,
                       values: dict[str, str] | None = None) -> Response:
    series = await portfolio.get_series(session.account, series_id)
    view = await portfolio.list_portfolio(session.account, series_id=series_id)
    return await render_page("studio/series.html", status, nav="order", series=series, view=view,
                             errors=errors or {}, values=values or {"name": series.name,
                                                                    "description": series.description},
                             done=request.args.get("done"))


@bp.get("/studio/series/<series_id>")
@signed_in()
async def series_page(series_id: str) -> Response:
    return await _series_page(await _session(), _id(series_id))


@bp.post("/studio/series/<series_id>")
@signed_in()
async def series_update(series_id: str) -> Response:
    session = await _session()
    ident = _id(series_id)
    await portfolio.get_series(session.account, ident)
    form = await request.form
    values = {"name": (form.get("name") or "").strip(), "description": form.get("description") or ""}
    try:
        await portfolio.update_series(_settings(), session.account, ident, name=values["name"],
                                      description=values["description"])
    except NotFound:
        raise
    except CaraError as exc:
        field = "series_description" if "description" in exc.message else "series_name"
        return await _series_page(session, ident, 422, {field: _message(exc)}, values)
    return see_other(f"/studio/series/{ident}?done=saved")


@bp.post("/studio/series/<series_id>/order")
@signed_in()
async def series_works_order(series_id: str) -> Response:
    session = await _session()
    ident = _id(series_id)
    await portfolio.get_series(session.account, ident)
    view = await portfolio.list_portfolio(session.account, series_id=ident)
    order, errors = new_order([w.id for w in view.works], await request.form, "position_")
    if errors:
        return await _series_page(session, ident, 422, errors)
    await portfolio.reorder_series_works(_settings(), session.account, ident, order)
    return see_other(f"/studio/series/{ident}?done=order#works")


@bp.post("/studio/series/<series_id>/delete")
@signed_in()
async def series_delete(series_id: str) -> Response:
    session = await _session()
    await portfolio.delete_series(_settings(), session.account, _id(series_id))
    return see_other("/studio/order?done=series_deleted#series")
