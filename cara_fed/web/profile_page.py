"""The artist's page for people, ``/@NAME`` (web/actors.py answers servers with the actor document): header,
avatar, names, bio, profile fields, commission status, the "follow from your server" form, then the
portfolio grid (all works, or one series) or the posts tab (``?tab=posts``, paged with ``max_id``).
Known remote accounts (``/@name@host``) show their portfolio if we hold it, and a link to their origin.

Queries: the account and its page figures (one), its series (one), then the works and their covers (two)
or the posts (five). A repeat view whose ETag matches is answered 304 after the first two."""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from quart import Response, request

from cara_fed.errors import Gone, NotFound
from cara_fed.sanitize import sanitize_html
from cara_fed.services import page_posts, page_works, pages
from cara_fed.services.page_works import SeriesView, WorkCard
from cara_fed.services.pages import PageAccount, ProfileFigures
from cara_fed.web import page_views as views
from cara_fed.web.page_cache import conditional_page, page_etag
from cara_fed.web.page_grid import grid_cells, work_grid
from cara_fed.web.page_images import ImageTag
from cara_fed.web.post_list import post_items

POSTS_PER_PAGE = 20


def _int_arg(name: str) -> int | None:
    value = request.args.get(name, "")
    return int(value) if value.isdigit() and len(value) <= 19 else None


def split_profile_name(name: str, local_domain: str) -> tuple[str, str | None]:
    """``mira`` or ``mira@our.domain`` -> local; ``mira@elsewhere.example`` -> remote."""
    username, _, domain = name.partition("@")
    domain = domain.lower() or None
    return username, None if domain == local_domain.lower() else domain


async def load_profile(name: str) -> tuple[PageAccount, ProfileFigures]:
    username, domain = split_profile_name(name, views.settings().instance.domain)
    try:
        found = await pages.profile_account(username, domain)
    except LookupError:
        raise Gone("This account has been suspended") from None
    if found is None:
        raise NotFound("Record not found")
    return found


async def profile_html(name: str) -> Response:
    try:
        account, figures = await load_profile(name)
    except (NotFound, Gone) as error:
        return await views.error_page(error)
    series = await page_works.series_of(account.id)
    tab = "posts" if request.args.get("tab") == "posts" and account.is_local else "portfolio"
    series_id = _int_arg("series") if tab == "portfolio" else None
    shown_series = next((s for s in series if s.id == series_id), None)
    max_id = _int_arg("max_id") if tab == "posts" else None
    series_shown = [(s.id, s.name, s.description, s.position) for s in series]
    etag = await page_etag(account.shown(), figures, series_shown, tab, shown_series.id if shown_series else None,
                           max_id)
    context: dict[str, Any] = {"tab": tab, "series": series, "shown_series": shown_series}

    async def render() -> str:
        if tab == "posts":
            await _posts_context(account, max_id, context)
        else:
            await _portfolio_context(account, shown_series, context)
        return await _render(account, figures, context)

    return await conditional_page(etag, figures.last_modified(account), render)


async def _portfolio_context(account: PageAccount, shown: SeriesView | None, context: dict[str, Any]) -> None:
    cards: list[WorkCard] = await page_works.portfolio(account.id, shown.id if shown else None)
    cells = grid_cells(cards, views.urls(), views.settings().media.full_size_max_edge)
    context["works"] = cells
    context["grid"] = work_grid(cells, f"Works in {shown.name}" if shown else "Works",
                                base=views.profile_path(account))
    context["og_image"] = next((tag for _, tag in cells if tag is not None), None)


async def _posts_context(account: PageAccount, max_id: int | None, context: dict[str, Any]) -> None:
    ids = await page_posts.public_post_ids(account.id, max_id=max_id, limit=POSTS_PER_PAGE + 1)
    more = len(ids) > POSTS_PER_PAGE
    ids = ids[:POSTS_PER_PAGE]
    posts = await page_posts.load_posts(account.id, ids)
    context["posts"] = post_items(account, posts)
    context["older"] = f"{views.profile_path(account)}?tab=posts&max_id={ids[-1]}" if more and ids else None
    context["og_image"] = next((item.images[0] for item in context["posts"] if item.images), None)


def _canonical(account: PageAccount, context: dict[str, Any]) -> str:
    urls = views.urls()
    base = urls.profile(account.username) if account.is_local else urls.base + views.profile_path(account)
    if context["tab"] == "posts":
        return base + "?tab=posts" + (f"&max_id={request.args['max_id']}" if "max_id" in request.args else "")
    if context["shown_series"] is not None:
        return f"{base}?series={context['shown_series'].id}"
    return base


async def _render(account: PageAccount, figures: ProfileFigures, context: dict[str, Any]) -> str:
    urls = views.urls()
    name = account.name
    handle = views.handle(account)
    og_image: ImageTag | None = context.get("og_image")
    # The bio is HTML: only what the strict allow-list keeps is shown (once sanitised, for the page and
    # for its description).
    bio = Markup(sanitize_html(account.note)) if account.note else None
    fallback = f"{figures.works} works by {name}" if account.is_local else f"{name} on the fediverse"
    description = views.plain(str(bio or ""), sanitized=True) or fallback
    title = f"{name} ({handle})"
    if context["shown_series"] is not None:
        title = f"{context['shown_series'].name} · {title}"
    feed = f"{urls.profile(account.username)}.atom" if account.is_local else None
    activity = urls.actor(account.username) if account.is_local else account.uri
    meta = views.PageMeta(title=title, description=description, url=_canonical(account, context),
                          type="profile", image=og_image, feed=feed, activity=activity,
                          extra={"profile:username": handle.lstrip("@")})
    fields = [{"name": f.get("name", ""), "value": f.get("value", ""),
               "link": views.field_link(str(f.get("value", ""))) if account.is_local else None,
               "verified": bool(f.get("verified_at"))}
              for f in account.profile_fields if isinstance(f, dict)]
    return await views.render(
        "profile.html", meta=meta, account=account, figures=figures, handle=handle,
        profile_path=views.profile_path(account), avatar=views.avatar_url(account, urls), bio=bio,
        header=views.header_url(account, urls), fields=fields,
        commissions=views.COMMISSIONS.get(account.commissions or "") if account.is_local else None,
        commissions_state=account.commissions, **context)
