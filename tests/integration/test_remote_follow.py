"""Following across servers from the web (issue 6 point 4): the "Follow from your server" form looks up
the visitor's server through WebFinger (against the fake fediverse, through the app's SSRF-guarded client)
and sends them to its subscribe template; /authorize_interaction is our own template."""

from __future__ import annotations

from urllib.parse import quote

import aiohttp
import html5lib
import pytest

from cara_fed.models import Account, DomainBlock, Status
from tests.support.fakefed import FakeFediverse
from tests.support.page_data import BROWSER, Elements, fetch, make_artist
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

ACTOR = "https://art.example/users/mira"
SUBSCRIBE = "http://ostatus.org/schema/1.0/subscribe"
WEBFINGER = "https://remote.example/.well-known/webfinger?resource=acct:ann@remote.example"


@pytest.fixture
async def mira() -> Account:
    return await make_artist()


def jrd(*links: dict[str, str]) -> dict[str, object]:
    return {"subject": "acct:ann@remote.example",
            "links": [{"rel": "self", "type": "application/activity+json", "href": "https://remote.example/users/ann"},
                      *links]}


async def follow(http: aiohttp.ClientSession, server: RunningServer, handle: str, username: str = "mira"
                 ) -> tuple[int, str, str]:
    async with http.post(f"{server.url}/@{username}/remote_follow", data={"handle": handle},
                         headers={"Accept": BROWSER}, allow_redirects=False) as response:
        return response.status, response.headers.get("Location", ""), await response.text()


def webfinger_requests(fediverse: FakeFediverse) -> list[str]:
    return [r.url for r in fediverse.requests if "/.well-known/webfinger" in r.url]


async def test_the_visitor_is_sent_to_their_servers_subscribe_page_with_our_actor(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account) -> None:
    fediverse.serve(WEBFINGER, jrd({"rel": SUBSCRIBE, "template": "https://remote.example/authorize_interaction?uri={uri}"}),
                    content_type="application/jrd+json")
    status, location, _ = await follow(http, server, " @ann@remote.example ")
    assert status == 303
    assert location == f"https://remote.example/authorize_interaction?uri={quote(ACTOR, safe='')}"
    assert webfinger_requests(fediverse) == [WEBFINGER]
    # Without the leading @ too, and in an acct: URI.
    for handle in ("ann@remote.example", "acct:ann@remote.example"):
        assert (await follow(http, server, handle))[0] == 303


async def test_the_form_page_works_on_its_own(server: RunningServer, http: aiohttp.ClientSession,
                                              mira: Account) -> None:
    page = await fetch(http, server, "/@mira/remote_follow")
    assert page.status == 200
    html5lib.HTMLParser(strict=True).parse(page.text)
    elements = Elements(page.text)
    assert elements.all("label", **{"for": "remote-handle"}) and elements.all("input", id="remote-handle")
    assert elements.all("form")[0]["action"] == "/@mira/remote_follow"
    assert (await fetch(http, server, "/@nobody/remote_follow")).status == 404


@pytest.mark.parametrize(("handle", "message"), [
    ("", "Enter your full handle"),
    ("nonsense", "Enter your full handle"),
    ("@ann@", "Enter your full handle"),
    ("@ann@nothing-served.example", "Could not find @ann@nothing-served.example"),
])
async def test_unusable_handles_are_explained_next_to_the_field(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account,
        handle: str, message: str) -> None:
    status, location, html = await follow(http, server, handle)
    assert status == 422 and location == ""
    assert message in html
    html5lib.HTMLParser(strict=True).parse(html)
    field = Elements(html).all("input", id="remote-handle")[0]
    assert field["aria-invalid"] == "true" and field["aria-describedby"] == "remote-handle-error"
    assert field["value"] == handle.strip() or handle == ""


async def test_a_server_without_a_subscribe_template_gets_the_search_advice(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account) -> None:
    fediverse.serve(WEBFINGER, jrd({"rel": SUBSCRIBE, "template": "javascript:alert(1)//{uri}"}),
                    content_type="application/jrd+json")
    status, _, html = await follow(http, server, "@ann@remote.example")
    assert status == 422 and "does not offer following from another site" in html
    assert "@mira@art.example" in html


async def test_the_lookup_is_ssrf_guarded_and_honours_domain_blocks(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account) -> None:
    for handle in ("@x@169.254.169.254", "@x@10.0.0.1", "@x@[::1]"):
        status, location, _ = await follow(http, server, handle)
        assert status == 422 and location == "", handle
    await DomainBlock.create(domain="blocked.example", severity="suspend")
    status, _, html = await follow(http, server, "@ann@sub.blocked.example")
    assert status == 422 and "does not exchange posts with sub.blocked.example" in html
    assert webfinger_requests(fediverse) == []  # nothing was fetched for any of them


async def test_our_own_users_are_sent_to_our_own_subscribe_page(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account) -> None:
    status, location, _ = await follow(http, server, "@juno@art.example")
    assert status == 303 and location == f"https://art.example/authorize_interaction?uri={quote(ACTOR, safe='')}"
    assert webfinger_requests(fediverse) == []


async def test_authorize_interaction_shows_the_account_or_post_and_a_sign_in_link(
        server: RunningServer, http: aiohttp.ClientSession, fediverse: FakeFediverse, mira: Account) -> None:
    page = await fetch(http, server, "/authorize_interaction?uri=" + quote("acct:mira@art.example"))
    assert page.status == 200 and page.headers["Cache-Control"] == "no-store"
    html5lib.HTMLParser(strict=True).parse(page.text)
    assert "Mira Okafor" in page.text and "@mira@art.example" in page.text
    sign_in = [a["href"] for a in Elements(page.text).all("a") if (a.get("href") or "").startswith("/auth/sign_in?")]
    assert sign_in == ["/auth/sign_in?next=" + quote("/authorize_interaction?uri=" + quote("acct:mira@art.example",
                                                                                          safe=""), safe="")]
    assert "Sign in to follow Mira Okafor" in page.text

    ann = await Account.create(username="ann", domain="remote.example", uri="https://remote.example/users/ann",
                               url="https://remote.example/@ann", display_name="Ann Remote",
                               inbox_url="https://remote.example/inbox")
    for uri in ("https://remote.example/users/ann", "https://remote.example/@ann", "@ann@remote.example"):
        page = await fetch(http, server, "/authorize_interaction?uri=" + quote(uri))
        assert "Ann Remote" in page.text and "@ann@remote.example" in page.text, uri
    await Status.create(account=ann, local=False, uri="https://remote.example/notes/1", content="<p>remote words</p>")
    page = await fetch(http, server, "/authorize_interaction?uri=" + quote("https://remote.example/notes/1"))
    assert "remote words" in page.text and "Sign in to reply to this post" in page.text
    local = await Status.create(account=mira, content="<p>local words</p>")
    page = await fetch(http, server, "/authorize_interaction?uri=" + quote(f"https://art.example/@mira/{local.id}"))
    assert "local words" in page.text

    page = await fetch(http, server, "/authorize_interaction?uri=" + quote("https://unknown.example/users/x"))
    assert page.status == 200 and "has not seen" in page.text
    assert fediverse.requests == []  # an anonymous page never makes this server fetch anything
