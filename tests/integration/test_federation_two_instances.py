"""Two cara_fed instances in one process: follow, accept, post with two images, like, boost, reply, delete
and unfollow all reach the other side, over real HTTPS with real signatures (the fake fediverse only routes
names to loopback)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from cara_fed.models import Account, Favourite, Follow, FollowRequest, MediaAttachment, Notification, Status
from cara_fed.services import following, interactions, posts
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, drain, instances


@pytest.fixture
async def pair(database_factory: DatabaseFactory, fediverse: FakeFediverse,
               tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance]]:
    async with instances(["a.example", "b.example"], database_factory, fediverse, tmp_path) as (a, b):
        yield a, b


async def remote(instance: Instance, uri: str) -> Account:
    with instance.db():
        return await instance.federation.actors.get_actor(uri)


async def follow_across(a: Instance, b: Instance, follower: Account, followed_uri: str) -> None:
    target = await remote(a, followed_uri)
    with a.db():
        await following.follow(a.federation, follower, target)
    await drain(a, b)


async def test_follow_accept_post_interact_delete_unfollow(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    mira, juno = await a.user("mira"), await b.user("juno")
    mira_uri, juno_uri = "https://a.example/users/mira", "https://b.example/users/juno"

    # Follow -> Accept
    await follow_across(a, b, mira, juno_uri)
    with b.db():
        remote_mira = await Account.get(uri=mira_uri)
        assert await Follow.filter(account_id=remote_mira.id, target_account_id=juno.id).count() == 1
        assert await Notification.filter(account_id=juno.id, type="follow").count() == 1
    with a.db():
        remote_juno = await Account.get(uri=juno_uri)
        assert await Follow.filter(account_id=mira.id, target_account_id=remote_juno.id).count() == 1
        assert await FollowRequest.all().count() == 0
    assert await a.dead_jobs() == [] and await b.dead_jobs() == []

    # Juno posts two images; they reach Mira's server in order, with their alt text.
    with b.db():
        media = [await MediaAttachment.create(account=juno, type="image", file_path=f"{n}work.png",
                                              content_type="image/png", description=f"study {n}",
                                              meta={"original": {"width": 800, "height": 600}}) for n in (1, 2)]
        post = await posts.create_post(b.settings, juno, "New series\n\nink on paper",
                                       media_ids=[media[1].id, media[0].id])
    await drain(a, b)
    post_uri = f"{juno_uri}/statuses/{post.id}"
    with a.db():
        received = await Status.get(uri=post_uri).prefetch_related("media_attachments")
        assert received.content == "<p>New series</p><p>ink on paper</p>" and received.visibility == "public"
        attachments = sorted(received.media_attachments, key=lambda m: m.position)
        assert [(m.remote_url, m.description) for m in attachments] == [
            ("https://b.example/media/2work.png", "study 2"), ("https://b.example/media/1work.png", "study 1")]
        received_id = received.id

    # Mira likes, boosts and replies.
    with a.db():
        await interactions.favourite(a.settings, mira, received_id)
        await interactions.reblog(a.settings, mira, received_id)
        reply = await posts.create_post(a.settings, mira, "Gorgeous linework!", in_reply_to_id=received_id)
    await drain(a, b)
    with b.db():
        remote_mira = await Account.get(uri=mira_uri)
        assert await Favourite.filter(account_id=remote_mira.id, status_id=post.id).count() == 1
        assert await Status.filter(account_id=remote_mira.id, reblog_of_id=post.id).count() == 1
        stored_reply = await Status.get(uri=f"{mira_uri}/statuses/{reply.id}")
        assert stored_reply.in_reply_to_id == post.id and stored_reply.visibility == "public"
        kinds = sorted(await Notification.filter(account_id=juno.id).values_list("type", flat=True))
        assert kinds == ["favourite", "follow", "mention", "reblog"]

    # Undo like and boost; Juno deletes the post; Mira unfollows.
    with a.db():
        await interactions.unfavourite(a.settings, mira, received_id)
        await interactions.unreblog(a.settings, mira, received_id)
    with b.db():
        await posts.delete_post(b.settings, juno, post.id)
    await drain(a, b)
    with b.db():
        assert await Favourite.filter(status_id=post.id).count() == 0
        assert await Status.filter(reblog_of_id=post.id).count() == 0
    with a.db():
        assert (await Status.get(uri=post_uri)).deleted_at is not None
        await following.unfollow(a.federation, mira, await Account.get(uri=juno_uri))
    await drain(a, b)
    with b.db():
        assert await Follow.filter(target_account_id=juno.id).count() == 0
    assert await a.dead_jobs() == [] and await b.dead_jobs() == []


async def test_a_locked_account_gets_a_follow_request_and_no_accept(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    mira, juno = await a.user("mira"), await b.user("juno")
    with b.db():
        juno.locked = True
        await juno.save()
    await follow_across(a, b, mira, "https://b.example/users/juno")
    with b.db():
        assert await FollowRequest.filter(target_account_id=juno.id).count() == 1
        assert await Follow.all().count() == 0
        assert await Notification.filter(account_id=juno.id, type="follow_request").count() == 1
    with a.db():
        assert await FollowRequest.filter(account_id=mira.id).count() == 1  # still waiting
        assert await Follow.all().count() == 0
