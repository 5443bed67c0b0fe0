"""Atom feeds (RFC 4287): an artist's public posts and works at ``/@NAME.atom``, the instance's recent works
at ``/works.atom``. Entries carry their HTML as ``<content type="html">`` with the images (their JPEG/PNG
previews, which every feed reader shows) and the alt texts. Built with ElementTree, so everything is
escaped; characters XML 1.0 forbids are dropped first (a bio may hold any Unicode)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from html import escape

from quart import Response

from cara_fed.services import page_posts, page_works
from cara_fed.services.pages import PageAccount, ProfileFigures
from cara_fed.web import page_views as views
from cara_fed.web.page_cache import conditional_page, page_etag
from cara_fed.web.page_images import ImageTag, image_tag
from cara_fed.web.post_list import PostItem, post_items

ATOM = "http://www.w3.org/2005/Atom"
ATOM_CONTENT_TYPE = "application/atom+xml; charset=utf-8"
ENTRIES = 20
FEED_MAX_AGE = 300
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_RESERVATION = "No AI training: text and data mining rights reserved (EU Directive 2019/790, Art. 4(3))."


def _text(value: str) -> str:
    return _NOT_XML.sub("", value)


def _time(value: datetime | None) -> str:
    value = value or datetime.now(UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attributes: str) -> ET.Element:
    element = ET.SubElement(parent, tag, {k: _text(v) for k, v in attributes.items()})
    if text is not None:
        element.text = _text(text)
    return element


def _images_html(images: list[ImageTag]) -> str:
    return "".join(f'<p><img src="{escape(i.og)}" alt="{escape(i.alt)}"'
                   + (f' width="{i.og_width}" height="{i.og_height}"' if i.og_width and i.og_height else "")
                   + "></p>" for i in images)


def _feed(title: str, subtitle: str, page_url: str, self_url: str, updated: datetime | None,
          author: tuple[str, str] | None, icon: str | None) -> ET.Element:
    feed = ET.Element("feed", {"xmlns": ATOM})
    _add(feed, "id", page_url)
    _add(feed, "title", title)
    if subtitle:
        _add(feed, "subtitle", subtitle)
    _add(feed, "updated", _time(updated))
    _add(feed, "link", rel="alternate", type="text/html", href=page_url)
    _add(feed, "link", rel="self", type="application/atom+xml", href=self_url)
    if author is not None:
        element = _add(feed, "author")
        _add(element, "name", author[0])
        _add(element, "uri", author[1])
    if icon:
        _add(feed, "icon", icon)
    _add(feed, "rights", _RESERVATION)
    _add(feed, "generator", "cara-fed")
    return feed


def _post_entry(feed: ET.Element, item: PostItem, account: PageAccount) -> None:
    urls = views.urls()
    post = item.post
    entry = _add(feed, "entry")
    _add(entry, "id", urls.status(account.username, post.id))
    title = item.work_title or views.plain(post.spoiler_text or post.content, 80) or f"Post by {account.name}"
    _add(entry, "title", title)
    _add(entry, "published", _time(post.created_at))
    _add(entry, "updated", _time(post.updated))
    _add(entry, "link", rel="alternate", type="text/html", href=urls.base + (item.work_path or item.path))
    warning = f"<p><strong>{escape(post.spoiler_text)}</strong></p>" if post.spoiler_text else ""
    html = warning + post.content
    _add(entry, "content", html + _images_html(item.images), type="html")
    for tag in post.tags:
        _add(entry, "category", term=tag)


async def artist_feed(account: PageAccount, figures: ProfileFigures) -> Response:
    etag = await page_etag(account.shown(), figures)
    urls = views.urls()

    async def render() -> str:
        ids = await page_posts.public_post_ids(account.id, max_id=None, limit=ENTRIES)
        items = post_items(account, await page_posts.load_posts(account.id, ids))
        profile = urls.profile(account.username)
        updated = max((i.post.updated for i in items if i.post.updated), default=account.created_at)
        avatar = views.avatar_url(account, urls)
        feed = _feed(f"{account.name} ({views.handle(account)})", views.plain(account.note, 500), profile,
                     f"{profile}.atom", updated, (account.name, profile),
                     avatar if avatar.startswith("http") else urls.base + avatar)
        for item in items:
            _post_entry(feed, item, account)
        return _document(feed)

    return await conditional_page(etag, figures.last_modified(account), render, max_age=FEED_MAX_AGE,
                                  content_type=ATOM_CONTENT_TYPE)


async def instance_feed() -> Response:
    settings = views.settings()
    urls = views.urls()
    works = await page_works.recent_works()
    etag = await page_etag(settings.instance.name, settings.instance.description, [w.shown() for w in works])
    updated = max((w.updated_at for w in works if w.updated_at), default=None)

    async def render() -> str:
        feed = _feed(f"Recent works · {settings.instance.name}", settings.instance.description,
                     urls.base + "/", urls.base + "/works.atom", updated, None, None)
        edge = settings.media.full_size_max_edge
        for work in works:
            entry = _add(feed, "entry")
            _add(entry, "id", urls.status(work.username, work.status_id))
            _add(entry, "title", f"{work.title or 'Untitled'} by {work.display_name or work.username}")
            _add(entry, "updated", _time(work.updated_at))
            _add(entry, "link", rel="alternate", type="text/html",
                 href=f"{urls.profile(work.username)}/works/{work.id}")
            author = _add(entry, "author")
            _add(author, "name", work.display_name or work.username)
            _add(author, "uri", urls.profile(work.username))
            facts = ", ".join(str(f) for f in (work.medium, work.year) if f)
            html = f"<p>{escape(facts)}</p>" if facts else ""
            if work.cover and not work.sensitive:
                html += _images_html([image_tag(work.cover, urls, edge)])
            _add(entry, "content", html, type="html")
        return _document(feed)

    return await conditional_page(etag, updated, render, max_age=FEED_MAX_AGE, content_type=ATOM_CONTENT_TYPE)


def _document(feed: ET.Element) -> str:
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")
