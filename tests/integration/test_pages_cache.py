"""Pages are fast and cache-friendly (issue 6 point 5): validators and 304s, Cache-Control for anonymous
views, and a number of queries that does not grow with the number of works or images."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiohttp
import pytest

from cara_fed.app import create_app
from cara_fed.models import Account, Series, Status, User, Work
from cara_fed.settings import Settings
from cara_fed.web.state import app_state
from cara_fed.web.page_cache import RenderedPages
from tests.support.fakefed import FakeFediverse
from tests.support.page_data import add_post, add_work, fetch, make_artist
from tests.support.servers import RunningServer, serve_asgi

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def mira() -> Account:
    return await make_artist()


async def test_a_repeat_view_is_answered_304_until_the_page_changes(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    work = await add_work(mira, "Heron", position=0, images=2)
    first = await fetch(http, server, "/@mira")
    etag = first.headers["ETag"]
    assert first.status == 200 and etag.startswith('W/"')
    assert first.headers["Cache-Control"] == "public, max-age=60"
    assert first.headers["Vary"] == "Accept" and first.headers["Last-Modified"].endswith("GMT")

    again = await fetch(http, server, "/@mira", **{"If-None-Match": etag})
    assert again.status == 304 and again.text == ""
    assert again.headers["ETag"] == etag and again.headers["Cache-Control"] == "public, max-age=60"
    assert again.headers.getall("X-Robots-Tag")[0] == "noai, noimageai"  # the reservation on 304s too
    assert (await fetch(http, server, "/@mira", **{"If-None-Match": f'"other", {etag}'})).status == 304
    since = await fetch(http, server, "/@mira", **{"If-Modified-Since": first.headers["Last-Modified"]})
    assert since.status == 304
    # If-None-Match wins over If-Modified-Since (RFC 9110 section 13.1.3).
    assert (await fetch(http, server, "/@mira", **{"If-None-Match": '"stale"',
                                                    "If-Modified-Since": first.headers["Last-Modified"]})).status == 200

    # Every change the page shows gives a new ETag.
    etags = {etag}

    async def changed() -> None:
        page = await fetch(http, server, "/@mira", **{"If-None-Match": ", ".join(etags)})
        assert page.status == 200, "the page changed but the old copy was declared current"
        etags.add(page.headers["ETag"])

    other = await add_work(mira, "Fox", position=1)
    await changed()
    await Work.filter(id=work.id).update(position=2)  # a bulk reorder leaves updated_at alone
    await changed()
    await Account.filter(id=mira.id).update(display_name="Mira O.")
    await changed()
    await User.filter(account_id=mira.id).update(commissions="waitlist")
    await changed()
    series = await Series.create(account=mira, name="Birds")
    await changed()
    await Series.filter(id=series.id).update(name="Shore birds")
    await changed()
    await Status.filter(id=other.status_id).update(deleted_at=other.created_at)
    await changed()
    await add_post(mira, "a new post")
    await changed()
    # Other tabs, series and pages have ETags of their own.
    posts = await fetch(http, server, "/@mira?tab=posts", **{"If-None-Match": ", ".join(etags)})
    assert posts.status == 200


async def test_work_post_home_and_feed_pages_answer_304(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    work = await add_work(mira, "Heron", position=0, images=2)
    post = await add_post(mira, "words")
    for path in (f"/@mira/works/{work.id}", f"/@mira/{post.id}", "/", "/@mira.atom", "/works.atom"):
        first = await fetch(http, server, path)
        assert first.status == 200 and first.headers["Vary"] == "Accept", path
        again = await fetch(http, server, path, **{"If-None-Match": first.headers["ETag"]})
        assert again.status == 304, path
    before = (await fetch(http, server, f"/@mira/works/{work.id}")).headers["ETag"]
    await Work.filter(id=work.id).update(title="Grey heron")
    page = await fetch(http, server, f"/@mira/works/{work.id}", **{"If-None-Match": before})
    assert page.status == 200 and "Grey heron" in page.text


async def test_renaming_the_instance_changes_every_pages_etag(
        settings: Settings, fediverse: FakeFediverse, http: aiohttp.ClientSession, mira: Account) -> None:
    """The admin pages change the instance's name at run time (the state's settings are replaced): every
    page shows it (title, site bar, og:site_name), so no page may stay current."""
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as server:
        before = await fetch(http, server, "/@mira")
        app_state(app).settings = settings.replace(instance={"name": "Harbour Atelier"})
        after = await fetch(http, server, "/@mira", **{"If-None-Match": before.headers["ETag"]})
        assert after.status == 200 and "Harbour Atelier" in after.text and "Test Atelier" not in after.text


async def test_a_request_with_credentials_is_not_cached_by_shared_caches(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    page = await fetch(http, server, "/@mira", Cookie="some_session=1")
    assert page.status == 200 and page.headers["Cache-Control"] == "private, no-cache"


def test_rendered_pages_are_bounded_and_least_recently_used_first_out() -> None:
    pages = RenderedPages(max_bytes=100)
    pages.put("a", "x" * 20)
    pages.put("b", "y" * 20)
    pages.put("huge", "z" * 26)  # more than a quarter of the budget: never kept
    assert pages.get("huge") is None and pages.get("a") == "x" * 20
    for n in range(4):
        pages.put(f"c{n}", "w" * 20)  # 120 bytes wanted: "b" (least recently used) goes first
    assert pages.get("b") is None and pages.get("a") == "x" * 20 and pages.size <= 100


@contextmanager
def counting_queries() -> Iterator[list[str]]:
    """Every SQL statement any tortoise connection runs in this process (the test server runs in it)."""
    from cara_fed.models import Account as AnyModel

    seen: list[str] = []
    client_class = type(AnyModel._meta.db)
    patched: list[tuple[type, str, Any]] = []
    for name in ("execute_query", "execute_query_dict", "execute_insert", "execute_many", "execute_script"):
        owner = next(c for c in client_class.__mro__ if name in c.__dict__)
        original = owner.__dict__[name]

        def wrapper(original: Any = original) -> Any:
            async def run(self: Any, query: str, *args: Any, **kwargs: Any) -> Any:
                seen.append(query)
                return await original(self, query, *args, **kwargs)
            return run

        setattr(owner, name, wrapper())
        patched.append((owner, name, original))
    try:
        yield seen
    finally:
        for owner, name, original in patched:
            setattr(owner, name, original)


async def test_the_profile_makes_the_same_number_of_queries_for_5_and_50_works(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    series = await Series.create(account=mira, name="Birds")
    counts: dict[int, dict[str, int]] = {}
    made = 0
    for total in (5, 50):
        while made < total:
            await add_work(mira, f"Work {made}", position=made, images=1 + made % 3,
                           series=series if made % 2 else None)
            await add_post(mira, f"post {made}", images=made % 2)
            made += 1
        await fetch(http, server, "/@mira")  # warm: the no-AI search choices are cached per process
        counts[total] = {}
        for path in ("/@mira", "/@mira?tab=posts", f"/@mira?series={series.id}", "/", "/@mira.atom"):
            with counting_queries() as queries:
                # A cookie: rendered for this request, never taken from the process's rendered pages.
                page = await fetch(http, server, path, Cookie="seen=1")
            assert page.status == 200, path
            counts[total][path] = len(queries)
        etag = (await fetch(http, server, "/@mira")).headers["ETag"]
        with counting_queries() as queries:
            assert (await fetch(http, server, "/@mira", **{"If-None-Match": etag})).status == 304
        counts[total]["304"] = len(queries)
        with counting_queries() as queries:
            assert (await fetch(http, server, "/@mira")).status == 200
        counts[total]["rendered before"] = len(queries)
    assert counts[5] == counts[50], counts
    assert counts[50]["/@mira"] == 4  # the account with its figures, its series, the works, their covers
    assert counts[50]["304"] == 2  # the account with its figures, its series
    assert counts[50]["rendered before"] == 2  # the same, then the body this process rendered for that ETag
    assert counts[50]["/@mira?tab=posts"] == 7  # account, series, post ids, posts, images, tags, works
