"""Discovery and actors over real HTTP: WebFinger, host-meta, NodeInfo, /users/NAME, /@NAME, /actor."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from cara_fed.models import InstanceSetting, Account, Status
from cara_fed.services import accounts
from cara_fed.settings import Settings
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

AS = "application/activity+json"
LD = 'application/ld+json; profile="https://www.w3.org/ns/activitystreams"'


@pytest.fixture
async def mira() -> Account:
    user = await accounts.create_local_account("Mira", "mira@example.org", "correct horse battery")
    account = await Account.get(id=user.account_id)
    account.display_name = "Mira Okafor"
    account.note = '<p>Ink &amp; paper.<script>alert(1)</script></p>'
    account.profile_fields = [{"name": "Shop", "value": "https://mira.example/shop"}]
    await account.save()
    return account


async def get(http: aiohttp.ClientSession, server: RunningServer, path: str, **headers: str
              ) -> tuple[int, dict[str, str], Any]:
    async with http.get(server.url + path, headers=headers, allow_redirects=False) as response:
        body = await response.read()
        try:
            parsed: Any = await response.json(content_type=None)
        except ValueError:
            parsed = body.decode()
        return response.status, dict(response.headers), parsed


async def test_webfinger_finds_an_account_by_acct_in_any_case(server: RunningServer, http: aiohttp.ClientSession,
                                                             mira: Account) -> None:
    status, headers, jrd = await get(http, server, "/.well-known/webfinger?resource=acct:MIRA@art.example")
    assert status == 200
    assert headers["Content-Type"].startswith("application/jrd+json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert jrd["subject"] == "acct:Mira@art.example"
    links = {link["rel"]: link for link in jrd["links"]}
    assert links["self"] == {"rel": "self", "type": AS, "href": "https://art.example/users/Mira"}
    assert links["http://webfinger.net/rel/profile-page"]["href"] == "https://art.example/@Mira"
    assert "{uri}" in links["http://ostatus.org/schema/1.0/subscribe"]["template"]


@pytest.mark.parametrize("resource", ["https://art.example/users/Mira", "https://art.example/@Mira",
                                      "@mira@art.example", "mira@art.example"])
async def test_webfinger_accepts_actor_urls_and_handles(server: RunningServer, http: aiohttp.ClientSession,
                                                       mira: Account, resource: str) -> None:
    status, _, jrd = await get(http, server, f"/.well-known/webfinger?resource={resource}")
    assert status == 200 and jrd["subject"] == "acct:Mira@art.example"


@pytest.mark.parametrize(("query", "status"), [
    ("resource=acct:nobody@art.example", 404),
    ("resource=acct:mira@elsewhere.example", 404),
    ("resource=https://elsewhere.example/users/mira", 404),
    ("resource=acct:", 400),
    ("resource=not a handle", 400),
    ("", 400),
])
async def test_webfinger_errors(server: RunningServer, http: aiohttp.ClientSession, mira: Account, query: str,
                                status: int) -> None:
    got, headers, body = await get(http, server, f"/.well-known/webfinger?{query}")
    assert got == status and isinstance(body, dict) and isinstance(body["error"], str)


async def test_a_suspended_account_is_gone(server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    await accounts.suspend("mira")
    assert (await get(http, server, "/.well-known/webfinger?resource=acct:mira@art.example"))[0] == 410
    assert (await get(http, server, "/users/mira", Accept=AS))[0] == 410


async def test_the_instance_actor_is_an_application_found_by_webfinger(server: RunningServer,
                                                                      http: aiohttp.ClientSession) -> None:
    status, _, jrd = await get(http, server, "/.well-known/webfinger?resource=acct:art.example@art.example")
    assert status == 200
    assert [link["href"] for link in jrd["links"] if link["rel"] == "self"] == ["https://art.example/actor"]
    status, headers, actor = await get(http, server, "/actor", Accept=AS)
    assert status == 200 and headers["Content-Type"].startswith(AS)
    assert actor["type"] == "Application" and actor["id"] == "https://art.example/actor"
    assert actor["publicKey"]["id"] == "https://art.example/actor#main-key"
    assert actor["publicKey"]["owner"] == actor["id"]
    serialization.load_pem_public_key(actor["publicKey"]["publicKeyPem"].encode())
    with pytest.raises(Exception, match="already taken"):
        await accounts.create_local_account("art.example", "x@example.org", "correct horse battery")


@pytest.mark.parametrize("accept", [AS, LD, "application/ld+json", f"text/html;q=0.5, {AS}"])
async def test_the_actor_document_has_every_field_mastodon_reads(server: RunningServer, http: aiohttp.ClientSession,
                                                                mira: Account, accept: str) -> None:
    status, headers, actor = await get(http, server, "/users/Mira", Accept=accept)
    assert status == 200 and headers["Content-Type"].startswith(AS) and headers["Vary"] == "Accept"
    base = "https://art.example/users/Mira"
    assert actor["@context"][:2] == ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"]
    assert actor["id"] == base and actor["type"] == "Person" and actor["preferredUsername"] == "Mira"
    assert actor["name"] == "Mira Okafor" and actor["url"] == "https://art.example/@Mira"
    assert (actor["inbox"], actor["outbox"], actor["followers"], actor["following"], actor["featured"]) == (
        f"{base}/inbox", f"{base}/outbox", f"{base}/followers", f"{base}/following", f"{base}/collections/featured")
    assert actor["endpoints"] == {"sharedInbox": "https://art.example/inbox"}
    assert actor["publicKey"] == {"id": f"{base}#main-key", "owner": base, "publicKeyPem": mira.public_key_pem}
    assert actor["manuallyApprovesFollowers"] is False and actor["discoverable"] is True
    assert actor["indexable"] is False  # artists opt in to search, never by default
    assert actor["xRobotsTag"] == "noai, noimageai"
    assert actor["attachment"] == [{"type": "PropertyValue", "name": "Shop", "value": "https://mira.example/shop"}]
    assert actor["published"].endswith("Z") and "summary" in actor
    context_terms = actor["@context"][2]
    for term in ("manuallyApprovesFollowers", "discoverable", "indexable", "featured", "xRobotsTag",
                 "PropertyValue", "value"):
        assert term in context_terms  # defined inline: nobody has to fetch a context


async def test_browsers_get_the_html_profile(server: RunningServer, http: aiohttp.ClientSession,
                                             mira: Account) -> None:
    status, headers, _ = await get(http, server, "/users/Mira", Accept="text/html")
    assert status == 302 and headers["Location"] == "https://art.example/@Mira"
    status, headers, html = await get(http, server, "/@mira", Accept="text/html,application/xhtml+xml")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert "Mira Okafor" in html and "@Mira@art.example" in html and "Ink &amp; paper." in html
    assert "<script>" not in html and "alert(1)" not in html
    assert '<meta name="robots" content="noai, noimageai">' in html
    status, _, actor = await get(http, server, "/@mira", Accept=AS)
    assert status == 200 and actor["id"] == "https://art.example/users/Mira"


async def test_host_meta_points_to_webfinger(server: RunningServer, http: aiohttp.ClientSession) -> None:
    status, headers, xml = await get(http, server, "/.well-known/host-meta")
    assert status == 200 and headers["Content-Type"].startswith("application/xrd+xml")
    assert 'template="https://art.example/.well-known/webfinger?resource={uri}"' in xml
    for path in ("/.well-known/host-meta.json", "/.well-known/host-meta?format=json"):
        status, _, doc = await get(http, server, path)
        assert doc == {"links": [{"rel": "lrdd",
                                  "template": "https://art.example/.well-known/webfinger?resource={uri}"}]}


async def test_nodeinfo_counts_users_and_posts_and_states_the_ai_policy(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, settings: Settings) -> None:
    await Status.create(account=mira, text="hello", content="<p>hello</p>")
    await Status.create(account=mira, text="old", content="<p>old</p>", deleted_at=mira.created_at)
    status, _, index = await get(http, server, "/.well-known/nodeinfo")
    assert status == 200
    hrefs = {link["rel"].rsplit("/", 1)[1]: link["href"] for link in index["links"]}
    assert hrefs == {"2.0": "https://art.example/nodeinfo/2.0", "2.1": "https://art.example/nodeinfo/2.1"}
    for version in ("2.0", "2.1"):
        status, headers, info = await get(http, server, f"/nodeinfo/{version}")
        assert status == 200 and f"schema/{version}#" in headers["Content-Type"]
        assert info["version"] == version and info["software"]["name"] == "cara-fed"
        assert info["protocols"] == ["activitypub"]
        assert info["usage"]["users"]["total"] == 1 and info["usage"]["localPosts"] == 1
        assert info["usage"]["users"]["activeMonth"] == 1  # Mira posted this month
        assert info["openRegistrations"] is False
        assert info["metadata"]["nodeName"] == settings.instance.name
        assert info["metadata"]["aiPolicy"]["aiTraining"] == "prohibited"
    assert (await get(http, server, "/nodeinfo/3.0"))[0] == 404
    await InstanceSetting.create(key="registrations.mode", value={"value": "open"})  # as the admin sets it
    assert (await get(http, server, "/nodeinfo/2.1"))[2]["openRegistrations"] is True


async def test_the_webfinger_client_resolves_a_handle_on_a_live_instance(
        settings: Settings, mira: Account, fediverse: Any, test_tls: Any) -> None:
    """Our client against our server, by name over real TLS (the fake fediverse routes art.example)."""
    from cara_fed.app import create_app
    from tests.support.servers import serve_asgi
    from webfinger.client import lookup

    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app, tls=test_tls) as running, fediverse.session() as session:
        fediverse.route("art.example", running.port)

        async def fetch_jrd(url: str) -> Any:
            async with session.get(url, headers={"Accept": "application/jrd+json"}) as response:
                response.raise_for_status()
                return await response.json(content_type=None)

        result = await lookup("@mira@art.example", fetch_jrd)
    assert result.actor_url == "https://art.example/users/Mira"
    assert result.profile_url == "https://art.example/@Mira"
