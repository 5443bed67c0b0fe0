"""The client API across two instances (issue 4 point 5): a follow made through the API is accepted by the
other server; a post with two uploaded images reaches the follower's server and its home timeline in order
with its alt text; favourites, boosts and follows from the other server become notifications. Real HTTPS
between the instances, real signatures; the fake fediverse only routes names to loopback."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from cara_fed.models import User
from cara_fed.services.tokens import issue_token
from tests.support.api import Api, ApiUser
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, drain, instances
from tests.unit.media.imagegen import dirty_jpeg


@pytest.fixture
async def pair(database_factory: DatabaseFactory, fediverse: FakeFediverse,
               tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance]]:
    async with instances(["a.example", "b.example"], database_factory, fediverse, tmp_path) as (a, b):
        yield a, b


async def api_user(instance: Instance, name: str) -> ApiUser:
    account = await instance.user(name)
    with instance.db():
        user = await User.get(account_id=account.id)
        issued = await issue_token(None, user, ["read", "write", "follow"])
    return ApiUser(account=account, user=user, token=issued.access_token)


def image_form(seed: int, alt: str) -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("file", dirty_jpeg((640 + 40 * seed, 480)), filename="plate.jpg", content_type="image/jpeg")
    form.add_field("description", alt)
    return form


async def test_follow_post_with_images_and_interactions_across_instances(
        pair: tuple[Instance, Instance], fediverse: FakeFediverse) -> None:
    a, b = pair
    async with fediverse.session() as http:
        api_a, api_b = Api(http, "https://a.example"), Api(http, "https://b.example")
        mira, juno = await api_user(a, "mira"), await api_user(b, "juno")

        # Juno (b) finds Mira (a) through search with resolve, and follows her.
        found = await api_b.get("/api/v2/search", juno, params={"q": "@mira@a.example", "resolve": "true",
                                                                "type": "accounts"})
        assert found.status == 200, found.body
        remote_mira = found.body["accounts"][0]
        assert remote_mira["acct"] == "mira@a.example"
        followed = await api_b.post(f"/api/v1/accounts/{remote_mira['id']}/follow", juno)
        assert followed.status == 200 and followed.body["requested"] is True
        await drain(a, b)
        relationship = (await api_b.get("/api/v1/accounts/relationships", juno,
                                        params={"id[]": remote_mira["id"]})).body[0]
        assert relationship["following"] is True and relationship["requested"] is False

        # Mira uploads two images with alt text and posts them.
        media_ids = []
        for seed, alt in ((1, "ink study, left"), (2, "ink study, right")):
            uploaded = await api_a.post("/api/v2/media", mira, data=image_form(seed, alt))
            assert uploaded.status == 200, uploaded.body
            media_ids.append(uploaded.body["id"])
        posted = await api_a.post("/api/v1/statuses", mira, json={"status": "Two plates #ink",
                                                                  "media_ids": media_ids})
        assert posted.status == 200, posted.body
        await drain(a, b)

        # It is on Juno's home timeline on b, images in order with their alt text, cached and served by b
        # (with b's no-AI headers), the originals on a kept as remote_url.
        home = (await api_b.get("/api/v1/timelines/home", juno)).body
        assert len(home) == 1
        status = home[0]
        assert status["account"]["acct"] == "mira@a.example" and "Two plates" in status["content"]
        assert [m["description"] for m in status["media_attachments"]] == ["ink study, left", "ink study, right"]
        assert all(m["url"].startswith("https://b.example/media/") for m in status["media_attachments"])
        assert all(m["remote_url"].startswith("https://a.example/media/") for m in status["media_attachments"])
        assert status["media_attachments"][0]["meta"]["original"]["width"] == 680
        async with http.get(status["media_attachments"][0]["url"]) as cached:
            assert cached.status == 200 and cached.headers["X-Robots-Tag"] == "noai, noimageai"
            assert b"GPSLatitude" not in await cached.read()
        assert status["tags"] == [{"name": "ink", "url": "https://b.example/tags/ink"}]

        # Juno favourites and boosts it; Mira's notifications on a show the follow, the favourite, the boost.
        assert (await api_b.post(f"/api/v1/statuses/{status['id']}/favourite", juno)).status == 200
        assert (await api_b.post(f"/api/v1/statuses/{status['id']}/reblog", juno)).status == 200
        await drain(a, b)
        notifications = (await api_a.get("/api/v1/notifications", mira)).body
        assert sorted(n["type"] for n in notifications) == ["favourite", "follow", "reblog"]
        assert {n["account"]["acct"] for n in notifications} == {"juno@b.example"}
        liked = next(n for n in notifications if n["type"] == "favourite")
        assert liked["status"]["id"] == posted.body["id"]
        mine = (await api_a.get(f"/api/v1/statuses/{posted.body['id']}", mira)).body
        assert mine["favourites_count"] == 1 and mine["reblogs_count"] == 1
    assert await a.dead_jobs() == [] and await b.dead_jobs() == []
