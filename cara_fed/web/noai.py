"""The no-AI policy on the web (issue 5, points 6-9; shared/reference/noai.md).

* ``/robots.txt``, ``/ai.txt``, ``/.well-known/tdmrep.json``, the ODRL policies at the ``tdm-policy`` URLs and
  the human-readable ``/ai-policy`` page. They stay readable to every user agent.
* Every response carries the reservation headers (``media.noai.noai_headers``); HTML pages carry the same as
  ``<meta>`` tags (base.html reads ``noai_page``).
* A GET or HEAD whose User-Agent names a listed AI crawler gets 403 (``noai.refuse_ai_crawlers``), except
  the admin's allowed names.
* Per artist: the pages under ``/@NAME`` and ``/users/NAME`` follow the account's search-indexing choice
  (``Account.indexable``): headers, meta tags, robots.txt ``Content-Usage`` rules and tdmrep.json agree.

The crawler list is the file at ``noai.crawler_list`` (installed by ``cara-fed noai update``) or the bundled
copy; a running server notices a new file within ``RELOAD_SECONDS``. The artists' choices are read from the
database at most every ``SEARCH_CHOICES_SECONDS`` (call :func:`search_choices_changed` after changing one).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from quart import Blueprint, Quart, Response, current_app, g, has_request_context, render_template, request

from cara_fed.federation.urls import LocalUrls
from cara_fed.services.noai import search_indexable_usernames
from cara_fed.settings import Settings
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state
from media.noai import (
    POLICY_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    CrawlerList,
    CrawlerListError,
    UserAgentMatcher,
    ai_txt,
    bundled_crawler_list,
    file_signature,
    has_reservation,
    load_crawler_list,
    noai_headers,
    odrl_policy,
    robots_txt,
    tdmrep_json,
)
from media.noai.headers import NO_SEARCH_ROBOTS

log = logging.getLogger(__name__)
bp = Blueprint("noai", __name__)

EXTENSION = "cara_fed_noai"
RELOAD_SECONDS = 30.0  # how often the crawler-list file is stat()ed for a replacement
SEARCH_CHOICES_SECONDS = 30.0  # how long the artists' search choices are cached per process
RETRY_SECONDS = 5.0  # after the database failed to answer

ROBOTS_PATH = "/robots.txt"
AI_TXT_PATH = "/ai.txt"
TDMREP_PATH = "/.well-known/tdmrep.json"
TDM_POLICY_PATH = "/.well-known/tdm-policy.json"
TDM_SEARCH_POLICY_PATH = "/.well-known/tdm-policy-search.json"
POLICY_PAGE_PATH = "/ai-policy"  # LocalUrls.ai_policy: also the `license` of every post
ALWAYS_READABLE = frozenset({ROBOTS_PATH, AI_TXT_PATH, TDMREP_PATH, TDM_POLICY_PATH, TDM_SEARCH_POLICY_PATH,
                             POLICY_PAGE_PATH})
PRIVATE_PREFIXES = ("/api/", "/oauth/")
MEDIA_PREFIX = "/media/"
ACCOUNT_PREFIXES = ("/@", "/users/")  # an artist's pages and ActivityPub documents
_ACCOUNT_PATH = re.compile(r"/(?:@|users/)([^/]+)")  # used with match
TEXT_MAX_AGE = 3600  # crawlers cache robots.txt up to 24 h anyway (RFC 9309 section 2.4)


@dataclass(frozen=True)
class PageSignals:
    """What one path says: whether search indexing is allowed, and which TDM policy applies."""

    search: bool
    policy_url: str


class NoAIPolicy:
    """One app's no-AI state: the crawler list and matcher, the policy URLs, the cached search choices."""

    def __init__(self, settings: Settings) -> None:
        self.options = settings.noai
        self.instance = settings.instance
        urls = LocalUrls(settings)
        self.base_url = urls.base
        self.policy_page = urls.ai_policy
        self.policy_url = urls.base + TDM_POLICY_PATH
        self.search_policy_url = urls.base + TDM_SEARCH_POLICY_PATH
        self._signature = file_signature(self.options.crawler_list)
        self.crawlers = self._read_list(fallback=bundled_crawler_list())
        self.matcher = self._build_matcher()
        self._next_check = 0.0  # the first request looks; then every RELOAD_SECONDS
        self._search: dict[str, str] = {}  # lower-cased username -> username, of accounts that allow search
        self._search_expires = 0.0
        self._search_lock = asyncio.Lock()
        self._robots_cache: tuple[tuple[Any, ...], str] | None = None

    # -- the crawler list -------------------------------------------------------------------------------

    def _read_list(self, fallback: CrawlerList) -> CrawlerList:
        try:
            return load_crawler_list(self.options.crawler_list)
        except CrawlerListError as exc:
            # `cara-fed noai update` validates before installing, so this is a hand-edited file.
            log.error("AI-crawler list unusable, keeping the previous one",
                      extra={"error": str(exc), "using": fallback.source})
            return fallback

    def _build_matcher(self) -> UserAgentMatcher:
        allowed = (*self.options.allowed_crawlers, *self.options.allow_search_bots)
        return UserAgentMatcher(self.crawlers.names, allowed=allowed)

    def reload_if_changed(self) -> None:
        """Pick up a crawler list replaced on disk (at most one stat() every RELOAD_SECONDS)."""
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + RELOAD_SECONDS
        signature = file_signature(self.options.crawler_list)
        if signature == self._signature:
            return
        self._signature = signature
        self.crawlers = self._read_list(fallback=self.crawlers if signature else bundled_crawler_list())
        self.matcher = self._build_matcher()
        log.info("AI-crawler list loaded", extra={"source": self.crawlers.source, "names": len(self.crawlers)})

    def refused_crawler(self, user_agent: str | None) -> str | None:
        """The listed AI crawler this user agent names, if it is to be refused."""
        if not self.options.refuse_ai_crawlers:
            return None
        return self.matcher.match(user_agent)

    # -- the artists' choices ---------------------------------------------------------------------------

    async def search_choices(self) -> dict[str, str]:
        if time.monotonic() < self._search_expires:
            return self._search
        async with self._search_lock:
            if time.monotonic() < self._search_expires:
                return self._search
            try:
                names = await search_indexable_usernames()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep serving: the last known choices (or none) apply
                log.warning("search choices unavailable", extra={"error": repr(exc)})
                self._search_expires = time.monotonic() + RETRY_SECONDS
                return self._search
            self._search = {name.lower(): name for name in names}
            self._search_expires = time.monotonic() + SEARCH_CHOICES_SECONDS
        return self._search

    def forget_search_choices(self) -> None:
        self._search_expires = 0.0

    async def page_signals(self, path: str) -> PageSignals:
        """Instance pages allow search; an artist's pages only if the artist said so."""
        found = _ACCOUNT_PATH.match(path)
        if found is None:
            return PageSignals(search=True, policy_url=self.policy_url)
        if unquote(found.group(1)).lower() in await self.search_choices():
            return PageSignals(search=True, policy_url=self.search_policy_url)
        return PageSignals(search=False, policy_url=self.policy_url)

    async def search_paths(self) -> list[str]:
        names = sorted((await self.search_choices()).values(), key=str.lower)
        return [f"{prefix}{name}" for name in names for prefix in ACCOUNT_PREFIXES]

    # -- documents --------------------------------------------------------------------------------------

    async def robots_text(self) -> str:
        search_paths = await self.search_paths()
        key = (self.crawlers, tuple(search_paths))
        if self._robots_cache is None or self._robots_cache[0] != key:
            text = robots_txt(
                self.crawlers.names, search_bots=self.options.allow_search_bots,
                disallow_media=self.options.disallow_media_for_unknown_bots, media_prefix=MEDIA_PREFIX,
                private_prefixes=PRIVATE_PREFIXES, no_search_prefixes=ACCOUNT_PREFIXES,
                search_paths=search_paths, policy_page=self.policy_page)
            self._robots_cache = (key, text)
        return self._robots_cache[1]

    def odrl(self, *, search: bool) -> dict[str, Any]:
        return odrl_policy(self.search_policy_url if search else self.policy_url,
                           assigner_name=self.instance.name, assigner_url=self.base_url + "/",
                           assigner_email=self.instance.contact_email, allow_search_indexing=search)


def noai_policy(app: Quart) -> NoAIPolicy:
    policy: NoAIPolicy = app.extensions[EXTENSION]
    return policy


def search_choices_changed(app: Quart) -> None:
    """Call after an account's ``indexable`` changes: this process applies it on the next request (other
    processes within SEARCH_CHOICES_SECONDS)."""
    noai_policy(app).forget_search_choices()


async def current_page_signals() -> PageSignals:
    """The signals of the current request's path (computed once per request)."""
    signals: PageSignals | None = g.get("noai_signals")
    if signals is None:
        signals = await noai_policy(current_app).page_signals(request.path)
        g.noai_signals = signals
    return signals


def install_noai(app: Quart, settings: Settings) -> None:
    """Serve the policy files, refuse AI crawlers, and put the reservation on every response."""
    policy = NoAIPolicy(settings)
    app.extensions[EXTENSION] = policy
    app.register_blueprint(bp)

    @app.before_request
    async def refuse_ai_crawlers() -> Response | None:
        policy.reload_if_changed()
        if request.method not in ("GET", "HEAD") or request.path in ALWAYS_READABLE:
            return None
        crawler = policy.refused_crawler(request.headers.get("User-Agent"))
        if crawler is None:
            return None
        response = json_response({"error": f"This server does not serve AI crawlers (the User-Agent names "
                                           f"{crawler}). Policy: {policy.policy_page}"}, status=403)
        response.headers["Cache-Control"] = "no-store"  # a shared cache must not give this to anyone else
        return response

    @app.after_request
    async def add_reservation_headers(response: Response) -> Response:
        if has_reservation(response.headers.getlist("X-Robots-Tag")):
            return response  # a route (media) set its own
        signals = await current_page_signals()
        for name, value in noai_headers(signals.policy_url, search=signals.search):
            response.headers.add(name, value)
        return response

    @app.context_processor
    async def noai_template_values() -> dict[str, Any]:
        if not has_request_context():
            return {}
        signals = await current_page_signals()
        return {"noai_page": {"search": signals.search, "policy_url": signals.policy_url,
                              "no_search_robots": NO_SEARCH_ROBOTS}}


# -- routes -----------------------------------------------------------------------------------------------


def _text(body: str) -> Response:
    response = Response(body, content_type=TEXT_CONTENT_TYPE)
    response.headers["Cache-Control"] = f"public, max-age={TEXT_MAX_AGE}"
    return response


@bp.get(ROBOTS_PATH)
async def robots() -> Response:
    return _text(await noai_policy(current_app).robots_text())


@bp.get(AI_TXT_PATH)
async def spawning_ai_txt() -> Response:
    return _text(ai_txt(noai_policy(current_app).policy_page))


@bp.get(TDMREP_PATH)
async def tdmrep() -> Response:
    policy = noai_policy(current_app)
    rules = tdmrep_json(policy.policy_url, search_paths=await policy.search_paths(),
                        search_policy_url=policy.search_policy_url)
    return json_response(rules, cors=True)


@bp.get(TDM_POLICY_PATH)
async def tdm_policy() -> Response:
    return json_response(noai_policy(current_app).odrl(search=False), POLICY_CONTENT_TYPE, cors=True)


@bp.get(TDM_SEARCH_POLICY_PATH)
async def tdm_search_policy() -> Response:
    return json_response(noai_policy(current_app).odrl(search=True), POLICY_CONTENT_TYPE, cors=True)


@bp.get(POLICY_PAGE_PATH)
async def policy_page() -> Response:
    policy = noai_policy(current_app)
    html = await render_template(
        "ai_policy.html", instance=app_state(current_app).settings.instance, crawlers=policy.crawlers.names,
        refusing=policy.options.refuse_ai_crawlers, allowed=policy.options.allowed_crawlers,
        search_bots=policy.options.allow_search_bots, media_closed=policy.options.disallow_media_for_unknown_bots,
        search_artists=sorted((await policy.search_choices()).values(), key=str.lower),
        policy_url=policy.policy_url, search_policy_url=policy.search_policy_url)
    return Response(html, content_type="text/html; charset=utf-8")
