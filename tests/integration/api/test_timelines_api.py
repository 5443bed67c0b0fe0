"""Home, public and tag timelines, favourites and bookmarks through the client API: who appears where,
paging with max_id/since_id/min_id and the Link header, and remote posts received by the inbox."""

from __future__ import annotations

import html
import re

import aiohttp
import pytest

from cara_fed.models import Account, Block, Follow, MediaAttachment, Mute, Status
from tests.support.api import Api, ApiUser, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


async def say(api: Api, who: ApiUser, text: str, **fields: object) -> dict[str, object]:
    response = await api.post("/api/v1/statuses", who, json={"status": text, **fields})
    assert response.status == 200, response.body
    return response.body


def contents(body: list[dict[str, object]]) -> list[str]:
    return [html.unescape(re.sub(r"<[^>]+>", "", str(s["content"] or ""))) or f"boost:{s['reblog']['id']}" for s in body]


async def test_home_shows_own_and_followed_posts_newest_first(api: Api) -> None:
    mira, juno, stranger = await make_user("mira"), await make_user("juno"), await make_user("stranger")
    await Follow.create(account=mira.account, target_account=juno.account)
    await say(api, juno, "juno one")
    await say(api, stranger, "not followed")
    await say(api, mira, "mine")
    await say(api, juno, "juno private", visibility="private")
    await say(api, stranger, "hey @mira", visibility="direct")
    home = await api.get("/api/v1/timelines/home", mira)
    assert home.status == 200
    assert contents(home.body) == ["juno private", "mine", "juno one"]
    assert (await api.get("/api/v1/timelines/home")).status == 401


async def test_home_leaves_out_muted_blocked_and_hidden_boosts(api: Api) -> None:
    mira, juno, ada = await make_user("mira"), await make_user("juno"), await make_user("ada")
    await Follow.create(account=mira.account, target_account=juno.account, show_reblogs=False)
    await Follow.create(account=mira.account, target_account=ada.account)
    adas = await say(api, ada, "ada's print")
    await api.post(f"/api/v1/statuses/{adas['id']}/reblog", juno)
    await say(api, juno, "juno says")
    assert contents((await api.get("/api/v1/timelines/home", mira)).body) == ["juno says", "ada's print"]
    await Mute.create(account=mira.account, target_account=juno.account)
    assert contents((await api.get("/api/v1/timelines/home", mira)).body) == ["ada's print"]
    await Block.create(account=mira.account, target_account=ada.account)
    assert (await api.get("/api/v1/timelines/home", mira)).body == []


async def test_public_timeline_filters_local_remote_and_media(api: Api) -> None:
    mira = await make_user("mira")
    remote = await Account.create(username="zoe", domain="remote.example", uri="https://remote.example/users/zoe")
    await Status.create(account=remote, local=False, uri="https://remote.example/notes/1", content="<p>remote</p>")
    await say(api, mira, "local text")
    await say(api, mira, "unlisted", visibility="unlisted")
    media = await MediaAttachment.create(account=mira.account, type="image", file_path="aa.webp")
    await say(api, mira, "with image", media_ids=[str(media.id)])
    assert contents((await api.get("/api/v1/timelines/public")).body) == ["with image", "local text", "remote"]
    assert contents((await api.get("/api/v1/timelines/public?local=true")).body) == ["with image", "local text"]
    assert contents((await api.get("/api/v1/timelines/public?remote=1")).body) == ["remote"]
    assert contents((await api.get("/api/v1/timelines/public?only_media=true")).body) == ["with image"]
    await Account.filter(id=remote.id).update(silenced_at=remote.created_at)
    assert contents((await api.get("/api/v1/timelines/public", mira)).body) == ["with image", "local text"]


async def test_tag_timeline(api: Api) -> None:
    mira = await make_user("mira")
    await say(api, mira, "a #Linocut print")
    await say(api, mira, "other #ink")
    assert contents((await api.get("/api/v1/timelines/tag/linocut")).body) == ["a #Linocut print"]
    assert (await api.get("/api/v1/tags/LINOCUT")).body["name"] == "linocut"
    assert (await api.get("/api/v1/tags/none")).status == 404


async def test_paging_with_max_since_min_and_link_headers(api: Api) -> None:
    mira = await make_user("mira")
    ids = [(await say(api, mira, f"post {n}"))["id"] for n in range(7)]
    first = await api.get("/api/v1/timelines/home?limit=3", mira)
    assert [s["id"] for s in first.body] == ids[6:3:-1]
    link = first.headers["Link"]
    assert f"max_id={ids[4]}" in link and f"min_id={ids[6]}" in link and "limit=3" in link
    assert link.startswith("<https://art.example/api/v1/timelines/home?")
    older = await api.get(f"/api/v1/timelines/home?limit=3&max_id={ids[4]}", mira)
    assert [s["id"] for s in older.body] == ids[3:0:-1]
    newer = await api.get(f"/api/v1/timelines/home?limit=2&min_id={ids[1]}", mira)
    assert [s["id"] for s in newer.body] == [ids[3], ids[2]]  # the page just above min_id, newest first
    since = await api.get(f"/api/v1/timelines/home?limit=2&since_id={ids[1]}", mira)
    assert [s["id"] for s in since.body] == [ids[6], ids[5]]  # newest first, may leave a gap
    empty = await api.get(f"/api/v1/timelines/home?max_id={ids[0]}", mira)
    assert empty.body == [] and "Link" not in empty.headers
    assert (await api.get("/api/v1/timelines/home?max_id=abc", mira)).status == 422
    assert len((await api.get("/api/v1/timelines/home?limit=500", mira)).body) == 7


async def test_favourites_and_bookmarks_page_by_their_own_ids(api: Api) -> None:
    mira, juno = await make_user("mira"), await make_user("juno")
    posts = [await say(api, juno, f"work {n}") for n in range(3)]
    for post in (posts[0], posts[2], posts[1]):  # favourited in this order
        await api.post(f"/api/v1/statuses/{post['id']}/favourite", mira)
        await api.post(f"/api/v1/statuses/{post['id']}/bookmark", mira)
    favourites = await api.get("/api/v1/favourites?limit=2", mira)
    assert contents(favourites.body) == ["work 1", "work 2"]
    next_url = favourites.headers["Link"].split(";")[0].strip("<>").replace("https://art.example", "")
    assert contents((await api.get(next_url, mira)).body) == ["work 0"]
    assert contents((await api.get("/api/v1/bookmarks", mira)).body) == ["work 1", "work 2", "work 0"]
    assert (await api.get("/api/v1/favourites")).status == 401
