"""Mastodon's list paging: ``max_id`` (older than), ``since_id`` (newer than, newest first, may leave a
gap), ``min_id`` (the page just newer than, still answered newest first) and ``limit``; the ``Link``
header points at the next (older) and previous (newer) pages, keeping the caller's other parameters
(app/models/concerns/paginable.rb, app/controllers/concerns/api/pagination.rb)."""

from __future__ import annotations

from urllib.parse import urlencode

from quart import Response, current_app, request

from cara_fed.api.params import parse_id
from cara_fed.services.paging import Page
from cara_fed.web.state import app_state


def page_params(default: int = 20, maximum: int = 40) -> Page:
    """Read the paging parameters; a malformed id is 422, a limit out of range is clamped (as Mastodon)."""
    args = request.args
    ids = {}
    for name in ("max_id", "since_id", "min_id"):
        value = args.get(name)
        ids[name] = parse_id(value, name) if value not in (None, "") else None
    try:
        limit = int(args.get("limit", default))
    except ValueError:
        limit = default
    return Page(max_id=ids["max_id"], since_id=ids["since_id"], min_id=ids["min_id"],
                limit=max(1, min(limit, maximum)))


def link_header(next_max_id: int | None, prev_min_id: int | None) -> str | None:
    """``Link`` for a non-empty page: ``next`` = older (max_id), ``prev`` = newer (min_id)."""
    if next_max_id is None or prev_min_id is None:
        return None
    base = app_state(current_app).settings.base_url + request.path  # our public URL, not the Host seen
    kept = [(k, v) for k, v in request.args.items(multi=True)
            if k not in ("max_id", "since_id", "min_id", "access_token")]
    next_url = f"{base}?{urlencode([*kept, ('max_id', str(next_max_id))])}"
    prev_url = f"{base}?{urlencode([*kept, ('min_id', str(prev_min_id))])}"
    return f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'


def with_link(response: Response, cursors: list[int]) -> Response:
    """Add the Link header for a page whose rows (newest first) have these cursor ids."""
    if cursors:
        header = link_header(min(cursors), max(cursors))
        if header:
            response.headers["Link"] = header
    return response


def page_order(rows: list, page: Page) -> list:  # type: ignore[type-arg]
    """Rows fetched in the page's order, returned newest first."""
    return page.newest_first(rows)


__all__ = ["Page", "link_header", "page_order", "page_params", "with_link"]
