"""The public pages (issue 6 point 4): the instance's home page, a work's page ``/@NAME/works/ID``, the
artist's Atom feed ``/@NAME.atom``, and the HTML of a post's page ``/@NAME/ID`` (web/objects.py routes it
and keeps answering servers with the Note). The profile is web/profile_page.py, the remote follow
web/remote_follow.py. Every page works without JavaScript, answers 304 to a current copy
(web/page_cache.py) and reads a fixed number of rows whatever it shows."""

from __future__ import annotations

from quart import Blueprint, Response

from cara_fed.errors import Gone, NotFound
from cara_fed.services import page_posts, page_works, pages, portfolio_views
from cara_fed.services.pages import PageAccount
from cara_fed.web import feeds
from cara_fed.web import page_views as views
from cara_fed.web.page_cache import conditional_page, page_etag
from cara_fed.web.page_grid import grid_cells, work_grid
from cara_fed.web.page_images import image_tag
from cara_fed.web.post_list import post_items
from cara_fed.web.profile_page import profile_html, split_profile_name

bp = Blueprint("pages", __name__)


async def known_artist(name: str) -> PageAccount:
    """``NAME`` (a local artist) or ``name@host`` (a remote account we know)."""
    username, domain = split_profile_name(name, views.settings().instance.domain)
    try:
        account = await pages.page_account(username, domain)
    except LookupError:
        raise Gone("This account has been suspended") from None
    if account is None:
        raise NotFound("Record not found")
    return account


async def local_artist(username: str) -> PageAccount:
    try:
        account = await pages.page_account(username)
    except LookupError:
        raise Gone("This account has been suspended") from None
    if account is None:
        raise NotFound("Record not found")
    return account


@bp.get("/")
async def home() -> Response:
    settings = views.settings()
    urls = views.urls()
    rules = await pages.rules()
    works = await page_works.recent_works()
    etag = await page_etag(settings.instance.name, settings.instance.description,
                           [(r.id, r.text, r.hint) for r in rules], [w.shown() for w in works])
    last_modified = max((w.updated_at for w in works if w.updated_at), default=None)

    async def render() -> str:
        cells = grid_cells(works, urls, settings.media.full_size_max_edge)
        meta = views.PageMeta(title=settings.instance.name, description=settings.instance.description,
                              url=urls.base + "/", image=next((tag for _, tag in cells if tag), None),
                              feed=urls.base + "/works.atom")
        return await views.render("home.html", meta=meta, rules=rules, works=cells,
                                  grid=work_grid(cells, "Recent works", show_artist=True))

    return await conditional_page(etag, last_modified, render)


@bp.get("/@<username>/works/<int:work_id>")
async def work_page(username: str, work_id: int) -> Response:
    try:
        account = await known_artist(username)  # remote artists' works too, if their portfolio reached us
        work = await portfolio_views.get_work(work_id, account_id=account.id)
    except (NotFound, Gone) as error:
        return await views.error_page(error)
    previous_id, next_id = await page_works.neighbours(work.id)
    urls = views.urls()
    images = page_works.work_images(work)
    etag = await page_etag(account.shown(), _work_shown(work), tuple(i.shown() for i in images), previous_id,
                           next_id)

    async def render() -> str:
        edge = views.settings().media.full_size_max_edge
        tags = [image_tag(i, urls, edge) for i in images]
        title = work.title or "Untitled"
        description = views.plain(work.description) or views.plain(work.content) or \
            f"{title}, a work by {account.name}"
        profile = urls.base + views.profile_path(account)
        meta = views.PageMeta(
            title=f"{title} by {account.name}", description=description, url=f"{profile}/works/{work.id}",
            type="article", image=tags[0] if tags else None,
            feed=f"{profile}.atom" if account.is_local else None,
            activity=urls.status(account.username, work.status_id) if account.is_local else work.uri,
            extra={"article:author": profile})
        return await views.render(
            "work.html", meta=meta, account=account, work=work, images=tags, handle=views.handle(account),
            profile_path=views.profile_path(account), description=views.paragraphs(work.description),
            licence=views.licence(work.licence), avatar=views.avatar_url(account, urls), page_lang=work.language,
            previous_id=previous_id, next_id=next_id)

    return await conditional_page(etag, work.last_modified, render)


def _work_shown(work: portfolio_views.WorkView) -> tuple[object, ...]:
    """What the work page shows of the work (its images apart), for the ETag."""
    return (work.id, work.title, work.description, work.medium, work.year, work.licence, work.series_id,
            work.series_name, work.tags, work.content, work.spoiler_text, work.sensitive, work.language,
            work.updated_at, work.edited_at, work.posted_at)


async def status_html(username: str, status_id: int) -> Response:
    """The post's page for people (``/@NAME/ID``): its text, images large, a link to the work it is."""
    try:
        account = await local_artist(username)
        found = await page_posts.load_posts(account.id, [status_id])
        if not found:
            raise NotFound("Record not found")
        if found[0].deleted:
            raise Gone("This post has been deleted.")
    except (NotFound, Gone) as error:
        return await views.error_page(error)
    post = found[0]
    urls = views.urls()
    etag = await page_etag(account.shown(), post.shown())

    async def render() -> str:
        item = post_items(account, [post])[0]
        title = item.work_title or f"Post by {account.name}"
        meta = views.PageMeta(
            title=f"{title} ({views.handle(account)})",
            description=views.plain(post.spoiler_text or post.content) or title,
            url=urls.status_page(account.username, post.id), type="article",
            image=item.images[0] if item.images and not post.sensitive else None,
            feed=f"{urls.profile(account.username)}.atom", activity=urls.status(account.username, post.id),
            extra={"article:author": urls.profile(account.username)})
        return await views.render("status.html", meta=meta, account=account, item=item,
                                  handle=views.handle(account), profile_path=views.profile_path(account),
                                  avatar=views.avatar_url(account, urls), page_lang=post.language)

    return await conditional_page(etag, post.updated, render)


@bp.get("/@<username>.atom")
async def artist_feed(username: str) -> Response:
    try:
        found = await pages.profile_account(username)
        if found is None and await pages.page_account(f"{username}.atom") is not None:
            # "name.atom" is also a valid username (dots are allowed inside): then this is its page.
            return await profile_html(f"{username}.atom")
    except LookupError:
        return await views.error_page(Gone("This account has been suspended"))
    if found is None:
        return await views.error_page(NotFound("Record not found"))
    return await feeds.artist_feed(*found)


@bp.get("/works.atom")
async def instance_feed() -> Response:
    return await feeds.instance_feed()
