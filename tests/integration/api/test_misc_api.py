"""The small resources through real HTTP: markers (form and JSON, versions), preferences from the user, the
empty collections clients read at start-up (200 with the right JSON type and scope, never 404), blocks and
mutes paged by their row ids, the directory, and the streaming health check."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from cara_fed.models import Account, Block, Marker, Mute, Status, User
from tests.support.api import Api, ApiUser, make_user
from tests.support.openapi import assert_entity


pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def api(server: Any, http: Any) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def alice() -> ApiUser:
    return await make_user("alice")


async def remote(username: str, domain: str = "remote.example") -> Account:
    return await Account.create(username=username, domain=domain, uri=f"https://{domain}/users/{username}",
                                url=f"https://{domain}/@{username}", inbox_url=f"https://{domain}/inbox")


def next_and_prev(header: str) -> dict[str, str]:
    found = {}
    for part in header.split(","):
        url, _, rel = part.partition(";")
        parts = urlsplit(url.strip().strip("<>"))
        found[rel.strip().removeprefix('rel="').rstrip('"')] = f"{parts.path}?{parts.query}"
    return found


# --- markers ---

async def test_markers_round_trip_form_and_json(api: Api, alice: ApiUser) -> None:
    query = [("timeline[]", "home"), ("timeline[]", "notifications")]
    empty = await api.get("/api/v1/markers", alice, params=query)
    assert empty.status == 200 and empty.body == {}

    saved = await api.post("/api/v1/markers", alice, data={"home[last_read_id]": "103194548672408537"})
    assert saved.status == 200
    assert set(saved.body) == {"home"}
    home = saved.body["home"]
    assert_entity("Marker", home)
    assert home["last_read_id"] == "103194548672408537" and home["version"] == 1
    assert home["updated_at"].endswith("Z") and len(home["updated_at"]) == 24

    both = await api.post("/api/v1/markers", alice, json={"home": {"last_read_id": "103194548672408600"},
                                                          "notifications": {"last_read_id": 35098814}})
    assert both.status == 200
    assert both.body["home"]["version"] == 2 and both.body["home"]["last_read_id"] == "103194548672408600"
    assert both.body["notifications"] == {**both.body["notifications"], "last_read_id": "35098814", "version": 1}

    read = await api.get("/api/v1/markers", alice, params=query)
    assert read.body == both.body
    for marker in read.body.values():
        assert_entity("Marker", marker)
    only_home = await api.get("/api/v1/markers", alice, params={"timeline": "home"})
    assert set(only_home.body) == {"home"}

    # the same position again is no change: the version stays
    again = await api.post("/api/v1/markers", alice, data={"home[last_read_id]": "103194548672408600"})
    assert again.body["home"]["version"] == 2
    row = await Marker.get(user_id=alice.user.id, timeline="home")
    assert row.last_read_id == 103194548672408600 and row.version == 2
    # unknown timelines are ignored, as Mastodon's permitted params
    assert (await api.post("/api/v1/markers", alice, data={"lists[last_read_id]": "1"})).body == {}


async def test_markers_refuse_bad_ids_and_need_scopes(api: Api, alice: ApiUser) -> None:
    bad = await api.post("/api/v1/markers", alice, data={"home[last_read_id]": "abc"})
    assert bad.status == 422 and bad.body["error"].startswith("Validation failed")
    blank = await api.post("/api/v1/markers", alice, json={"home": {}})
    assert blank.status == 422
    reader = await make_user("reader", scopes="read")
    refused = await api.post("/api/v1/markers", reader, data={"home[last_read_id]": "1"})
    assert refused.status == 403 and isinstance(refused.body["error"], str)
    assert not await Marker.exists(user_id=reader.user.id)
    assert (await api.get("/api/v1/markers", reader, params={"timeline[]": "home"})).status == 200
    assert (await api.get("/api/v1/markers")).status == 401
    assert (await api.post("/api/v1/markers", data={"home[last_read_id]": "1"})).status == 401


async def test_markers_concurrent_saves_both_count(api: Api, alice: ApiUser) -> None:
    import asyncio

    results = await asyncio.gather(*(api.post("/api/v1/markers", alice, data={"home[last_read_id]": str(n)})
                                     for n in range(1, 6)))
    assert all(r.status == 200 for r in results)
    row = await Marker.get(user_id=alice.user.id, timeline="home")
    assert row.version == 5 and await Marker.filter(user_id=alice.user.id).count() == 1


# --- preferences ---

async def test_preferences_come_from_the_user(api: Api, alice: ApiUser) -> None:
    response = await api.get("/api/v1/preferences", alice)
    assert response.status == 200
    assert_entity("Preferences", response.body)
    assert response.body == {"posting:default:visibility": "public", "posting:default:sensitive": False,
                             "posting:default:language": None, "reading:expand:media": "default",
                             "reading:expand:spoilers": False}
    await User.filter(id=alice.user.id).update(default_visibility="unlisted", default_sensitive=True,
                                               default_language="de")
    changed = await api.get("/api/v1/preferences", alice)
    assert changed.body["posting:default:visibility"] == "unlisted"
    assert changed.body["posting:default:sensitive"] is True
    assert changed.body["posting:default:language"] == "de"
    assert (await api.get("/api/v1/preferences")).status == 401
    statuses_only = await make_user("writer", scopes="read:statuses")
    assert (await api.get("/api/v1/preferences", statuses_only)).status == 403


# --- empty collections ---

PUBLIC_LISTS = ["/api/v1/custom_emojis", "/api/v1/trends", "/api/v1/trends/tags", "/api/v1/trends/statuses",
                "/api/v1/trends/links"]
PRIVATE_LISTS = {  # path -> a granular scope that is enough
    "/api/v1/lists": "read:lists", "/api/v1/filters": "read:filters", "/api/v2/filters": "read:filters",
    "/api/v1/announcements": "read", "/api/v1/suggestions": "read:accounts",
    "/api/v2/suggestions": "read:accounts", "/api/v1/conversations": "read:statuses",
    "/api/v1/followed_tags": "read:follows", "/api/v1/endorsements": "read:accounts",
    "/api/v1/featured_tags": "read:accounts", "/api/v1/scheduled_statuses": "read:statuses",
    "/api/v1/domain_blocks": "read:blocks",
}


@pytest.mark.parametrize("path", PUBLIC_LISTS)
async def test_public_empty_collections(api: Api, alice: ApiUser, path: str) -> None:
    for who in (None, alice):  # Tusky sends its token everywhere: never 401 a valid token on a public path
        response = await api.get(path, who)
        assert response.status == 200, (path, response.body)
        assert response.body == []
        assert response.headers["Content-Type"].startswith("application/json")
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert (await api.get(path, headers={"Authorization": "Bearer revoked"})).status == 200


@pytest.mark.parametrize("path", sorted(PRIVATE_LISTS))
async def test_private_empty_collections(api: Api, alice: ApiUser, path: str) -> None:
    response = await api.get(path, alice)
    assert response.status == 200, (path, response.body)
    assert response.body == []
    assert (await api.get(path)).status == 401
    granted = await make_user("granted", scopes=PRIVATE_LISTS[path])
    assert (await api.get(path, granted)).status == 200
    unrelated = await make_user("unrelated", scopes="write")
    denied = await api.get(path, unrelated)
    assert denied.status == 403 and isinstance(denied.body["error"], str)


async def test_a_list_that_does_not_exist_is_404(api: Api, alice: ApiUser) -> None:
    response = await api.get("/api/v1/lists/12345", alice)
    assert response.status == 404 and response.body == {"error": "Record not found"}
    assert (await api.get("/api/v1/lists/12345")).status == 401


async def test_streaming_health(api: Api) -> None:
    response = await api.get("/api/v1/streaming/health")
    assert response.status == 200 and response.body == "OK"
    assert response.headers["Content-Type"].startswith("text/plain")


# --- blocks and mutes ---

async def test_blocks_are_accounts_paged_by_block_id(api: Api, alice: ApiUser) -> None:
    targets = [await remote(f"blocked{n}") for n in range(3)]
    rows = [await Block.create(account=alice.account, target_account=t) for t in targets]
    other = await make_user("other")
    await Block.create(account=other.account, target_account=targets[0])
    suspended = await remote("gone")
    await Block.create(account=alice.account, target_account=suspended)
    await Account.filter(id=suspended.id).update(suspended_at=datetime.now(UTC))

    first = await api.get("/api/v1/blocks", alice, params={"limit": "2"})
    assert first.status == 200
    assert [a["acct"] for a in first.body] == ["blocked2@remote.example", "blocked1@remote.example"]
    for entity in first.body:
        assert_entity("Account", entity)
    pages = next_and_prev(first.headers["Link"])
    assert ("max_id", str(rows[1].id)) in parse_qsl(urlsplit(pages["next"]).query)
    assert ("limit", "2") in parse_qsl(urlsplit(pages["next"]).query)
    second = await api.get(pages["next"], alice)
    assert [a["acct"] for a in second.body] == ["blocked0@remote.example"]
    back = await api.get(next_and_prev(second.headers["Link"])["prev"], alice)
    assert [a["acct"] for a in back.body] == ["blocked2@remote.example", "blocked1@remote.example"]

    assert (await api.get("/api/v1/blocks")).status == 401
    assert (await api.get("/api/v1/blocks", await make_user("s", scopes="read:statuses"))).status == 403
    assert (await api.get("/api/v1/blocks", await make_user("f", scopes="follow"))).status == 200
    assert (await api.get("/api/v1/blocks", await make_user("g", scopes="read:blocks"))).status == 200


async def test_mutes_are_muted_accounts_with_their_end(api: Api, alice: ApiUser) -> None:
    forever, later, over = await remote("forever"), await remote("later"), await remote("over")
    ends = datetime.now(UTC) + timedelta(days=1)
    await Mute.create(account=alice.account, target_account=forever)
    await Mute.create(account=alice.account, target_account=later, expires_at=ends, hide_notifications=False)
    await Mute.create(account=alice.account, target_account=over, expires_at=datetime.now(UTC) - timedelta(hours=1))

    response = await api.get("/api/v1/mutes", alice)
    assert response.status == 200
    assert [a["acct"] for a in response.body] == ["later@remote.example", "forever@remote.example"]
    for entity in response.body:
        assert_entity("MutedAccount", entity)
    assert response.body[1]["mute_expires_at"] is None
    assert response.body[0]["mute_expires_at"].startswith(ends.strftime("%Y-%m-%dT%H:%M"))
    one = await api.get("/api/v1/mutes", alice, params={"limit": "1"})
    assert len(one.body) == 1 and "Link" in one.headers
    assert (await api.get(next_and_prev(one.headers["Link"])["next"], alice)).body[0]["acct"] == \
        "forever@remote.example"
    assert (await api.get("/api/v1/mutes")).status == 401
    assert (await api.get("/api/v1/mutes", await make_user("m", scopes="read:mutes"))).status == 200
    assert (await api.get("/api/v1/mutes", await make_user("b", scopes="read:blocks"))).status == 403


# --- directory ---

async def test_directory_lists_local_discoverable_accounts(api: Api, alice: ApiUser) -> None:
    bob = await make_user("bob")
    await make_user("hidden", discoverable=False)
    suspended = await make_user("suspended")
    await Account.filter(id=suspended.account.id).update(suspended_at=datetime.now(UTC))
    await remote("faraway")
    await Status.create(account=bob.account, content="<p>new work</p>", visibility="public")

    anonymous = await api.get("/api/v1/directory")
    assert anonymous.status == 200
    assert [a["acct"] for a in anonymous.body] == ["bob", "alice"]  # active: the latest poster first
    for entity in anonymous.body:
        assert_entity("Account", entity)
    newest = await api.get("/api/v1/directory", params={"order": "new", "local": "true"})
    assert [a["acct"] for a in newest.body] == ["bob", "alice"]
    await Status.create(account=alice.account, content="<p>newer</p>", visibility="public")
    active = await api.get("/api/v1/directory", params={"order": "active"})
    assert [a["acct"] for a in active.body] == ["alice", "bob"]
    paged = await api.get("/api/v1/directory", params={"order": "new", "offset": "1", "limit": "1"})
    assert [a["acct"] for a in paged.body] == ["alice"]

    await Block.create(account=alice.account, target_account=bob.account)
    signed_in = await api.get("/api/v1/directory", alice)
    assert [a["acct"] for a in signed_in.body] == ["alice"]
    assert (await api.get("/api/v1/directory", params={"limit": "x"})).status == 422
