"""What every public page shares: the link-preview description of the page (OpenGraph, Twitter card,
canonical URL, feeds), the artist's names and pictures, licences, rendering with the page's language, and
HTML error pages for people (servers keep getting JSON errors)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from jinja2 import Environment
from quart import Response, current_app

from cara_fed.errors import CaraError
from cara_fed.sanitize import sanitize_html
from cara_fed.federation.urls import LocalUrls
from cara_fed.services.pages import PageAccount
from cara_fed.settings import Settings
from cara_fed.web.page_images import ImageTag
from cara_fed.web.noai import current_page_signals
from cara_fed.web.state import app_state
from media.noai.headers import NO_SEARCH_ROBOTS

MISSING_AVATAR = "/static/avatar-missing.png"
_TEMPLATES = "cara_fed_page_templates"
DESCRIPTION_CHARS = 200  # link previews cut near here anyway
_TAGS = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"\s+")

# Names and deeds of the licences a work may carry (models/portfolio.py LICENCES).
LICENCES: dict[str, tuple[str, str | None]] = {
    "all-rights-reserved": ("All rights reserved", None),
    "cc-by-4.0": ("Creative Commons Attribution 4.0 (CC BY 4.0)",
                  "https://creativecommons.org/licenses/by/4.0/"),
    "cc-by-sa-4.0": ("Creative Commons Attribution-ShareAlike 4.0 (CC BY-SA 4.0)",
                     "https://creativecommons.org/licenses/by-sa/4.0/"),
    "cc-by-nc-4.0": ("Creative Commons Attribution-NonCommercial 4.0 (CC BY-NC 4.0)",
                     "https://creativecommons.org/licenses/by-nc/4.0/"),
    "cc-by-nc-sa-4.0": ("Creative Commons Attribution-NonCommercial-ShareAlike 4.0 (CC BY-NC-SA 4.0)",
                        "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
    "cc-by-nd-4.0": ("Creative Commons Attribution-NoDerivatives 4.0 (CC BY-ND 4.0)",
                     "https://creativecommons.org/licenses/by-nd/4.0/"),
    "cc-by-nc-nd-4.0": ("Creative Commons Attribution-NonCommercial-NoDerivatives 4.0 (CC BY-NC-ND 4.0)",
                        "https://creativecommons.org/licenses/by-nc-nd/4.0/"),
}
COMMISSIONS = {"open": "Commissions open", "waitlist": "Commissions: waiting list",
               "closed": "Commissions closed"}


@dataclass(frozen=True)
class PageMeta:
    """The page as link previews and feed readers see it (layout.html writes the tags)."""
    title: str
    description: str
    url: str  # canonical, absolute
    type: str = "website"  # og:type: website | profile | article
    image: ImageTag | None = None
    feed: str | None = None  # the Atom feed of this page's artist (or of the instance)
    activity: str | None = None  # the same thing as ActivityStreams
    extra: dict[str, str] = field(default_factory=dict)  # more og:/article: properties


def settings() -> Settings:
    return app_state(current_app).settings


def urls() -> LocalUrls:
    return LocalUrls(settings())


def plain(html: str, limit: int = DESCRIPTION_CHARS, *, sanitized: bool = False) -> str:
    """Text of some HTML, for descriptions: sanitised first (a script's text goes with it), tags dropped,
    spaces folded, cut at a word."""
    if not sanitized and "<" in html:
        html = sanitize_html(html)
    text = _SPACES.sub(" ", _TAGS.sub(" ", html.replace("<br>", "\n").replace("</p>", "\n"))).strip()
    text = text.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
        .replace("&#39;", "'")
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",.;:") + "…"


def paragraphs(text: str) -> list[str]:
    """Plain text typed by the artist (a work's description) as paragraphs: blank lines separate them."""
    return [p.strip() for p in re.split(r"\n\s*\n", text.replace("\r\n", "\n")) if p.strip()]


def handle(account: PageAccount) -> str:
    return f"@{account.username}@{account.domain or settings().instance.domain}"


def profile_path(account: PageAccount) -> str:
    return f"/@{account.username}" if account.is_local else f"/@{account.username}@{account.domain}"


def avatar_url(account: PageAccount, local: LocalUrls) -> str:
    if account.avatar_path:
        return local.media(account.avatar_path)
    return account.avatar_remote_url or MISSING_AVATAR


def header_url(account: PageAccount, local: LocalUrls) -> str | None:
    if account.header_path:
        return local.media(account.header_path)
    return account.header_remote_url


def licence(code: str) -> dict[str, Any]:
    name, link = LICENCES.get(code, (code, None))
    return {"code": code, "name": name, "url": link}


def field_link(value: str) -> str | None:
    """A local profile field's value that is one web address, to show as a (rel=me) link."""
    value = value.strip()
    if re.fullmatch(r"https?://[^\s<>\"']+", value):
        return value
    return None


def _templates() -> Environment:
    """The app's templates (same loader, filters and globals) rendered synchronously. Quart's own
    render_template runs Flask's synchronous context processor in a worker thread for every page (two
    thread round trips) and renders in Jinja's async mode, which awaits around every expression: together
    a fifth of a profile view's CPU (bench/pages.py with py-spy). The pages need neither."""
    env: Environment | None = current_app.extensions.get(_TEMPLATES)
    if env is None:
        env = current_app.extensions[_TEMPLATES] = current_app.jinja_env.overlay(enable_async=False)
    return env


async def render(template: str, **context: Any) -> str:
    """A public page. Its context gets what base.html needs: the instance and the no-AI signals of the
    path (the same values web/noai.py's context processor gives every other template)."""
    signals = await current_page_signals()
    noai_page = {"search": signals.search, "policy_url": signals.policy_url, "no_search_robots": NO_SEARCH_ROBOTS}
    return _templates().get_template(template).render(instance=settings().instance, noai_page=noai_page,
                                                       **context)


async def error_page(error: CaraError) -> Response:
    """A person asked for a page that is gone or never was: an HTML answer with the same status."""
    title = {404: "Not found", 410: "Gone"}.get(error.status, "This page cannot be shown")
    message = {404: "There is nothing here: the address may be mistyped, or the page was removed.",
               410: "This is no longer here: it was deleted or suspended."}.get(error.status, error.message)
    html = await render("error.html", title=title, message=message)
    response = Response(html, status=error.status, content_type="text/html; charset=utf-8")
    response.headers["Vary"] = "Accept"
    response.headers["Cache-Control"] = "no-cache"
    return response
