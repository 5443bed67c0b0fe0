"""Search through the client API over real HTTP: account search (prefixes, handles, ``following``,
``limit``/``offset``), /api/v2/search for accounts, hashtags and statuses, and ``resolve=true`` reaching
the fake fediverse (WebFinger and a signed actor fetch for ``user@host``; a post fetched by its URL and
stored as the inbox would store it). Entities are checked against the OpenAPI description."""

from __future__ import annotations

import aiohttp
import pytest

from activitypub.keys import KeyPair
from cara_fed.models import Account, DomainBlock, Follow, Status, Tag
from tests.integration.api.peers import PUBLIC, Peer, remote_account
from tests.support.api import Api, ApiResponse, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.openapi import assert_entities, assert_entity
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira", display_name="Mira Okafor")


@pytest.fixture
def zoe(fediverse: FakeFediverse, rsa_keypair: KeyPair) -> Peer:
    return Peer(fediverse, rsa_keypair, "zoe")


async def search(api: Api, who: ApiUser | None, **query: str) -> dict[str, list[dict[str, object]]]:
    response = await api.get("/api/v2/search", who, params=query)
    assert response.status == 200, response.body
    assert_entity("Search", response.body)
    assert_entities("Account", response.body["accounts"])
    assert_entities("Status", response.body["statuses"])
    assert_entities("Tag", response.body["hashtags"])
    return response.body  # type: ignore[no-any-return]


async def account_search(api: Api, who: ApiUser | None, params: dict[str, str]) -> ApiResponse:
    response = await api.get("/api/v1/accounts/search", who, params=params)
    if response.status == 200:
        assert_entities("Account", response.body)
    return response


# -- accounts -----------------------------------------------------------------------------------------------

async def test_account_search_by_username_and_display_name_prefix(api: Api, mira: ApiUser, zoe: Peer) -> None:
    await make_user("miranda")
    await make_user("okapi", display_name="Okapi Prints")
    await make_user("someone", display_name="Ada Mirabel")
    remote_mira = await Account.create(username="mira", domain="remote.example", uri="https://remote.example/users/mira",
                                       inbox_url="https://remote.example/users/mira/inbox", public_key_pem="")
    await remote_account(zoe)
    response = await account_search(api, mira, {"q": "mira"})
    assert response.status == 200, response.body
    assert_entities("Account", response.body)
    # The exact username first (local before remote), then the other prefixes; display names by word.
    assert [a["acct"] for a in response.body] == ["mira", "mira@remote.example", "miranda", "someone"]
    by_name = await account_search(api, mira, {"q": "@oka"})
    assert [a["acct"] for a in by_name.body] == ["mira", "okapi"]  # "Mira Okafor" and "okapi"
    handle = await account_search(api, mira, {"q": "mira@remote.example"})
    assert [a["id"] for a in handle.body][0] == str(remote_mira.id)
    paged = await account_search(api, mira, {"q": "mira", "limit": "2", "offset": "2"})
    assert [a["acct"] for a in paged.body] == ["miranda", "someone"]
    beyond = await account_search(api, mira, {"q": "mira", "offset": "50"})
    assert beyond.body == []
    wild = await account_search(api, mira, {"q": "%"})
    assert wild.body == []  # LIKE wildcards are matched literally


async def test_account_search_following_only(api: Api, mira: ApiUser) -> None:
    ada, adam = await make_user("ada"), await make_user("adam")
    await Follow.create(account=mira.account, target_account=adam.account)
    response = await account_search(api, mira, {"q": "ada", "following": "true"})
    assert [a["username"] for a in response.body] == ["adam"]
    everyone = await account_search(api, mira, {"q": "ada", "following": "0"})
    assert [a["username"] for a in everyone.body] == [ada.account.username, "adam"]


async def test_account_search_leaves_out_suspended_accounts_and_the_instance_actor(api: Api, mira: ApiUser) -> None:
    from datetime import UTC, datetime

    gone = await make_user("artless")
    await Account.filter(id=gone.account.id).update(suspended_at=datetime.now(UTC))
    assert (await account_search(api, mira, {"q": "art"})).body == []


async def test_account_search_needs_a_user(api: Api) -> None:
    assert (await account_search(api, None, {"q": "mira"})).status == 401


async def test_resolve_a_remote_handle_with_webfinger(api: Api, mira: ApiUser, zoe: Peer,
                                                      fediverse: FakeFediverse) -> None:
    zoe.serve()
    body = await search(api, mira, q="@zoe@remote.example", resolve="true", type="accounts")
    [found] = body["accounts"]
    assert found["acct"] == "zoe@remote.example" and found["display_name"] == "Zoe"
    assert found["note"] == "<p>remote artist</p>"
    stored = await Account.get(uri=zoe.uri)
    assert found["id"] == str(stored.id) and stored.inbox_url == zoe.inbox
    fetched = [r for r in fediverse.requests if r.method == "GET"]
    assert [r.url for r in fetched] == [
        "https://remote.example/.well-known/webfinger?resource=acct:zoe@remote.example", zoe.uri]
    assert "Signature" in fetched[1].headers  # actor fetched as our instance actor
    # Known now: found again without the network, also through the v1 account search.
    fediverse.requests.clear()
    again = await account_search(api, mira, {"q": "zoe@remote.example", "resolve": "true"})
    assert [a["id"] for a in again.body] == [str(stored.id)] and fediverse.requests == []


async def test_resolving_unknown_or_blocked_hosts_finds_nothing(api: Api, mira: ApiUser, zoe: Peer,
                                                                fediverse: FakeFediverse) -> None:
    body = await search(api, mira, q="nobody@nowhere.example", resolve="true")
    assert body == {"accounts": [], "statuses": [], "hashtags": []}
    zoe.serve()
    await DomainBlock.create(domain="remote.example", severity="suspend")
    fediverse.requests.clear()
    assert (await search(api, mira, q="zoe@remote.example", resolve="true"))["accounts"] == []
    assert fediverse.requests == []  # a suspended domain is not even asked
    assert not await Account.filter(uri=zoe.uri).exists()


async def test_without_resolve_nothing_is_fetched(api: Api, mira: ApiUser, zoe: Peer,
                                                  fediverse: FakeFediverse) -> None:
    zoe.serve()
    assert (await search(api, mira, q="zoe@remote.example"))["accounts"] == []
    assert fediverse.requests == []


async def test_anonymous_search_cannot_resolve_or_page(api: Api, mira: ApiUser) -> None:
    resolve = await api.get("/api/v2/search", params={"q": "zoe@remote.example", "resolve": "true"})
    assert resolve.status == 401 and "without authentication" in resolve.body["error"]
    paged = await api.get("/api/v2/search", params={"q": "mira", "offset": "5"})
    assert paged.status == 401
    body = await search(api, None, q="mira")
    assert [a["username"] for a in body["accounts"]] == ["mira"]


async def test_search_needs_q(api: Api, mira: ApiUser) -> None:
    response = await api.get("/api/v2/search", mira)
    assert response.status == 400 and "q" in response.body["error"]
    assert await search(api, mira, q="") == {"accounts": [], "statuses": [], "hashtags": []}


# -- hashtags -----------------------------------------------------------------------------------------------

async def test_hashtags_by_prefix_with_offset(api: Api, mira: ApiUser) -> None:
    for name in ("printmaking", "print", "prints", "linocut", "print_fair"):
        await Tag.create(name=name)
    body = await search(api, mira, q="#Print", type="hashtags")
    assert [t["name"] for t in body["hashtags"]] == ["print", "prints", "print_fair", "printmaking"]
    assert body["accounts"] == [] and body["statuses"] == []
    assert body["hashtags"][0]["url"] == "https://art.example/tags/print" and body["hashtags"][0]["history"] == []
    page = await search(api, mira, q="print", type="hashtags", limit="2", offset="2")
    assert [t["name"] for t in page["hashtags"]] == ["print_fair", "printmaking"]
    assert (await search(api, mira, q="print", type="hashtags", offset="4"))["hashtags"] == []
    assert (await search(api, mira, q="print_", type="hashtags"))["hashtags"][0]["name"] == "print_fair"
    assert (await search(api, mira, q="#not a tag", type="hashtags"))["hashtags"] == []


# -- statuses -----------------------------------------------------------------------------------------------

async def test_find_a_local_status_by_its_urls(api: Api, mira: ApiUser) -> None:
    status = await Status.create(account=mira.account, text="plate", content="<p>plate</p>")
    secret = await Status.create(account=mira.account, text="secret", content="<p>s</p>", visibility="private")
    juno = await make_user("juno")
    for url in (f"https://art.example/users/mira/statuses/{status.id}", f"https://art.example/@mira/{status.id}"):
        body = await search(api, juno, q=url)
        assert [s["id"] for s in body["statuses"]] == [str(status.id)]
        assert body["accounts"] == []
    assert (await search(api, juno, q=url, offset="1"))["statuses"] == []
    assert (await search(api, juno, q=url, account_id=str(juno.account.id)))["statuses"] == []
    hidden = f"https://art.example/users/mira/statuses/{secret.id}"
    assert (await search(api, juno, q=hidden))["statuses"] == []  # not a follower
    assert [s["id"] for s in (await search(api, mira, q=hidden))["statuses"]] == [str(secret.id)]
    profile = await search(api, juno, q="https://art.example/@mira")
    assert [a["username"] for a in profile["accounts"]] == ["mira"]


async def test_resolve_a_remote_post_by_url(api: Api, mira: ApiUser, zoe: Peer, fediverse: FakeFediverse) -> None:
    zoe.serve()
    note_id = f"{zoe.uri}/statuses/77"
    fediverse.serve(note_id, {
        "@context": "https://www.w3.org/ns/activitystreams", "id": note_id, "type": "Note",
        "attributedTo": zoe.uri, "content": "<p>new <b>linocut</b></p>", "to": [PUBLIC],
        "cc": [f"{zoe.uri}/followers"], "published": "2026-03-01T10:00:00Z", "url": "https://remote.example/@zoe/77",
        "attachment": [{"type": "Document", "mediaType": "image/jpeg", "url": "https://remote.example/media/77.jpg",
                        "name": "a linocut of a heron", "width": 1200, "height": 900}],
        "tag": [{"type": "Hashtag", "name": "#Linocut", "href": "https://remote.example/tags/linocut"}]})
    assert (await search(api, mira, q=note_id))["statuses"] == []  # not known, not resolved
    body = await search(api, mira, q=note_id, resolve="true")
    [found] = body["statuses"]
    assert found["uri"] == note_id and found["url"] == "https://remote.example/@zoe/77"
    assert found["account"]["acct"] == "zoe@remote.example" and "linocut" in found["content"]
    assert found["media_attachments"][0]["description"] == "a linocut of a heron"
    assert found["tags"][0]["name"] == "linocut"
    stored = await Status.get(uri=note_id)
    assert found["id"] == str(stored.id) and stored.local is False
    # Known now: by its id or its page URL, without resolving.
    fediverse.requests.clear()
    assert [s["id"] for s in (await search(api, mira, q="https://remote.example/@zoe/77"))["statuses"]] == [found["id"]]
    assert fediverse.requests == []


async def test_a_post_served_by_another_origin_is_not_believed(api: Api, mira: ApiUser, zoe: Peer,
                                                               fediverse: FakeFediverse) -> None:
    zoe.serve()
    forged = "https://mastodon.example/notes/1"
    fediverse.serve(forged, {"@context": "https://www.w3.org/ns/activitystreams", "id": forged, "type": "Note",
                             "attributedTo": zoe.uri, "content": "<p>not zoe's</p>", "to": [PUBLIC]})
    assert (await search(api, mira, q=forged, resolve="true"))["statuses"] == []
    assert not await Status.filter(uri=forged).exists()


async def test_resolve_an_actor_by_url(api: Api, mira: ApiUser, zoe: Peer) -> None:
    zoe.serve()
    body = await search(api, mira, q=zoe.uri, resolve="1")
    assert [a["acct"] for a in body["accounts"]] == ["zoe@remote.example"]
    assert body["statuses"] == []


async def test_the_type_parameter_limits_the_answer(api: Api, mira: ApiUser) -> None:
    await Tag.create(name="mirage")
    both = await search(api, mira, q="mira")
    assert [a["username"] for a in both["accounts"]] == ["mira"] and [t["name"] for t in both["hashtags"]] == ["mirage"]
    only = await search(api, mira, q="mira", type="accounts")
    assert only["hashtags"] == [] and len(only["accounts"]) == 1
    unknown = await search(api, mira, q="mira", type="collections")
    assert unknown == {"accounts": [], "statuses": [], "hashtags": []}


async def test_v1_search_is_gone(api: Api, mira: ApiUser) -> None:
    assert (await api.get("/api/v1/search", mira, params={"q": "mira"})).status == 404


async def test_a_plain_http_peer_on_loopback_is_resolved(api: Api, mira: ApiUser, fediverse: FakeFediverse,
                                                         rsa_keypair: KeyPair) -> None:
    """Development and interop peers on loopback speak http: WebFinger falls back to it there (only)."""
    peer = Peer(fediverse, rsa_keypair, "lin", host="localhost")
    document = peer.document()
    document_http = {**document, "id": "http://localhost/users/lin", "inbox": "http://localhost/users/lin/inbox",
                     "publicKey": {**document["publicKey"], "id": "http://localhost/users/lin#main-key",
                                   "owner": "http://localhost/users/lin"}}
    fediverse.serve("http://localhost/users/lin", document_http)
    fediverse.serve("http://localhost/.well-known/webfinger?resource=acct:lin@localhost", {
        "subject": "acct:lin@localhost",
        "links": [{"rel": "self", "type": "application/activity+json", "href": "http://localhost/users/lin"}]},
        content_type="application/jrd+json")
    body = await search(api, mira, q="lin@localhost", resolve="true")
    assert [a["acct"] for a in body["accounts"]] == ["lin@localhost"]
    asked = [r.url for r in fediverse.requests if "webfinger" in r.url]
    assert asked == ["https://localhost/.well-known/webfinger?resource=acct:lin@localhost",
                     "http://localhost/.well-known/webfinger?resource=acct:lin@localhost"]


async def test_no_plain_http_fallback_for_other_hosts(api: Api, mira: ApiUser, fediverse: FakeFediverse) -> None:
    fediverse.serve("http://remote.example/.well-known/webfinger?resource=acct:lin@remote.example", {
        "subject": "acct:lin@remote.example",
        "links": [{"rel": "self", "type": "application/activity+json", "href": "http://remote.example/users/lin"}]},
        content_type="application/jrd+json")
    assert (await search(api, mira, q="lin@remote.example", resolve="true"))["accounts"] == []
    assert [r.url for r in fediverse.requests] == [
        "https://remote.example/.well-known/webfinger?resource=acct:lin@remote.example"]
