"""Local posts as ActivityPub objects and the account's collections, over real HTTP."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from cara_fed.models import Account, Follow, MediaAttachment, Mention, Status, StatusPin, Tag
from cara_fed.services import accounts
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

AS = "application/activity+json"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
ACTOR = "https://art.example/users/mira"


@pytest.fixture
async def mira() -> Account:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    return await Account.get(id=user.account_id)


@pytest.fixture
async def zoe() -> Account:
    return await Account.create(username="zoe", domain="remote.example", uri="https://remote.example/users/zoe",
                                inbox_url="https://remote.example/users/zoe/inbox")


async def post(account: Account, text: str = "hello", *, visibility: str = "public", images: int = 0,
               **fields: Any) -> Status:
    status = await Status.create(account=account, text=text, content=f"<p>{text}</p>", visibility=visibility,
                                 **fields)
    for n in range(images):
        await MediaAttachment.create(
            account=account, status=status, position=n, type="image", file_path=f"{n:02d}abcdef.jpg",
            content_type="image/jpeg", description=f"alt {n}", blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
            focus_x=0.25, focus_y=-0.5, meta={"original": {"width": 1600, "height": 1200}})
    return status


async def get(http: aiohttp.ClientSession, server: RunningServer, path: str, accept: str = AS
              ) -> tuple[int, dict[str, str], Any]:
    async with http.get(server.url + path, headers={"Accept": accept}, allow_redirects=False) as response:
        try:
            body: Any = await response.json(content_type=None)
        except ValueError:
            body = await response.text()
        return response.status, dict(response.headers), body


async def test_a_post_is_a_note_with_ordered_image_attachments_and_the_ai_reservation(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account, zoe: Account) -> None:
    parent = await Status.create(account=zoe, local=False, uri="https://remote.example/notes/1", content="<p>q</p>")
    status = await post(mira, "ink study", images=2, sensitive=True, spoiler_text="eyes", language="en",
                        in_reply_to=parent, in_reply_to_account=zoe)
    await Mention.create(status=status, account=zoe)
    tag = await Tag.create(name="inktober")
    await status.tags.add(tag)

    code, headers, note = await get(http, server, f"/users/mira/statuses/{status.id}")
    assert code == 200 and headers["Content-Type"].startswith(AS)
    assert note["id"] == f"{ACTOR}/statuses/{status.id}" and note["type"] == "Note"
    assert note["attributedTo"] == ACTOR and note["url"] == f"https://art.example/@mira/{status.id}"
    assert note["to"] == [PUBLIC] and note["cc"] == [f"{ACTOR}/followers", zoe.uri]
    assert note["inReplyTo"] == "https://remote.example/notes/1"
    assert note["summary"] == "eyes" and note["sensitive"] is True
    assert note["content"] == "<p>ink study</p>" and note["contentMap"] == {"en": "<p>ink study</p>"}
    assert note["xRobotsTag"] == "noai, noimageai" and note["license"] == "https://art.example/ai-policy"
    assert [a["url"] for a in note["attachment"]] == ["https://art.example/media/00abcdef.jpg",
                                                      "https://art.example/media/01abcdef.jpg"]
    first = note["attachment"][0]
    assert first == {"type": "Image", "mediaType": "image/jpeg", "url": "https://art.example/media/00abcdef.jpg",
                     "name": "alt 0", "summary": "alt 0", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj",
                     "focalPoint": [0.25, -0.5], "width": 1600, "height": 1200, "xRobotsTag": "noai, noimageai",
                     "license": "https://art.example/ai-policy"}
    assert {"type": "Mention", "href": zoe.uri, "name": "@zoe@remote.example"} in note["tag"]
    assert {"type": "Hashtag", "href": "https://art.example/tags/inktober", "name": "#inktober"} in note["tag"]
    for term in ("sensitive", "blurhash", "focalPoint", "Hashtag", "xRobotsTag", "license"):
        assert term in note["@context"][1]

    code, _, create = await get(http, server, f"/users/mira/statuses/{status.id}/activity")
    assert code == 200 and create["type"] == "Create" and create["id"] == f"{note['id']}/activity"
    assert create["actor"] == ACTOR and create["object"]["id"] == note["id"] and "@context" not in create["object"]
    assert (create["to"], create["cc"]) == (note["to"], note["cc"])


@pytest.mark.parametrize(("visibility", "to", "cc"), [
    ("public", [PUBLIC], [f"{ACTOR}/followers"]),
    ("unlisted", [f"{ACTOR}/followers"], [PUBLIC]),
])
async def test_audience_by_visibility(server: RunningServer, http: aiohttp.ClientSession, mira: Account,
                                      visibility: str, to: list[str], cc: list[str]) -> None:
    status = await post(mira, visibility=visibility)
    _, _, note = await get(http, server, f"/users/mira/statuses/{status.id}")
    assert (note["to"], note["cc"]) == (to, cc)


async def test_more_than_four_images_are_all_attached_and_the_rest_linked_from_the_content(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    status = await post(mira, "series", images=6)
    _, _, note = await get(http, server, f"/users/mira/statuses/{status.id}")
    assert len(note["attachment"]) == 6
    assert note["content"].startswith("<p>series</p><p>More images: ")
    assert 'href="https://art.example/media/04abcdef.jpg">alt 4</a>' in note["content"]
    assert 'href="https://art.example/media/05abcdef.jpg">alt 5</a>' in note["content"]
    assert "00abcdef" not in note["content"]


async def test_private_direct_and_foreign_ids_are_not_found_and_deleted_posts_are_tombstones(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    private = await post(mira, visibility="private")
    direct = await post(mira, visibility="direct")
    deleted = await post(mira, deleted_at=mira.created_at)
    other = await accounts.create_local_account("juno", "juno@example.org", "correct horse battery")
    for path in (f"/users/mira/statuses/{private.id}", f"/users/mira/statuses/{direct.id}",
                 f"/users/juno/statuses/{deleted.id}", "/users/mira/statuses/1"):
        code, _, body = await get(http, server, path)
        assert code == 404 and "error" in body, path
    code, headers, body = await get(http, server, f"/users/mira/statuses/{deleted.id}")
    assert code == 410 and headers["Content-Type"].startswith(AS)
    assert body["type"] == "Tombstone" and body["id"] == f"{ACTOR}/statuses/{deleted.id}"
    assert other is not None


async def test_browsers_get_the_post_page(server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    status = await post(mira, "hello <script>alert(1)</script>", images=1)
    code, headers, _ = await get(http, server, f"/users/mira/statuses/{status.id}", accept="text/html")
    assert code == 302 and headers["Location"] == f"https://art.example/@mira/{status.id}"
    code, _, html = await get(http, server, f"/@mira/{status.id}", accept="text/html")
    assert code == 200 and "<script>" not in html and 'alt="alt 0"' in html
    assert '<meta name="robots" content="noai, noimageai">' in html


async def test_the_outbox_pages_through_every_public_post_once(server: RunningServer, http: aiohttp.ClientSession,
                                                               mira: Account, zoe: Account) -> None:
    made = [await post(mira, f"post {n}", visibility="unlisted" if n % 5 == 0 else "public") for n in range(24)]
    await post(mira, visibility="private")
    await post(mira, deleted_at=mira.created_at)
    original = await Status.create(account=zoe, local=False, uri="https://remote.example/notes/9")
    boost = await Status.create(account=mira, reblog_of=original, content="")

    code, _, outbox = await get(http, server, "/users/mira/outbox")
    assert code == 200 and outbox["type"] == "OrderedCollection" and outbox["totalItems"] == 25
    url, seen = outbox["first"], []
    while url:
        code, _, page = await get(http, server, url.removeprefix("https://art.example"))
        assert code == 200 and page["type"] == "OrderedCollectionPage" and page["partOf"] == outbox["id"]
        assert len(page["orderedItems"]) <= 20
        seen.extend(page["orderedItems"])
        url = page.get("next") if page["orderedItems"] else None
    assert [item["type"] for item in seen] == ["Announce"] + ["Create"] * 24
    assert seen[0]["object"] == "https://remote.example/notes/9" and seen[0]["id"].endswith(f"{boost.id}/activity")
    assert [item["object"]["content"] for item in seen[1:]] == [f"<p>post {n}</p>" for n in reversed(range(24))]

    newest_page = f"/users/mira/outbox?page=true&min_id={made[2].id}"
    _, _, newer = await get(http, server, newest_page)
    assert [i["object"]["content"] for i in newer["orderedItems"][-2:]] == ["<p>post 4</p>", "<p>post 3</p>"]
    assert (await get(http, server, "/users/mira/outbox?page=true&max_id=abc"))[0] == 400


async def test_followers_and_following_show_counts_and_pages_unless_hidden(
        server: RunningServer, http: aiohttp.ClientSession, mira: Account) -> None:
    fans = [await Account.create(username=f"fan{n}", domain="remote.example",
                                 uri=f"https://remote.example/users/fan{n}") for n in range(23)]
    for fan in fans:
        await Follow.create(account=fan, target_account=mira)
    await Follow.create(account=mira, target_account=fans[0])

    _, _, followers = await get(http, server, "/users/mira/followers")
    assert followers["totalItems"] == 23 and followers["first"] == f"{ACTOR}/followers?page=1"
    _, _, page1 = await get(http, server, "/users/mira/followers?page=1")
    _, _, page2 = await get(http, server, "/users/mira/followers?page=2")
    assert len(page1["orderedItems"]) == 20 and page1["next"] == f"{ACTOR}/followers?page=2"
    assert len(page2["orderedItems"]) == 3 and "next" not in page2
    assert sorted(page1["orderedItems"] + page2["orderedItems"]) == sorted(f.uri for f in fans)
    _, _, following = await get(http, server, "/users/mira/following?page=1")
    assert following["orderedItems"] == [fans[0].uri]
    assert (await get(http, server, "/users/mira/followers?page=zero"))[0] == 400

    mira.hide_collections = True
    await mira.save()
    _, _, hidden = await get(http, server, "/users/mira/followers")
    assert hidden["totalItems"] == 23 and "first" not in hidden and "orderedItems" not in hidden
    code, _, body = await get(http, server, "/users/mira/followers?page=1")
    assert code == 403 and "error" in body


async def test_featured_lists_pinned_public_posts(server: RunningServer, http: aiohttp.ClientSession,
                                                 mira: Account) -> None:
    first, second, private = await post(mira, "one"), await post(mira, "two"), await post(mira, visibility="private")
    for status in (first, second, private):
        await StatusPin.create(account=mira, status=status)
    code, _, featured = await get(http, server, "/users/mira/collections/featured")
    assert code == 200 and featured["type"] == "OrderedCollection" and featured["totalItems"] == 2
    assert [n["content"] for n in featured["orderedItems"]] == ["<p>two</p>", "<p>one</p>"]
    assert all(n["type"] == "Note" and "@context" not in n for n in featured["orderedItems"])
