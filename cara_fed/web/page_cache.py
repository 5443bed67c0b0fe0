"""Conditional GETs and caching for the HTML pages (issue 6 point 5).

A page's ETag is a hash of what it shows, computed from the few rows read before rendering (ids, positions,
timestamps, the account's visible fields), plus everything else that changes the bytes: the query
arguments, the no-AI signals of the path (an artist's search choice changes a meta tag) and the templates
themselves. A matching ``If-None-Match`` is answered 304 without rendering; ``If-Modified-Since`` is used
only when no ``If-None-Match`` came (RFC 9110 section 13.1.3). Anonymous views may be kept by shared caches
for a short while (``Cache-Control: public``); every answer varies on ``Accept``, since the same URLs serve
ActivityStreams JSON to servers.

Each process also keeps the pages it rendered for anonymous visitors, by ETag (:class:`RenderedPages`):
since the ETag is a hash of everything the page shows, a page found under it is current by construction,
and a popular profile is rendered once per change rather than once per view. Requests that carry
credentials (a cookie, an Authorization header) are always rendered, so a page that someday shows who is
signed in can never be served to someone else."""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import cache
from pathlib import Path

from quart import Quart, Response, current_app, request
from werkzeug.http import http_date, parse_date, parse_etags

from cara_fed import __version__
from cara_fed.web.noai import current_page_signals
from cara_fed.web.state import app_state

PAGE_MAX_AGE = 60  # seconds a shared cache may keep an anonymous view before asking again (cheaply: 304)
HTML = "text/html; charset=utf-8"
_PACKAGE = Path(__file__).resolve().parents[1]
RENDERED_MAX_BYTES = 16 * 1024 * 1024  # per process: about 140 profiles of 200 works
_EXTENSION = "cara_fed_rendered_pages"


class RenderedPages:
    """Rendered page bodies by ETag, least recently used first out, bounded in bytes."""

    def __init__(self, max_bytes: int = RENDERED_MAX_BYTES) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self._pages: OrderedDict[str, str] = OrderedDict()

    def get(self, etag: str) -> str | None:
        body = self._pages.get(etag)
        if body is not None:
            self._pages.move_to_end(etag)
        return body

    def put(self, etag: str, body: str) -> None:
        if len(body) > self.max_bytes // 4 or etag in self._pages:
            return
        self._pages[etag] = body
        self.size += len(body)
        while self.size > self.max_bytes:
            _, dropped = self._pages.popitem(last=False)
            self.size -= len(dropped)


def rendered_pages(app: Quart) -> RenderedPages:
    pages: RenderedPages | None = app.extensions.get(_EXTENSION)
    if pages is None:
        pages = app.extensions[_EXTENSION] = RenderedPages()
    return pages


@cache
def templates_digest() -> bytes:
    """The templates and style sheets as deployed: a new release never matches an old page's ETag."""
    digest = hashlib.blake2b(__version__.encode(), digest_size=16)
    for folder in ("templates", "static"):
        for path in sorted((_PACKAGE / folder).rglob("*")):
            if path.is_file() and path.suffix in (".html", ".css", ".xml"):
                digest.update(path.name.encode())
                digest.update(path.read_bytes())
    return digest.digest()


def is_anonymous() -> bool:
    """No credentials of any kind: the page is the same for everyone, so shared caches may keep it."""
    return "Authorization" not in request.headers and not request.cookies


async def page_etag(*parts: object) -> str:
    signals = await current_page_signals()
    digest = hashlib.blake2b(templates_digest(), digest_size=16)
    instance = app_state(current_app).settings.instance  # the admin may rename the instance at run time
    digest.update(repr((app_state(current_app).settings.base_url, instance.name, request.path,
                        sorted(request.args.items(multi=True)), signals.search, signals.policy_url,
                        parts)).encode())
    return digest.hexdigest()


def _not_modified(etag: str, last_modified: datetime | None) -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        return parse_etags(if_none_match).contains_weak(etag)  # weak comparison (RFC 9110 section 13.1.2)
    since = parse_date(request.headers.get("If-Modified-Since"))
    return since is not None and last_modified is not None and last_modified.replace(microsecond=0) <= since


def _headers(response: Response, etag: str, last_modified: datetime | None, max_age: int) -> Response:
    response.set_etag(etag, weak=True)  # the same page, not necessarily the same bytes (weak, section 8.8.1)
    if last_modified is not None:
        response.headers["Last-Modified"] = http_date(last_modified)
    if is_anonymous():
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Vary"] = "Accept"
    return response


async def conditional_page(etag: str, last_modified: datetime | None, render: Callable[[], Awaitable[str]], *,
                           max_age: int = PAGE_MAX_AGE, content_type: str = HTML) -> Response:
    """304 when the client's copy is current; else ``render()``'s page (or the same page this process
    rendered before for an anonymous visitor). Both with the validators."""
    if _not_modified(etag, last_modified):
        return _headers(Response("", status=304), etag, last_modified, max_age)
    if not is_anonymous():
        return _headers(Response(await render(), content_type=content_type), etag, last_modified, max_age)
    pages = rendered_pages(current_app)
    body = pages.get(etag)
    if body is None:
        body = await render()
        pages.put(etag, body)
    return _headers(Response(body, content_type=content_type), etag, last_modified, max_age)
