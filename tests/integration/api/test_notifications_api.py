"""Notifications through real HTTP: filters (Ivory's several ``types[]``), paging and its Link header, what is
hidden (muted, blocked, deleted posts), another user's notifications, dismiss and clear in the database,
scopes, and the unread count from the notifications marker. Every entity is checked against openapi.json."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from cara_fed.models import Account, Block, Mute, Notification, Status
from tests.support.api import Api, ApiUser, make_user
from tests.support.openapi import assert_entity


pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def api(server: Any, http: Any) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def alice() -> ApiUser:
    return await make_user("alice")


@pytest.fixture
async def bob() -> ApiUser:
    return await make_user("bob")


async def remote(username: str = "carol", domain: str = "remote.example") -> Account:
    return await Account.create(username=username, domain=domain, uri=f"https://{domain}/users/{username}",
                                url=f"https://{domain}/@{username}", inbox_url=f"https://{domain}/inbox")


async def post(author: Account, text: str = "a drawing") -> Status:
    return await Status.create(account=author, content=f"<p>{text}</p>", text=text, visibility="public")


async def notify(to: ApiUser, sender: Account, kind: str, status: Status | None = None) -> Notification:
    return await Notification.create(account=to.account, from_account=sender, type=kind, status=status)


async def mixed(alice: ApiUser, sender: Account) -> dict[str, Notification]:
    """One notification of each kind clients show, oldest first."""
    mine = await post(alice.account)
    mention = await post(sender, "@alice look")
    return {
        "follow": await notify(alice, sender, "follow"),
        "follow_request": await notify(alice, sender, "follow_request"),
        "favourite": await notify(alice, sender, "favourite", mine),
        "reblog": await notify(alice, sender, "reblog", mine),
        "mention": await notify(alice, sender, "mention", mention),
        "status": await notify(alice, sender, "status", mention),
    }


def ids(body: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in body]


def links(header: str) -> dict[str, str]:
    """``{"next": "/path?query", "prev": ...}`` from a Link header (the host is our public one)."""
    found = {}
    for part in header.split(","):
        url, _, rel = part.partition(";")
        parts = urlsplit(url.strip().strip("<>"))
        found[rel.strip().removeprefix('rel="').rstrip('"')] = f"{parts.path}?{parts.query}"
    return found


async def test_list_renders_every_kind_newest_first(api: Api, alice: ApiUser) -> None:
    sender = await remote()
    made = await mixed(alice, sender)
    response = await api.get("/api/v1/notifications", alice)
    assert response.status == 200
    body = response.body
    assert ids(body) == [str(n.id) for n in reversed(made.values())]
    for entity in body:
        assert_entity("Notification", entity)
        assert entity["account"]["acct"] == "carol@remote.example"
        assert entity["group_key"] == f"ungrouped-{entity['id']}"
        assert entity["created_at"].endswith("Z") and len(entity["created_at"]) == 24
    by_type = {entity["type"]: entity for entity in body}
    assert set(by_type) == set(made)
    for kind in ("favourite", "reblog", "mention", "status"):
        assert_entity("Status", by_type[kind]["status"])
        assert by_type[kind]["status"]["id"] == str(made[kind].status_id)
    for kind in ("follow", "follow_request"):
        assert "status" not in by_type[kind]


async def test_several_types_as_ivory_sends_them(api: Api, alice: ApiUser) -> None:
    made = await mixed(alice, await remote())
    wanted = [("types[]", "mention"), ("types[]", "status"), ("types[]", "favourite")]
    response = await api.get("/api/v1/notifications", alice, params=wanted)
    assert response.status == 200
    assert {e["type"] for e in response.body} == {"mention", "status", "favourite"}
    assert sorted(ids(response.body)) == sorted(str(made[k].id) for k in ("mention", "status", "favourite"))
    # JSON-style arrays and a single bare value are the same filter
    single = await api.get("/api/v1/notifications", alice, params={"types": "follow"})
    assert [e["type"] for e in single.body] == ["follow"]
    unknown = await api.get("/api/v1/notifications", alice, params=[("types[]", "no_such_type")])
    assert unknown.status == 200 and unknown.body == []


async def test_exclude_types_and_account_filter(api: Api, alice: ApiUser, bob: ApiUser) -> None:
    carol = await remote()
    await mixed(alice, carol)
    from_bob = await notify(alice, bob.account, "follow")
    excluded = await api.get("/api/v1/notifications", alice,
                             params=[("exclude_types[]", "follow"), ("exclude_types[]", "follow_request")])
    assert excluded.status == 200
    assert {e["type"] for e in excluded.body} == {"favourite", "reblog", "mention", "status"}
    only_bob = await api.get("/api/v1/notifications", alice, params={"account_id": str(bob.account.id)})
    assert ids(only_bob.body) == [str(from_bob.id)]
    both = await api.get("/api/v1/notifications", alice,
                         params=[("types[]", "follow"), ("exclude_types[]", "follow"), ("types[]", "reblog")])
    assert [e["type"] for e in both.body] == ["reblog"]
    bad = await api.get("/api/v1/notifications", alice, params={"account_id": "not-an-id"})
    assert bad.status == 422 and "error" in bad.body


async def test_paging_follows_link_and_keeps_the_filters(api: Api, alice: ApiUser) -> None:
    carol = await remote()
    favourites = [await notify(alice, carol, "favourite", await post(alice.account)) for _ in range(5)]
    await notify(alice, carol, "follow")  # newest, filtered out by types[]
    newest_first = [str(n.id) for n in reversed(favourites)]
    query = [("types[]", "favourite"), ("types[]", "reblog"), ("limit", "2")]

    first = await api.get("/api/v1/notifications", alice, params=query)
    assert ids(first.body) == newest_first[:2]
    header = first.headers["Link"]
    assert header.startswith("<https://art.example/api/v1/notifications?")
    pages = links(header)
    for rel in ("next", "prev"):
        kept = parse_qsl(urlsplit(pages[rel]).query)
        assert ("types[]", "favourite") in kept and ("types[]", "reblog") in kept and ("limit", "2") in kept
    assert ("max_id", newest_first[1]) in parse_qsl(urlsplit(pages["next"]).query)
    assert ("min_id", newest_first[0]) in parse_qsl(urlsplit(pages["prev"]).query)

    second = await api.get(pages["next"], alice)
    assert ids(second.body) == newest_first[2:4]
    third = await api.get(links(second.headers["Link"])["next"], alice)
    assert ids(third.body) == newest_first[4:]
    end = await api.get(links(third.headers["Link"])["next"], alice)
    assert end.status == 200 and end.body == [] and "Link" not in end.headers

    # back up from the third page: min_id gives the page just newer, still newest first
    back = await api.get(links(third.headers["Link"])["prev"], alice)
    assert ids(back.body) == newest_first[2:4]
    since = await api.get("/api/v1/notifications", alice,
                          params=[*query, ("since_id", newest_first[4])])
    assert ids(since.body) == newest_first[:2]  # since_id: the newest ones, maybe leaving a gap


async def test_limit_defaults_to_40_and_caps_at_80(api: Api, alice: ApiUser) -> None:
    carol = await remote()
    await Notification.bulk_create([Notification(account=alice.account, from_account=carol, type="follow")
                                    for _ in range(90)])
    assert len((await api.get("/api/v1/notifications", alice)).body) == 40
    assert len((await api.get("/api/v1/notifications", alice, params={"limit": "500"})).body) == 80


async def test_muted_blocked_and_deleted_are_hidden(api: Api, alice: ApiUser) -> None:
    muted, quiet, expired, blocked, friend = [await remote(n) for n in ("muted", "quiet", "expired", "blocked",
                                                                         "friend")]
    await Mute.create(account=alice.account, target_account=muted, hide_notifications=True)
    await Mute.create(account=alice.account, target_account=quiet, hide_notifications=False)
    await Mute.create(account=alice.account, target_account=expired, hide_notifications=True,
                      expires_at=datetime.now(UTC) - timedelta(minutes=1))
    await Block.create(account=alice.account, target_account=blocked)
    gone = await post(alice.account, "deleted later")
    hidden = [await notify(alice, muted, "follow"), await notify(alice, blocked, "follow"),
              await notify(alice, friend, "favourite", gone)]
    shown = [await notify(alice, quiet, "follow"), await notify(alice, expired, "follow"),
             await notify(alice, friend, "favourite", await post(alice.account))]
    await Status.filter(id=gone.id).update(deleted_at=datetime.now(UTC))

    listed = await api.get("/api/v1/notifications", alice)
    assert sorted(ids(listed.body)) == sorted(str(n.id) for n in shown)
    for row in hidden:
        assert (await api.get(f"/api/v1/notifications/{row.id}", alice)).status == 404
    count = await api.get("/api/v1/notifications/unread_count", alice)
    assert count.body == {"count": len(shown)}


async def test_get_one_and_another_users_is_404(api: Api, alice: ApiUser, bob: ApiUser) -> None:
    carol = await remote()
    mine = await notify(alice, carol, "favourite", await post(alice.account))
    theirs = await notify(bob, carol, "follow")
    response = await api.get(f"/api/v1/notifications/{mine.id}", alice)
    assert response.status == 200
    assert_entity("Notification", response.body)
    assert response.body["id"] == str(mine.id) and response.body["type"] == "favourite"
    for path in (f"/api/v1/notifications/{theirs.id}", "/api/v1/notifications/12345", "/api/v1/notifications/abc"):
        missing = await api.get(path, alice)
        assert missing.status == 404, path
        assert missing.body == {"error": "Record not found"}


async def test_dismiss_deletes_only_the_readers_own(api: Api, alice: ApiUser, bob: ApiUser) -> None:
    carol = await remote()
    keep, drop = await notify(alice, carol, "follow"), await notify(alice, carol, "follow")
    theirs = await notify(bob, carol, "follow")
    response = await api.post(f"/api/v1/notifications/{drop.id}/dismiss", alice)
    assert response.status == 200 and response.body == {}
    assert not await Notification.exists(id=drop.id)
    assert await Notification.exists(id=keep.id)
    refused = await api.post(f"/api/v1/notifications/{theirs.id}/dismiss", alice)
    assert refused.status == 404 and refused.body == {"error": "Record not found"}
    assert await Notification.exists(id=theirs.id)
    # Mastodon < 3.0 form, still sent by old libraries: the id in the body
    legacy = await api.post("/api/v1/notifications/dismiss", alice, data={"id": str(keep.id)})
    assert legacy.status == 200 and not await Notification.exists(id=keep.id)


async def test_clear_deletes_everything_of_the_reader_only(api: Api, alice: ApiUser, bob: ApiUser) -> None:
    carol = await remote()
    await mixed(alice, carol)
    theirs = await notify(bob, carol, "follow")
    response = await api.post("/api/v1/notifications/clear", alice)
    assert response.status == 200 and response.body == {}
    assert await Notification.filter(account_id=alice.account.id).count() == 0
    assert await Notification.exists(id=theirs.id)
    assert (await api.get("/api/v1/notifications", alice)).body == []


async def test_scopes(api: Api, alice: ApiUser) -> None:
    carol = await remote()
    row = await notify(alice, carol, "follow")
    reader = await make_user("reader", scopes="read")
    granular = await make_user("granular", scopes="read:notifications write:notifications")
    other_scope = await make_user("statusonly", scopes="read:statuses write:statuses")
    await notify(reader, carol, "follow")

    for path in ("/api/v1/notifications/clear", f"/api/v1/notifications/{row.id}/dismiss"):
        forbidden = await api.post(path, reader)
        assert forbidden.status == 403 and isinstance(forbidden.body["error"], str)
        anonymous = await api.post(path)
        assert anonymous.status == 401 and anonymous.body == {"error": "The access token is invalid"}
    assert await Notification.exists(id=row.id)
    assert await Notification.filter(account_id=reader.account.id).count() == 1

    for path in ("/api/v1/notifications", f"/api/v1/notifications/{row.id}", "/api/v1/notifications/unread_count"):
        assert (await api.get(path)).status == 401
        denied = await api.get(path, other_scope)
        assert denied.status == 403 and "error" in denied.body
    assert (await api.get("/api/v1/notifications", reader)).status == 200
    assert (await api.get("/api/v1/notifications", granular)).status == 200
    assert (await api.post("/api/v1/notifications/clear", granular)).status == 200
    bad_token = await api.get("/api/v1/notifications", headers={"Authorization": "Bearer nope"})
    assert bad_token.status == 401


async def test_unread_count_follows_the_marker_and_caps_at_100(api: Api, alice: ApiUser) -> None:
    carol = await remote()
    empty = await api.get("/api/v1/notifications/unread_count", alice)
    assert empty.status == 200 and empty.body == {"count": 0}
    assert_entity("CountResponse", empty.body)
    rows = [await notify(alice, carol, "follow") for _ in range(3)]
    assert (await api.get("/api/v1/notifications/unread_count", alice)).body == {"count": 3}

    saved = await api.post("/api/v1/markers", alice, data={"notifications[last_read_id]": str(rows[0].id)})
    assert saved.status == 200
    assert (await api.get("/api/v1/notifications/unread_count", alice)).body == {"count": 2}
    filtered = await api.get("/api/v1/notifications/unread_count", alice, params=[("types[]", "mention")])
    assert filtered.body == {"count": 0}

    await Notification.bulk_create([Notification(account=alice.account, from_account=carol, type="follow")
                                    for _ in range(110)])
    assert (await api.get("/api/v1/notifications/unread_count", alice)).body == {"count": 100}
    more = await api.get("/api/v1/notifications/unread_count", alice, params={"limit": "1000"})
    assert more.body == {"count": 112}
