"""Posting and reading statuses through the client API, over real HTTP: create (text, mentions, tags,
media order, visibility, content warnings, Idempotency-Key, JSON and form bodies), read, thread, edit with
history, delete, and the viewer's actions (favourite, boost, bookmark, pin) with their notifications."""

from __future__ import annotations

import aiohttp
import pytest

from cara_fed.models import Bookmark, Favourite, Follow, MediaAttachment, Mention, Notification, Status, StatusPin
from tests.support.api import Api, ApiUser, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


@pytest.fixture
async def juno() -> ApiUser:
    return await make_user("juno")


async def image(owner: ApiUser, n: int) -> MediaAttachment:
    return await MediaAttachment.create(
        account=owner.account, type="image", file_path=f"{n:02d}cafe.webp", files={"full": f"{n:02d}cafe.webp",
                                                                                   "preview": f"{n:02d}small.webp"},
        content_type="image/webp", description=f"plate {n}", blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        meta={"original": {"width": 1600, "height": 1200, "size": "1600x1200", "aspect": 1.3333}})


async def test_posting_with_json_returns_a_complete_status(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    response = await api.post("/api/v1/statuses", mira, json={
        "status": "New plate for @juno #Etching https://example.org/x", "visibility": "public",
        "spoiler_text": "", "language": "en"})
    assert response.status == 200, response.body
    body = response.body
    assert body["id"].isdigit() and body["account"]["username"] == "mira"
    assert body["created_at"].endswith("Z") and len(body["created_at"]) == 24
    assert body["mentions"] == [{"id": str(juno.account.id), "username": "juno", "acct": "juno",
                                 "url": "https://art.example/@juno"}]
    assert body["tags"] == [{"name": "etching", "url": "https://art.example/tags/etching"}]
    assert 'class="u-url mention"' in body["content"] and 'rel="tag"' in body["content"]
    assert '<a href="https://example.org/x"' in body["content"]
    assert body["favourited"] is False and body["reblogged"] is False and body["bookmarked"] is False
    assert body["pinned"] is False and body["language"] == "en" and body["url"].startswith("https://art.example/@mira/")
    stored = await Status.get(id=int(body["id"]))
    assert stored.text.startswith("New plate") and await Mention.filter(status_id=stored.id).count() == 1
    notification = await Notification.get(account_id=juno.account.id)
    assert notification.type == "mention" and notification.status_id == stored.id


async def test_form_bodies_with_rails_keys_attach_media_in_the_order_given(api: Api, mira: ApiUser) -> None:
    media = [await image(mira, n) for n in range(3)]
    order = [media[2].id, media[0].id, media[1].id]
    form = aiohttp.FormData([("status", "triptych"), ("sensitive", "True"), *(("media_ids[]", str(i)) for i in order)])
    response = await api.post("/api/v1/statuses", mira, data=form)
    assert response.status == 200, response.body
    assert [m["id"] for m in response.body["media_attachments"]] == [str(i) for i in order]
    first = response.body["media_attachments"][0]
    assert first["url"] == "https://art.example/media/02cafe.webp"
    assert first["preview_url"] == "https://art.example/media/02small.webp"
    assert first["description"] == "plate 2" and first["meta"]["focus"] == {"x": 0.0, "y": 0.0}
    assert response.body["sensitive"] is True


async def test_a_status_with_only_media_and_empty_text_is_accepted(api: Api, mira: ApiUser) -> None:
    media = await image(mira, 1)
    response = await api.post("/api/v1/statuses", mira, json={"status": "", "media_ids": [str(media.id)]})
    assert response.status == 200 and response.body["content"] == ""


@pytest.mark.parametrize(("payload", "fragment"), [
    ({"status": ""}, "blank"),
    ({"status": "x" * 5001}, "character limit"),
    ({"status": "hi", "visibility": "secret"}, "visibility"),
    ({"status": "hi", "media_ids": ["123"]}, "media"),
    ({"status": "hi", "media_ids": ["abc"]}, "valid id"),
    ({"status": "hi", "language": "<script>"}, "language"),
    ({"status": "hi", "poll": {"options": ["a", "b"], "expires_in": 600}}, "polls"),
])
async def test_bad_posts_are_422_and_store_nothing(api: Api, mira: ApiUser, payload: dict[str, object],
                                                   fragment: str) -> None:
    response = await api.post("/api/v1/statuses", mira, json=payload)
    assert response.status == 422, response.body
    assert fragment in response.body["error"] and response.body["error"].startswith("Validation failed")
    assert await Status.all().count() == 0


async def test_someone_elses_media_cannot_be_attached(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    theirs = await image(juno, 1)
    response = await api.post("/api/v1/statuses", mira, json={"status": "mine", "media_ids": [str(theirs.id)]})
    assert response.status == 422
    assert (await MediaAttachment.get(id=theirs.id)).status_id is None and await Status.all().count() == 0


async def test_idempotency_key_returns_the_same_status(api: Api, mira: ApiUser) -> None:
    headers = {"Idempotency-Key": "retry-7f3a"}
    first = await api.post("/api/v1/statuses", mira, json={"status": "once"}, headers=headers)
    second = await api.post("/api/v1/statuses", mira, json={"status": "once"}, headers=headers)
    assert first.body["id"] == second.body["id"] and await Status.all().count() == 1


async def test_scopes_and_tokens_are_enforced(api: Api, mira: ApiUser) -> None:
    reader = await make_user("reader", scopes="read")
    assert (await api.post("/api/v1/statuses", reader, json={"status": "x"})).status == 403
    assert (await api.post("/api/v1/statuses", None, json={"status": "x"})).status == 401
    bogus = ApiUser(mira.account, mira.user, "not-a-token")
    denied = await api.post("/api/v1/statuses", bogus, json={"status": "x"})
    assert denied.status == 401 and denied.body == {"error": "The access token is invalid"}
    granular = await make_user("granular", scopes="write:statuses read:statuses")
    assert (await api.post("/api/v1/statuses", granular, json={"status": "x"})).status == 200
    assert await Status.all().count() == 1


async def test_visibility_decides_who_can_read_a_status(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    private = (await api.post("/api/v1/statuses", mira, json={"status": "followers only",
                                                              "visibility": "private"})).body
    direct = (await api.post("/api/v1/statuses", mira, json={"status": "hi @juno", "visibility": "direct"})).body
    assert (await api.get(f"/api/v1/statuses/{private['id']}")).status == 404
    assert (await api.get(f"/api/v1/statuses/{private['id']}", juno)).status == 404
    assert (await api.get(f"/api/v1/statuses/{private['id']}", mira)).status == 200
    assert (await api.get(f"/api/v1/statuses/{direct['id']}", juno)).status == 200
    assert (await api.get(f"/api/v1/statuses/{direct['id']}")).status == 404
    await Follow.create(account=juno.account, target_account=mira.account)
    assert (await api.get(f"/api/v1/statuses/{private['id']}", juno)).status == 200
    assert (await api.get("/api/v1/statuses/99999999")).body == {"error": "Record not found"}
    assert (await api.get("/api/v1/statuses/abc")).status == 422


async def test_thread_context_orders_ancestors_and_descendants(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    root = (await api.post("/api/v1/statuses", mira, json={"status": "root"})).body
    reply = (await api.post("/api/v1/statuses", juno, json={"status": "reply", "in_reply_to_id": root["id"]})).body
    deeper = (await api.post("/api/v1/statuses", mira, json={"status": "deeper", "in_reply_to_id": reply["id"]})).body
    second = (await api.post("/api/v1/statuses", mira, json={"status": "second", "in_reply_to_id": root["id"]})).body
    context = (await api.get(f"/api/v1/statuses/{root['id']}/context", mira)).body
    assert context["ancestors"] == []
    assert [s["id"] for s in context["descendants"]] == [reply["id"], deeper["id"], second["id"]]
    context = (await api.get(f"/api/v1/statuses/{deeper['id']}/context")).body
    assert [s["id"] for s in context["ancestors"]] == [root["id"], reply["id"]]
    assert reply["in_reply_to_id"] == root["id"] and reply["in_reply_to_account_id"] == str(mira.account.id)
    shown = (await api.get(f"/api/v1/statuses/{root['id']}", juno)).body
    assert shown["replies_count"] == 2


async def test_favourite_boost_bookmark_and_pin_update_the_entity_and_notify(api: Api, mira: ApiUser,
                                                                             juno: ApiUser) -> None:
    post = (await api.post("/api/v1/statuses", mira, json={"status": "woodcut"})).body
    path = f"/api/v1/statuses/{post['id']}"
    faved = (await api.post(path + "/favourite", juno)).body
    assert faved["favourited"] is True and faved["favourites_count"] == 1
    boost = (await api.post(path + "/reblog", juno)).body
    assert boost["reblog"]["id"] == post["id"] and boost["reblog"]["reblogged"] is True
    assert boost["reblog"]["reblogs_count"] == 1 and boost["content"] == ""
    assert (await api.post(path + "/bookmark", juno)).body["bookmarked"] is True
    pinned = (await api.post(path + "/pin", mira)).body
    assert pinned["pinned"] is True and await StatusPin.filter(status_id=int(post["id"])).exists()
    assert (await api.post(path + "/pin", juno)).status == 422
    kinds = sorted(n.type for n in await Notification.filter(account_id=mira.account.id))
    assert kinds == ["favourite", "reblog"]
    by = (await api.get(path + "/favourited_by")).body
    assert [a["username"] for a in by] == ["juno"]
    assert [a["username"] for a in (await api.get(path + "/reblogged_by")).body] == ["juno"]

    assert (await api.post(path + "/unfavourite", juno)).body["favourited"] is False
    assert (await api.post(path + "/unreblog", juno)).body["reblogged"] is False
    assert (await api.post(path + "/unbookmark", juno)).body["bookmarked"] is False
    assert (await api.post(path + "/unpin", mira)).body["pinned"] is False
    assert not await Favourite.exists() and not await Bookmark.exists() and not await StatusPin.exists()
    assert await Status.filter(reblog_of_id=int(post["id"])).count() == 0


async def test_edit_keeps_history_and_source(api: Api, mira: ApiUser) -> None:
    media = await image(mira, 1)
    post = (await api.post("/api/v1/statuses", mira, json={"status": "first #draft",
                                                           "media_ids": [str(media.id)]})).body
    edited = await api.put(f"/api/v1/statuses/{post['id']}", mira, json={
        "status": "second #final", "spoiler_text": "cw", "media_ids": [str(media.id)],
        "media_attributes": [{"id": str(media.id), "description": "new alt", "focus": "0.5,-0.25"}]})
    assert edited.status == 200, edited.body
    assert edited.body["edited_at"] is not None and "second" in edited.body["content"]
    assert edited.body["tags"] == [{"name": "final", "url": "https://art.example/tags/final"}]
    assert edited.body["media_attachments"][0]["description"] == "new alt"
    assert edited.body["media_attachments"][0]["meta"]["focus"] == {"x": 0.5, "y": -0.25}
    history = (await api.get(f"/api/v1/statuses/{post['id']}/history", mira)).body
    assert len(history) == 2 and "first" in history[0]["content"] and "second" in history[1]["content"]
    source = (await api.get(f"/api/v1/statuses/{post['id']}/source", mira)).body
    assert source == {"id": post["id"], "text": "second #final", "spoiler_text": "cw"}
    other = await make_user("other")
    assert (await api.put(f"/api/v1/statuses/{post['id']}", other, json={"status": "mine now"})).status == 404


async def test_delete_returns_the_text_for_redraft_and_hides_the_post(api: Api, mira: ApiUser,
                                                                      juno: ApiUser) -> None:
    post = (await api.post("/api/v1/statuses", mira, json={"status": "oops @juno"})).body
    assert (await api.delete(f"/api/v1/statuses/{post['id']}", juno)).status == 404
    deleted = await api.delete(f"/api/v1/statuses/{post['id']}", mira)
    assert deleted.status == 200 and deleted.body["text"] == "oops @juno"
    assert (await api.get(f"/api/v1/statuses/{post['id']}")).status == 404
    assert not await Notification.filter(account_id=juno.account.id).exists()


async def test_a_thread_leaves_out_replies_of_muted_and_blocked_accounts(api: Api, mira: ApiUser,
                                                                         juno: ApiUser) -> None:
    from cara_fed.models import Block, Mute

    troll, pest = await make_user("troll"), await make_user("pest")
    root = (await api.post("/api/v1/statuses", mira, json={"status": "root"})).body
    for who in (juno, troll, pest):
        await api.post("/api/v1/statuses", who, json={"status": f"reply by {who.account.username}",
                                                      "in_reply_to_id": root["id"]})
    await Mute.create(account=mira.account, target_account=troll.account)
    await Block.create(account=pest.account, target_account=mira.account)  # pest blocks mira
    seen = (await api.get(f"/api/v1/statuses/{root['id']}/context", mira)).body["descendants"]
    assert [s["account"]["username"] for s in seen] == ["juno"]
    anyone = (await api.get(f"/api/v1/statuses/{root['id']}/context")).body["descendants"]
    assert len(anyone) == 3
