"""A real bovine-herd 0.5.19 server (Python, Quart) against cara_fed over loopback, its user alice driven
with bovine's own client (bovine_driver.py). bovine answers unsigned actor fetches with 401, expands every
incoming activity with JSON-LD (offline: its context cache is seeded) and never auto-accepts follows."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub.fetch import fetch_json
from cara_fed.models import Account, Follow, FollowRequest, Status
from cara_fed.services import following, posts
from tests.interop.cara import CaraInstance
from tests.interop.peers import BovinePeer, poll
from tests.interop.reporting import evidence
from webfinger.client import lookup

pytestmark = pytest.mark.slow  # starts real peer processes


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def test_bovine_user_follows_an_artist_is_accepted_and_receives_her_post(
        cara: CaraInstance, bovine: BovinePeer) -> None:
    mira = await cara.user("mira")
    explain = evidence(cara, bovine=bovine)

    sent = await bovine.drive("follow", target=cara.actor_url("mira"))
    assert sent["status"] in (200, 201, 202), sent

    # cara_fed accepts by itself; the Accept lands in alice's inbox (the driver polls it).
    accept = await bovine.drive("wait-inbox", type="Accept", actor=cara.actor_url("mira"))
    assert _id(accept["object"]) == sent["location"], accept  # it accepts alice's very Follow
    with cara.db():
        alice = await Account.get(uri=bovine.actor_id)
        assert await Follow.filter(account_id=alice.id, target_account_id=mira.id).exists()

    with cara.db():
        post = await posts.create_post(cara.settings, mira, "Sketchbook, page 12")
    note_id = f"{cara.actor_url('mira')}/statuses/{post.id}"

    create = await bovine.drive("wait-inbox", type="Create", actor=cara.actor_url("mira"))
    note = create["object"]
    assert _id(note) == note_id, create
    assert isinstance(note, dict) and "Sketchbook, page 12" in note.get("content", ""), create
    assert await cara.failed_jobs() == [], await explain()


async def test_an_artist_follows_a_bovine_user_who_accepts_and_her_post_arrives(
        cara: CaraInstance, bovine: BovinePeer) -> None:
    mira = await cara.user("mira")
    explain = evidence(cara, bovine=bovine)
    http, policy = cara.state.http, cara.state.policy  # the instance's own SSRF-guarded client
    assert http is not None

    async def fetch_jrd(url: str) -> Any:
        fetched = await fetch_json(http, url, policy=policy, accept="application/jrd+json",
                                   require_activitystreams=False, check_id=False)
        return fetched.document

    # cara_fed's own WebFinger client, then a signed actor fetch (bovine answers unsigned GETs with 401).
    found = await lookup(bovine.acct, fetch_jrd, scheme="http")
    assert found.actor_url == bovine.actor_id
    with cara.db():
        alice = await cara.federation.actors.get_actor(found.actor_url)
        assert alice.inbox_url and alice.domain == bovine.base.removeprefix("http://")
        await following.follow(cara.federation, mira, alice)

    # bovine never auto-accepts: alice accepts mira's Follow with her client (the driver waits for it).
    accepted = await bovine.drive("accept", follower=cara.actor_url("mira"))
    assert accepted["status"] in (200, 201, 202), accepted

    async def follow_recorded() -> bool:
        with cara.db():
            return await Follow.filter(account_id=mira.id, target_account_id=alice.id).exists() and \
                not await FollowRequest.filter(account_id=mira.id, target_account_id=alice.id).exists()

    await poll("alice's Accept to turn mira's request into a follow", follow_recorded, explain=explain)

    sent = await bovine.drive("post", text="Hello from bovine")
    assert sent["status"] in (200, 201, 202), sent

    async def post_arrived() -> Status | None:
        with cara.db():
            return await Status.filter(account_id=alice.id, deleted_at=None).first()

    received = await poll("alice's post to reach cara_fed", post_arrived, explain=explain)
    assert "Hello from bovine" in received.content and received.visibility == "public"
    assert await cara.failed_jobs() == [], await explain()
