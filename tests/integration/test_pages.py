"""The public pages over real HTTP (issue 6 point 4): the artist's profile and portfolio, a work, a post,
the home page, the Atom feed; link-preview tags, no-AI signals, srcset and lazy loading, alt texts, and
HTML that parses without a single error (html5lib, strict)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import aiohttp
import html5lib
import pytest
from multidict import CIMultiDictProxy

from cara_fed.models import Account, Rule, Series, Status, StatusPin
from tests.support.page_data import Elements, add_post, add_work, fetch, make_artist
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

BASE = "https://art.example"
MEDIA = f"{BASE}/media/"
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
async def mira() -> Account:
    return await make_artist()


def assert_valid_html(html: str) -> None:
    """Strict html5lib raises at the first parse error (unclosed or misnested tags, stray end tags,
    duplicate attributes, a missing doctype...)."""
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(html)


def assert_no_ai_signals(page_headers: CIMultiDictProxy[str], html: str) -> None:
    assert page_headers.getall("X-Robots-Tag")[0] == "noai, noimageai"
    assert page_headers.getall("tdm-reservation") == ["1"]
    meta = Elements(html)
    assert "noai, noimageai" in meta.meta("robots")
    assert meta.meta("tdm-reservation") == ["1"]


def titles_in_grid(html: str) -> list[str]:
    return re.findall(r'<span class="title">([^<]*)</span>', html)


async def test_the_profile_shows_the_artist_and_the_portfolio_in_its_order(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    # Created in one order, placed in another: the page follows the positions.
    await add_work(mira, "Harbour", position=2, images=3)
    await add_work(mira, "Fox", position=0, width=1000, height=2000)
    await add_work(mira, "Heron", position=1, width=4000, height=1000)
    await add_work(mira, "Private sketch", position=3, visibility="private")
    hidden = await add_work(mira, "Deleted", position=4)
    await Status.filter(id=hidden.status_id).update(deleted_at=hidden.created_at)

    page = await fetch(http, server, "/@mira")
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert page.headers["Vary"] == "Accept"
    assert_valid_html(page.text)
    assert_no_ai_signals(page.headers, page.text)
    html = page.text
    assert '<html lang="en">' in html
    assert "<h1><bdi>Mira Okafor</bdi></h1>" in html and "@mira@art.example" in html
    assert "Ink &amp; paper." in html and "<script" not in html and "alert(1)" not in html
    assert 'href="https://mira.example/shop" rel="me nofollow noopener"' in html
    assert "she/her &lt;b&gt;bold&lt;/b&gt;" in html  # a local field is text, escaped
    assert "Commissions open" in html
    assert titles_in_grid(html) == ["Fox", "Heron", "Harbour"]
    assert "3 images" in html

    elements = Elements(html)
    grid_images = [a for a in elements.all("img") if a.get("srcset")]
    assert [a["alt"] for a in grid_images] == ["alt of Fox0", "alt of Heron0", "alt of Harbour0"]
    fox = grid_images[0]
    assert fox["loading"] == "lazy" and (fox["width"], fox["height"]) == ("1000", "2000")
    assert fox["src"] == f"{MEDIA}Fox0p.webp"
    # Thumbnail 400 px, preview 1280 px and full size on the long edge, as widths.
    assert fox["srcset"] == f"{MEDIA}Fox0t.webp 200w, {MEDIA}Fox0p.webp 640w, {MEDIA}Fox0f.webp 1000w"
    assert fox["sizes"] and "rem" in fox["sizes"]
    # The grid keeps each work's shape: a cell's aspect ratio comes from the image.
    assert 'style="--ar:0.5000"' in html and 'style="--ar:4.0000"' in html and 'style="--ar:1.5000"' in html
    assert all("alt" in a for a in elements.all("img"))  # decorative ones have an explicit empty alt
    assert elements.all("img", **{"class": "avatar"})[0]["alt"] == ""

    # Link previews and discovery.
    assert elements.meta("og:title") == ["Mira Okafor (@mira@art.example)"]
    assert elements.meta("og:description") == ["Ink & paper."]
    assert elements.meta("og:url") == [f"{BASE}/@mira"] and elements.meta("og:type") == ["profile"]
    assert elements.meta("og:image") == [f"{MEDIA}Fox0p.jpg"]  # the first work's preview, as JPEG
    assert elements.meta("og:image:width") == ["640"] and elements.meta("og:image:height") == ["1280"]
    assert elements.meta("twitter:card") == ["summary_large_image"]
    assert elements.all("link", rel="canonical")[0]["href"] == f"{BASE}/@mira"
    assert elements.all("link", rel="alternate", type="application/atom+xml")[0]["href"] == f"{BASE}/@mira.atom"
    assert elements.all("link", rel="alternate", type="application/activity+json")[0]["href"] == \
        f"{BASE}/users/mira"

    # The follow form: every control has a label.
    inputs = elements.all("input")
    labels = {a["for"] for a in elements.all("label")}
    assert inputs and all(a["id"] in labels for a in inputs if a.get("type") != "hidden")
    assert elements.all("form")[0]["action"] == "/@mira/remote_follow"
    assert 'href="/auth/sign_in"' in html


async def test_the_style_sheet_is_served_and_head_works(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    css = await fetch(http, server, "/static/cara.css", accept="text/css,*/*;q=0.1")
    assert css.status == 200 and css.headers["Content-Type"].startswith("text/css") and ".grid" in css.text
    head = await fetch(http, server, "/@mira", method="HEAD")
    assert head.status == 200 and head.text == "" and head.headers["ETag"]


async def test_the_same_url_still_serves_the_actor_to_servers(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    page = await fetch(http, server, "/@mira", accept="application/activity+json")
    assert page.status == 200 and page.headers["Content-Type"].startswith("application/activity+json")
    assert '"preferredUsername":"mira"' in page.text.replace(" ", "")


async def test_series_are_filter_links_and_keep_their_own_order(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    birds = await Series.create(account=mira, name="Birds", description="Shore birds.", position=0)
    await Series.create(account=mira, name="Empty", position=1)
    await add_work(mira, "Heron", position=0, series=birds, series_position=1)
    await add_work(mira, "Cat", position=1)
    await add_work(mira, "Gull", position=2, series=birds, series_position=0)
    page = await fetch(http, server, "/@mira")
    assert f'href="/@mira?series={birds.id}"' in page.text and titles_in_grid(page.text) == ["Heron", "Cat", "Gull"]
    page = await fetch(http, server, f"/@mira?series={birds.id}")
    assert page.status == 200
    assert_valid_html(page.text)
    assert "<h2 id=\"portfolio-heading\">Series: Birds</h2>" in page.text and "Shore birds." in page.text
    assert titles_in_grid(page.text) == ["Gull", "Heron"]
    assert f'aria-current="page">Birds</a>' in page.text
    assert Elements(page.text).all("link", rel="canonical")[0]["href"] == f"{BASE}/@mira?series={birds.id}"


async def test_the_posts_tab_pages_through_public_posts(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    posts = [await add_post(mira, f"note {n}", images=1 if n == 24 else 0) for n in range(25)]
    await add_post(mira, "for followers", visibility="private")
    await add_post(mira, "a secret", visibility="direct")
    await add_post(mira, "sensitive one", spoiler_text="eye strain", sensitive=True)
    page = await fetch(http, server, "/@mira?tab=posts")
    assert page.status == 200
    assert_valid_html(page.text)
    html = page.text
    assert "for followers" not in html and "a secret" not in html
    assert "<summary>Content warning: eye strain (show)</summary>" in html
    assert html.index("sensitive one") < html.index("note 24") < html.index("note 6")
    assert "note 5" not in html
    image = [a for a in Elements(html).all("img") if a.get("srcset")][0]
    assert image["alt"] == f"alt of post{posts[24].id}x0" and image["loading"] == "lazy"
    older = re.search(r'href="(/@mira\?tab=posts&amp;max_id=\d+)" rel="next"', html)
    assert older is not None
    page = await fetch(http, server, older.group(1).replace("&amp;", "&"))
    assert "note 5" in page.text and "note 0" in page.text and "note 6" not in page.text
    assert 'rel="next"' not in page.text


async def test_the_work_page_shows_every_image_large_and_the_reservation(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    birds = await Series.create(account=mira, name="Birds", position=0)
    first = await add_work(mira, "Study", position=0)
    work = await add_work(mira, "Heron at dawn", position=1, images=3, series=birds, tags=("ink", "portfolio"),
                          licence="cc-by-nc-4.0", medium="Ink on paper", year=2024,
                          description="Early light.\n\nSecond paragraph & more.")
    last = await add_work(mira, "Later", position=2)
    page = await fetch(http, server, f"/@mira/works/{work.id}")
    assert page.status == 200 and page.headers["Content-Type"] == "text/html; charset=utf-8"
    assert_valid_html(page.text)
    assert_no_ai_signals(page.headers, page.text)
    html = page.text
    assert "<h1>Heron at dawn</h1>" in html
    assert "<p>Early light.</p>" in html and "<p>Second paragraph &amp; more.</p>" in html
    assert "Ink on paper" in html and "2024" in html
    assert f'<a href="/@mira?series={birds.id}">Birds</a>' in html
    assert '<a href="https://creativecommons.org/licenses/by-nc/4.0/" rel="license">' in html
    assert "#ink #portfolio" in html
    assert "train artificial intelligence" in html and '<a href="/ai-policy">AI policy</a>' in html
    assert f'href="/@mira/works/{first.id}" rel="prev"' in html and f'href="/@mira/works/{last.id}" rel="next"' in html
    images = [a for a in Elements(html).all("img") if a.get("srcset")]
    assert [a["alt"] for a in images] == ["alt of Heronatdawn0", "alt of Heronatdawn1", "alt of Heronatdawn2"]
    assert all("<p>alt of Heronatdawn%d</p>" % n in html for n in range(3))  # readable by everyone
    assert images[0].get("loading") is None and [a["loading"] for a in images[1:]] == ["lazy", "lazy"]
    assert images[1]["srcset"] == (f"{MEDIA}Heronatdawn1t.webp 400w, {MEDIA}Heronatdawn1p.webp 1280w, "
                                   f"{MEDIA}Heronatdawn1f.webp 3000w")
    assert images[1]["sizes"] == "(min-width: 62rem) 60rem, 100vw"
    assert (images[1]["width"], images[1]["height"]) == ("3000", "2000")
    elements = Elements(html)
    assert elements.meta("og:title") == ["Heron at dawn by Mira Okafor"]
    assert elements.meta("og:description") == ["Early light. Second paragraph & more."]
    assert elements.meta("og:image") == [f"{MEDIA}Heronatdawn0p.jpg"]
    assert elements.meta("og:url") == [f"{BASE}/@mira/works/{work.id}"] and elements.meta("og:type") == ["article"]
    assert elements.meta("twitter:card") == ["summary_large_image"]
    assert elements.all("link", rel="canonical")[0]["href"] == f"{BASE}/@mira/works/{work.id}"
    assert elements.all("link", rel="alternate", type="application/atom+xml")[0]["href"] == f"{BASE}/@mira.atom"

    assert (await fetch(http, server, f"/@mira/works/{work.id + 1}")).status == 404
    other = await make_artist("juno", display_name="Juno")
    assert (await fetch(http, server, f"/@juno/works/{work.id}")).status == 404  # not Juno's
    private = await add_work(other, "Private", position=0, visibility="private")
    missing = await fetch(http, server, f"/@juno/works/{private.id}")
    assert missing.status == 404 and missing.headers["Content-Type"].startswith("text/html")
    assert_valid_html(missing.text)


async def test_the_post_page_links_its_work_and_deleted_posts_are_gone(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    work = await add_work(mira, "Heron", position=0, images=2)
    page = await fetch(http, server, f"/@mira/{work.status_id}")
    assert page.status == 200
    assert_valid_html(page.text)
    assert_no_ai_signals(page.headers, page.text)
    assert f'href="/@mira/works/{work.id}">In the portfolio: Heron</a>' in page.text
    elements = Elements(page.text)
    assert [a["alt"] for a in elements.all("img") if a.get("srcset")] == ["alt of Heron0", "alt of Heron1"]
    assert elements.meta("og:url") == [f"{BASE}/@mira/{work.status_id}"]
    assert elements.meta("og:image") == [f"{MEDIA}Heron0p.jpg"]
    post = await add_post(mira, "just words")
    page = await fetch(http, server, f"/@mira/{post.id}")
    assert page.status == 200 and Elements(page.text).meta("twitter:card") == ["summary"]
    await Status.filter(id=post.id).update(deleted_at=post.created_at)
    gone = await fetch(http, server, f"/@mira/{post.id}")
    assert gone.status == 410 and gone.headers["Content-Type"].startswith("text/html")
    private = await add_post(mira, "followers", visibility="private")
    assert (await fetch(http, server, f"/@mira/{private.id}")).status == 404


async def test_the_home_page_has_the_description_rules_recent_works_and_sign_in(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    await Rule.create(text="Credit other artists.", hint="Always link the original.", position=1)
    await Rule.create(text="No AI-generated images.", position=0)
    await add_work(mira, "Older", position=1)
    await add_work(mira, "Newer", position=0)
    await add_work(mira, "Unlisted", position=2, visibility="unlisted")
    page = await fetch(http, server, "/")
    assert page.status == 200
    assert_valid_html(page.text)
    assert_no_ai_signals(page.headers, page.text)
    html = page.text
    assert "<h1 id=\"instance-heading\">Test Atelier</h1>" in html and "A home on the fediverse for artists." in html
    assert html.index("No AI-generated images.") < html.index("Credit other artists.")
    assert "Always link the original." in html
    assert titles_in_grid(html) == ["Newer", "Older"]  # newest first; unlisted works stay off public lists
    assert "by Mira Okafor" in html and 'href="/auth/sign_in"' in html
    elements = Elements(html)
    assert elements.meta("og:title") == ["Test Atelier"] and elements.meta("og:url") == [f"{BASE}/"]
    assert elements.all("link", rel="alternate", type="application/atom+xml")[0]["href"] == f"{BASE}/works.atom"
    feed = ET.fromstring((await fetch(http, server, "/works.atom")).text)
    assert [e.findtext(f"{ATOM}title") for e in feed.findall(f"{ATOM}entry")] == \
        ["Newer by Mira Okafor", "Older by Mira Okafor"]


async def test_every_page_is_valid_accessible_html(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    """Headings in order, one h1, labels on every control, alt on every image, lang on html."""
    work = await add_work(mira, "Heron", position=0, images=2)
    post = await add_post(mira, "hello", images=1)
    await Rule.create(text="Be kind.")
    for path in ("/", "/@mira", "/@mira?tab=posts", f"/@mira/works/{work.id}", f"/@mira/{post.id}",
                 "/@mira/remote_follow", "/authorize_interaction?uri=acct:mira@art.example", "/@nobody"):
        page = await fetch(http, server, path)
        assert_valid_html(page.text)
        elements = Elements(page.text)
        assert elements.all("html")[0].get("lang"), path
        levels = [int(t[1]) for t, _ in elements.tags if re.fullmatch(r"h[1-6]", t)]
        assert levels.count(1) == 1 and levels[0] == 1, path
        assert all(b - a <= 1 for a, b in zip(levels, levels[1:])), (path, levels)
        assert all("alt" in a for a in elements.all("img")), path
        labels = {a.get("for") for a in elements.all("label")}
        assert all(a.get("id") in labels for a in elements.all("input") if a.get("type") != "hidden"), path
        assert elements.all("a", href="#content"), path  # a skip link for keyboard users


async def test_the_atom_feed_lists_public_posts_and_works(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    work = await add_work(mira, "Heron", position=0, images=1, tags=("ink",))
    post = await add_post(mira, "a note with <b>html</b>")
    await add_post(mira, "followers only", visibility="private")
    pinned = await add_post(mira, "pinned words", spoiler_text="cw")
    await StatusPin.create(account=mira, status=pinned)
    page = await fetch(http, server, "/@mira.atom")
    assert page.status == 200 and page.headers["Content-Type"] == "application/atom+xml; charset=utf-8"
    assert page.headers["Vary"] == "Accept" and page.headers.getall("X-Robots-Tag")[0] == "noai, noimageai"
    feed = ET.fromstring(page.text)
    assert feed.tag == f"{ATOM}feed"
    assert feed.findtext(f"{ATOM}id") == f"{BASE}/@mira"
    assert feed.findtext(f"{ATOM}title") == "Mira Okafor (@mira@art.example)"
    assert feed.findtext(f"{ATOM}updated")
    self_link = [link for link in feed.findall(f"{ATOM}link") if link.get("rel") == "self"]
    assert self_link[0].get("href") == f"{BASE}/@mira.atom"
    entries = feed.findall(f"{ATOM}entry")
    assert [e.findtext(f"{ATOM}id") for e in entries] == [
        f"{BASE}/users/mira/statuses/{s}" for s in (pinned.id, post.id, work.status_id)]
    heron = entries[2]
    assert heron.findtext(f"{ATOM}title") == "Heron"
    assert heron.find(f"{ATOM}link").get("href") == f"{BASE}/@mira/works/{work.id}"  # type: ignore[union-attr]
    content = heron.find(f"{ATOM}content")
    assert content is not None and content.get("type") == "html"
    assert '<img src="https://art.example/media/Heron0p.jpg" alt="alt of Heron0"' in (content.text or "")
    assert [c.get("term") for c in heron.findall(f"{ATOM}category")] == ["ink"]
    assert all(e.findtext(f"{ATOM}updated") and e.findtext(f"{ATOM}published") for e in entries)
    assert "<strong>cw</strong>" in (entries[0].findtext(f"{ATOM}content") or "")
    assert (await fetch(http, server, "/@nobody.atom")).status == 404


async def test_a_username_ending_in_atom_still_has_its_page(
        server: RunningServer, http: aiohttp.ClientSession) -> None:
    await make_artist("ann.atom", display_name="Ann")
    page = await fetch(http, server, "/@ann.atom")
    assert page.status == 200 and "<h1><bdi>Ann</bdi></h1>" in page.text


async def test_remote_accounts_show_their_portfolio_or_link_to_their_origin(
        server: RunningServer, http: aiohttp.ClientSession) -> None:
    zoe = await Account.create(username="zoe", domain="remote.example", uri="https://remote.example/users/zoe",
                               url="https://remote.example/@zoe", display_name="Zoe",
                               note="<p>Remote <em>painter</em></p>", inbox_url="https://remote.example/inbox")
    page = await fetch(http, server, "/@zoe@remote.example")
    assert page.status == 200
    assert_valid_html(page.text)
    assert '<a href="https://remote.example/@zoe" rel="nofollow noopener">see its profile there</a>' in page.text
    assert "No portfolio from this account has reached this server." in page.text
    assert "remote_follow" not in page.text and "tab=posts" not in page.text
    remote = await add_work(zoe, "Remote heron", position=0)
    page = await fetch(http, server, "/@zoe@remote.example")
    assert titles_in_grid(page.text) == ["Remote heron"]
    assert f'href="/@zoe@remote.example/works/{remote.id}"' in page.text
    page = await fetch(http, server, f"/@zoe@remote.example/works/{remote.id}")
    assert page.status == 200 and "<h1>Remote heron</h1>" in page.text
    assert_valid_html(page.text)
    assert Elements(page.text).all("link", rel="canonical")[0]["href"] == \
        f"{BASE}/@zoe@remote.example/works/{remote.id}"
    assert (await fetch(http, server, "/@nobody@remote.example")).status == 404
    # Servers asking for a remote account's page still get what they got before: nothing.
    assert (await fetch(http, server, "/@zoe@remote.example", accept="application/activity+json")).status == 404


async def test_unknown_and_suspended_artists_get_html_error_pages(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    page = await fetch(http, server, "/@nobody")
    assert page.status == 404 and page.headers["Content-Type"].startswith("text/html") and "Not found" in page.text
    await Account.filter(id=mira.id).update(suspended_at=mira.created_at)
    page = await fetch(http, server, "/@mira")
    assert page.status == 410 and page.headers["Content-Type"].startswith("text/html")
    page = await fetch(http, server, "/@mira", accept="application/activity+json")
    assert page.status == 410 and page.headers["Content-Type"].startswith("application/json")
