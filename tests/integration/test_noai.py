"""The no-AI policy over real HTTP (issue 5, points 6-9): the reservation headers and meta tags on pages,
ActivityStreams and API responses; robots.txt, ai.txt, tdmrep.json and the ODRL policies read back with
independent parsers; AI crawlers refused while the fediverse and browsers never are; the admin's lists;
each artist's search-indexing choice reflected in every signal; `cara-fed noai update`."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.robotparser import RobotFileParser

import aiohttp
import pytest
from multidict import CIMultiDictProxy

from cara_fed.app import create_app
from cara_fed.models import Account, Status
from cara_fed.services import accounts
from cara_fed.settings import ConfigError, Settings, load_settings
from cara_fed.web import noai as web_noai
from media.noai import bundled_crawler_list, install_crawler_list
from tests.support.cli import assert_one_line_failure, run_cli, write_config
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.unit.media.test_noai_useragent import ALWAYS_BLOCKED, NEVER_BLOCKED

AS = "application/activity+json"
BASE = "https://art.example"
POLICY = f"{BASE}/.well-known/tdm-policy.json"
SEARCH_POLICY = f"{BASE}/.well-known/tdm-policy-search.json"
GPTBOT = ALWAYS_BLOCKED["GPTBot"][0]
CHROME = NEVER_BLOCKED["Chrome"]
ALWAYS_READABLE = ["/robots.txt", "/ai.txt", "/.well-known/tdmrep.json", "/.well-known/tdm-policy.json",
                   "/.well-known/tdm-policy-search.json", "/ai-policy"]


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Each test's own crawler-list file (absent until a test installs one: the bundled list applies)."""
    return settings.replace(noai={"crawler_list": str(tmp_path / "noai" / "robots.json")})


@pytest.fixture
async def mira(database: None) -> Account:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    return await Account.get(id=user.account_id)


@pytest.fixture
async def ann(database: None) -> Account:
    """An artist who allows search indexing (never AI training)."""
    user = await accounts.create_local_account("ann", "ann@example.org", "correct horse battery")
    await Account.filter(id=user.account_id).update(indexable=True)
    return await Account.get(id=user.account_id)


@pytest.fixture
async def mira_post(mira: Account) -> Status:
    return await Status.create(account=mira, content="<p>ink</p>", visibility="public", language="en")


@pytest.fixture
async def serve_with(settings: Settings, fediverse: FakeFediverse
                     ) -> AsyncIterator[Callable[..., Awaitable[RunningServer]]]:
    """Start another instance of this test's app with some ``[noai]`` settings changed."""
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:
        async def start(**noai: Any) -> RunningServer:
            app = create_app(settings.replace(noai=noai), http_session_factory=fediverse.guarded_session,
                             run_jobs=False)
            return await stack.enter_async_context(serve_asgi(app))

        yield start


async def fetch(http: aiohttp.ClientSession, server: RunningServer, path: str, *, method: str = "GET",
                user_agent: str = CHROME, accept: str = "text/html"
                ) -> tuple[int, CIMultiDictProxy[str], str]:
    async with http.request(method, server.url + path, allow_redirects=False,
                            headers={"User-Agent": user_agent, "Accept": accept}) as response:
        return response.status, response.headers, await response.text()


def robots_parser(text: str) -> RobotFileParser:
    robots = RobotFileParser()
    robots.parse(text.splitlines())
    return robots


class MetaTags(HTMLParser):
    def __init__(self, html: str) -> None:
        super().__init__()
        self.tags: list[tuple[str, str]] = []
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "meta" and values.get("name"):
            self.tags.append((values["name"] or "", values.get("content") or ""))


def assert_reservation(headers: CIMultiDictProxy[str], *, search: bool, policy: str = POLICY) -> None:
    """The header set, each X-Robots-Tag value on its own line (img2dataset and datadiligence read them so)."""
    robots_lines = headers.getall("X-Robots-Tag")
    assert robots_lines[0] == "noai, noimageai"
    assert robots_lines[1:] == ([] if search else ["noindex, noimageindex, noarchive"])
    assert headers.getall("Content-Usage") == ["train-ai=n" if search else "train-ai=n, search=n"]
    assert headers.getall("tdm-reservation") == ["1"]
    assert headers.getall("tdm-policy") == [policy]


# -- the reservation on every kind of response ------------------------------------------------------------


async def test_html_pages_carry_the_headers_and_the_same_meta_tags(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, mira_post: Status) -> None:
    for path in ("/@mira", f"/@mira/{mira_post.id}", "/ai-policy"):
        status, headers, html = await fetch(http, server, path)
        assert status == 200 and headers["Content-Type"].startswith("text/html"), path
        search = path == "/ai-policy"  # an instance page; mira has not allowed search indexing
        assert_reservation(headers, search=search)
        meta = MetaTags(html).tags
        assert [v for n, v in meta if n == "robots"] == headers.getall("X-Robots-Tag"), path
        assert dict(meta)["tdm-reservation"] == "1" and dict(meta)["tdm-policy"] == headers["tdm-policy"], path


async def test_activitystreams_documents_carry_the_headers(server: RunningServer, http: aiohttp.ClientSession,
                                                          mira: Account, mira_post: Status) -> None:
    for path in ("/users/mira", f"/users/mira/statuses/{mira_post.id}", "/users/mira/outbox",
                 "/users/mira/followers"):
        status, headers, body = await fetch(http, server, path, accept=AS, user_agent=NEVER_BLOCKED["Mastodon"])
        assert status == 200 and headers["Content-Type"].startswith(AS), path
        assert_reservation(headers, search=False)
        assert json.loads(body)  # the headers did not disturb the document
    status, headers, _ = await fetch(http, server, "/actor", accept=AS)
    assert status == 200 and headers["Content-Type"].startswith(AS)
    assert_reservation(headers, search=True)


async def test_api_and_discovery_json_and_errors_carry_the_headers(server: RunningServer,
                                                                   http: aiohttp.ClientSession) -> None:
    for path, expected in (("/api/v1/instance", 200), ("/.well-known/nodeinfo", 200),
                           ("/api/v1/accounts/999", 404), ("/nowhere", 404)):
        status, headers, body = await fetch(http, server, path, accept="application/json",
                                            user_agent=NEVER_BLOCKED["Tusky"])
        assert status == expected and headers["Content-Type"].startswith("application/"), path
        assert_reservation(headers, search=True)
        assert isinstance(json.loads(body), dict)


async def test_the_policy_page_explains_in_plain_html(server: RunningServer, http: aiohttp.ClientSession) -> None:
    status, _, html = await fetch(http, server, "/ai-policy")
    assert status == 200 and "<script" not in html.lower()  # no JavaScript needed
    for text in ("may not be used to train", "not protection", 'href="/robots.txt"', 'href="/ai.txt"',
                 'href="/.well-known/tdmrep.json"', f'href="{POLICY}"', "GPTBot", "<details>"):
        assert text in html, text


# -- robots.txt, ai.txt, TDMRep ---------------------------------------------------------------------------


async def test_robots_txt_keeps_every_listed_agent_from_media_and_profiles(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    status, headers, text = await fetch(http, server, "/robots.txt", user_agent=GPTBOT)
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    robots = robots_parser(text)
    for agent in bundled_crawler_list().names:
        for path in ("/media/x.jpg", "/@mira", "/users/mira", "/@alice", "/users/alice", "/"):
            assert not robots.can_fetch(agent, BASE + path), (agent, path)
    assert robots.can_fetch("Googlebot", f"{BASE}/@mira")
    assert not robots.can_fetch("Googlebot", f"{BASE}/media/x.jpg")  # disallow_media_for_unknown_bots
    assert not robots.can_fetch("Googlebot", f"{BASE}/api/v1/timelines/public")
    assert not robots.can_fetch("Googlebot", f"{BASE}/oauth/authorize")
    star = text[text.index("User-agent: *"):]
    assert "Content-Usage: train-ai=n\n" in star
    assert "Content-Signal: search=yes, ai-train=no, ai-input=no\n" in star


async def test_ai_txt_is_spawnings_text_file_never_html(server: RunningServer, http: aiohttp.ClientSession) -> None:
    status, headers, text = await fetch(http, server, "/ai.txt", user_agent=ALWAYS_BLOCKED["img2dataset"][0])
    assert status == 200 and headers["Content-Type"] == "text/plain; charset=utf-8"
    assert text.startswith("# Spawning AI\n") and "<html" not in text.lower()
    lines = text.splitlines()
    assert "Disallow: *.jpg" in lines and "Disallow: *.webp" in lines and "Disallow: *.mp4" in lines
    assert lines[-2:] == ["Disallow: /", "Disallow: *"]


async def test_tdmrep_json_and_the_policies_it_names(server: RunningServer, http: aiohttp.ClientSession) -> None:
    status, headers, body = await fetch(http, server, "/.well-known/tdmrep.json", user_agent=GPTBOT)
    assert status == 200 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body) == [{"location": "/", "tdm-reservation": 1, "tdm-policy": POLICY}]
    for path, url in (("/.well-known/tdm-policy.json", POLICY), ("/.well-known/tdm-policy-search.json",
                                                                 SEARCH_POLICY)):
        status, headers, body = await fetch(http, server, path, user_agent=GPTBOT)
        assert status == 200 and headers["Content-Type"].startswith("application/ld+json")
        policy = json.loads(body)
        assert policy["uid"] == url and policy["@type"] == "Offer"
        assert policy["profile"] == "http://www.w3.org/ns/tdmrep"
        assert policy["assigner"]["vcard:fn"] == "Test Atelier"
        assert {"target": f"{BASE}/", "action": "tdm:mine", "duty": [{"action": "obtainConsent"}]} in policy[
            "permission"]


# -- enforcement ------------------------------------------------------------------------------------------


async def test_ai_crawlers_get_403_on_pages_documents_media_and_the_api(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, mira_post: Status) -> None:
    for label, (user_agent, name) in ALWAYS_BLOCKED.items():
        for path, accept in (("/@mira", "text/html"), (f"/@mira/{mira_post.id}", "text/html"),
                             ("/users/mira", AS), (f"/users/mira/statuses/{mira_post.id}", AS),
                             ("/users/mira/outbox", AS), ("/media/0123456789abcdef.jpg", "image/*"),
                             ("/api/v1/instance", "application/json"), ("/", "text/html")):
            for method in ("GET", "HEAD"):
                status, headers, body = await fetch(http, server, path, method=method, user_agent=user_agent,
                                                    accept=accept)
                assert status == 403, (label, path, method)
                assert headers["Cache-Control"] == "no-store"
                assert_reservation(headers, search=path == "/" or path.startswith(("/api/", "/media/")))
                if method == "GET":
                    assert name in json.loads(body)["error"]
        for path in ALWAYS_READABLE:
            status, _, _ = await fetch(http, server, path, user_agent=user_agent)
            assert status == 200, (label, path)


async def test_fediverse_servers_clients_and_browsers_are_never_refused(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, mira_post: Status) -> None:
    """Mastodon, GoToSocial, Pleroma, Akkoma, Misskey, Pixelfed, Lemmy, PeerTube, Fedify, bovine, cara_fed,
    Chrome, Firefox, Safari, Ivory, Tusky and more (tests/unit/media/test_noai_useragent.py)."""
    refused = []
    for label, user_agent in NEVER_BLOCKED.items():
        for path, accept in (("/users/mira", AS), (f"/users/mira/statuses/{mira_post.id}", AS),
                             ("/@mira", "text/html"), (f"/@mira/{mira_post.id}", "text/html"),
                             ("/.well-known/webfinger?resource=acct:mira@art.example", "application/jrd+json"),
                             ("/api/v1/instance", "application/json")):
            status, _, _ = await fetch(http, server, path, user_agent=user_agent, accept=accept)
            if status != 200:
                refused.append((label, path, status))
    assert not refused


async def test_the_admin_allow_list_and_search_bots_are_let_in(
        serve_with: Callable[..., Awaitable[RunningServer]], http: aiohttp.ClientSession, mira: Account) -> None:
    server = await serve_with(allowed_crawlers=["gptbot"], allow_search_bots=["Applebot", "facebookexternalhit"])
    applebot = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_5) AppleWebKit/605.1.15 (KHTML, like Gecko) " \
               "Version/13.1.1 Safari/605.1.15 (Applebot/0.1; +http://www.apple.com/go/applebot)"
    facebook = "facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)"
    for user_agent in (GPTBOT, applebot, facebook):
        status, headers, _ = await fetch(http, server, "/@mira", user_agent=user_agent)
        assert status == 200, user_agent
        assert_reservation(headers, search=False)  # let in, still told: no AI training, no indexing here
    status, _, _ = await fetch(http, server, "/@mira", user_agent=ALWAYS_BLOCKED["ClaudeBot"][0])
    assert status == 403
    _, _, text = await fetch(http, server, "/robots.txt")
    robots = robots_parser(text)
    assert not robots.can_fetch("GPTBot", f"{BASE}/@mira")  # not refused, but still asked to stay away
    assert robots.can_fetch("Applebot", f"{BASE}/media/x.jpg") and robots.can_fetch("facebookexternalhit",
                                                                                     f"{BASE}/media/x.jpg")
    assert not robots.can_fetch("Applebot-Extended", f"{BASE}/@mira")


async def test_refusal_can_be_turned_off_and_media_opened_to_unknown_bots(
        serve_with: Callable[..., Awaitable[RunningServer]], http: aiohttp.ClientSession, mira: Account) -> None:
    server = await serve_with(refuse_ai_crawlers=False, disallow_media_for_unknown_bots=False)
    status, headers, _ = await fetch(http, server, "/@mira", user_agent=GPTBOT)
    assert status == 200
    assert_reservation(headers, search=False)
    _, _, text = await fetch(http, server, "/robots.txt")
    assert robots_parser(text).can_fetch("Googlebot", f"{BASE}/media/x.jpg")
    assert not robots_parser(text).can_fetch("GPTBot", f"{BASE}/media/x.jpg")


async def test_a_newer_crawler_list_is_picked_up_by_a_running_server(
        server: RunningServer, http: aiohttp.ClientSession, settings: Settings, mira: Account,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_noai, "RELOAD_SECONDS", 0.0)  # look at the file on every request
    fresh = "FreshScraper/1.0 (+https://fresh.example/bot)"
    assert (await fetch(http, server, "/@mira", user_agent=fresh))[0] == 200
    entry = {"operator": "Fresh", "respect": "No", "function": "AI training", "frequency": "hourly",
             "description": "New."}
    install_crawler_list(json.dumps({"GPTBot": entry, "FreshScraper": entry}).encode(),
                         settings.noai.crawler_list)
    assert (await fetch(http, server, "/@mira", user_agent=fresh))[0] == 403
    assert (await fetch(http, server, "/@mira", user_agent=ALWAYS_BLOCKED["ClaudeBot"][0]))[0] == 200
    _, _, text = await fetch(http, server, "/robots.txt")
    assert "User-agent: FreshScraper\n" in text and "User-agent: ClaudeBot\n" not in text
    _, _, page = await fetch(http, server, "/ai-policy")
    assert "FreshScraper" in page


# -- each artist's search choice, in every signal -----------------------------------------------------------


async def test_an_artist_who_allows_search_changes_every_signal_for_their_pages_only(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, ann: Account) -> None:
    for path, accept in (("/@ann", "text/html"), ("/users/ann", AS)):
        status, headers, body = await fetch(http, server, path, accept=accept)
        assert status == 200
        assert_reservation(headers, search=True, policy=SEARCH_POLICY)  # train-ai=n and tdm-reservation: 1 stay
        if accept == "text/html":
            meta = MetaTags(body).tags
            assert [v for n, v in meta if n == "robots"] == ["noai, noimageai"]
            assert dict(meta)["tdm-policy"] == SEARCH_POLICY
    _, headers, _ = await fetch(http, server, "/@mira")
    assert_reservation(headers, search=False)

    _, _, text = await fetch(http, server, "/robots.txt")
    star = text[text.index("User-agent: *"):].splitlines()
    assert "Content-Usage: /@ train-ai=n, search=n" in star
    for rule in ("/@ann$", "/@ann/", "/users/ann$", "/users/ann/"):
        assert f"Content-Usage: {rule} train-ai=n, search=y" in star
    assert not any("mira" in line for line in star)
    robots = robots_parser(text)
    assert all(not robots.can_fetch(agent, f"{BASE}/@ann") for agent in bundled_crawler_list().names)

    _, _, body = await fetch(http, server, "/.well-known/tdmrep.json")
    rules = json.loads(body)
    assert [r["location"] for r in rules] == ["/@ann$", "/@ann/*", "/users/ann$", "/users/ann/*", "/"]
    assert all(r["tdm-reservation"] == 1 for r in rules)
    assert [r["tdm-policy"] for r in rules] == [SEARCH_POLICY] * 4 + [POLICY]

    _, _, page = await fetch(http, server, "/ai-policy")
    assert 'href="/@ann"' in page and 'href="/@mira"' not in page


async def test_a_changed_choice_reaches_the_signals(server: RunningServer, http: aiohttp.ClientSession,
                                                     mira: Account, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(web_noai, "SEARCH_CHOICES_SECONDS", 0.0)  # read the choices on every request
    _, headers, _ = await fetch(http, server, "/@mira")
    assert_reservation(headers, search=False)
    await Account.filter(id=mira.id).update(indexable=True)
    _, headers, _ = await fetch(http, server, "/@mira")
    assert_reservation(headers, search=True, policy=SEARCH_POLICY)
    _, _, text = await fetch(http, server, "/robots.txt")
    assert "Content-Usage: /@mira$ train-ai=n, search=y" in text
    await Account.filter(id=mira.id).update(suspended_at=mira.created_at)  # suspended: no longer listed
    _, _, text = await fetch(http, server, "/robots.txt")
    assert "/@mira" not in text


# -- the command ------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_noai_update_installs_a_checked_list_and_refuses_a_bad_one(tmp_path: Path) -> None:
    live = tmp_path / "data" / "noai" / "robots.json"
    config = write_config(tmp_path, f"sqlite://{tmp_path / 'db.sqlite3'}",
                          extra=f'\n[noai]\ncrawler_list = "{live}"\n')
    entry = {"operator": "X", "respect": "Yes", "function": "AI training", "frequency": "-", "description": "-"}
    names = [*bundled_crawler_list().names[1:], "FreshScraper"]
    good = tmp_path / "robots.json"
    good.write_text(json.dumps({name: entry for name in names}))

    done = run_cli(["noai", "update", str(good), "--config", str(config)], cwd=tmp_path)
    assert done.code == 0, done
    assert f"installed {len(names)} AI-crawler names" in done.stdout
    assert "1 added: FreshScraper" in done.stdout and f"1 removed: {bundled_crawler_list().names[0]}" in done.stdout
    assert json.loads(live.read_text()) == {name: entry for name in names}
    assert "MIT License" in live.with_name("robots.json.LICENSE").read_text()

    bad = tmp_path / "bad.json"
    bad.write_text("<html>rate limited</html>")
    failed = run_cli(["noai", "update", str(bad), "--config", str(config)], cwd=tmp_path)
    assert_one_line_failure(failed, 1, str(bad), "not valid JSON")
    missing = run_cli(["noai", "update", str(tmp_path / "nope.json"), "--config", str(config)], cwd=tmp_path)
    assert_one_line_failure(missing, 1, "nope.json", "cannot read")
    assert json.loads(live.read_text()) == {name: entry for name in names}  # the installed list is untouched


# -- settings ---------------------------------------------------------------------------------------------


def test_noai_settings_defaults_environment_and_checks() -> None:
    defaults = Settings().noai
    assert defaults.refuse_ai_crawlers is True and defaults.disallow_media_for_unknown_bots is True
    assert defaults.allowed_crawlers == () and defaults.allow_search_bots == ()
    assert defaults.crawler_list == "data/noai/robots.json"
    loaded = load_settings(environ={"CARA_FED_NOAI_ALLOW_SEARCH_BOTS": "Applebot, facebookexternalhit",
                                    "CARA_FED_NOAI_REFUSE_AI_CRAWLERS": "false"})
    assert loaded.noai.allow_search_bots == ("Applebot", "facebookexternalhit")
    assert loaded.noai.refuse_ai_crawlers is False
    for key, value in (("allowed_crawlers", ["Bot\nDisallow: /"]), ("allow_search_bots", ["Bot # x"]),
                       ("allowed_crawlers", [""]), ("crawler_list", " ")):
        with pytest.raises(ConfigError) as caught:
            Settings().replace(noai={key: value})
        assert caught.value.key == f"noai.{key}" and "\n" not in str(caught.value)
