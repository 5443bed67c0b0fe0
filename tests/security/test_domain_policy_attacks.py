"""Domain policy against a live instance (``site``: a.example with mira; Eve on remote.example, Bob on
other.example, both already known; the fake fediverse records every request).

- A suspended domain: nothing is delivered to it (a delivery queued before the block included), nothing
  is fetched from it (actor, object, WebFinger), and its signed activities are dropped before any fetch
  (tests/security/test_inbox_requests.py checks every sender variant).
- Allow-list mode: activities from a domain not on the list are dropped like a suspended domain's, without
  any request; listed domains federate; nothing is delivered to or fetched from the others.
- A silenced (limited) domain: a newly seen actor of it is silenced on arrival, and its follow becomes a
  request (no Accept sent).
- reject_media: an arriving post keeps its attachment as a link; the image is never requested.
- User-level blocks: a blocked account's mentions and replies do not notify, and its posts reach none of
  the blocker's timelines.
"""

from __future__ import annotations

from typing import Any

from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.models import (
    Account, DomainBlock, Follow, FollowRequest, MediaAttachment, Notification, Status, User,
)
from cara_fed.services import domain_policy, posts, relationships
from cara_fed.services.search import resolve_url
from cara_fed.services.tokens import issue_token
from tests.security.conftest import (
    BOB, BOB_KEY, EVE, MIRA, PUBLIC, Site, activity, actor_document, create, note,
)
from tests.support.api import Api, ApiUser


async def follower(site: Site, uri: str) -> None:
    with site.db():
        account = await Account.get(uri=uri)
        await Follow.create(account=account, target_account=site.mira)


def posts_to(site: Site, host: str) -> list[str]:
    return [r.url for r in site.fediverse.posts if r.url.startswith(f"https://{host}/")]


# -- suspended: nothing delivered, nothing fetched ---------------------------------------------------------

async def test_nothing_is_delivered_to_a_suspended_domain(site: Site) -> None:
    await follower(site, EVE)
    await follower(site, BOB)
    with site.db():
        early = {"@context": "https://www.w3.org/ns/activitystreams", "id": f"{MIRA}#early", "type": "Update",
                 "actor": MIRA, "object": MIRA}
        # Queued before the block:
        await enqueue_deliveries(early, site.mira, ["https://remote.example/inbox"])
        await domain_policy.block_domain("remote.example")
        await posts.create_post(site.instance.settings, site.mira, "new work, for my followers")
    await site.drain()
    assert posts_to(site, "remote.example") == []
    assert posts_to(site, "other.example") == ["https://other.example/inbox"]  # Bob still gets it
    assert site.requests_to("https://remote.example/") == []
    await site.assert_no_failed_jobs()  # the early delivery is dropped, not a dead job for the admins


async def test_nothing_is_fetched_from_a_suspended_domain(site: Site) -> None:
    site.fediverse.serve("https://remote.example/notes/1", note(EVE))
    with site.db():
        await domain_policy.block_domain("remote.example")
        federation = site.instance.federation
        for url in ("https://remote.example/notes/1", "https://sub.remote.example/users/x"):
            assert await resolve_url(federation, url, resolve=True) is None
    # An allowed server's activity pointing at the suspended domain's objects fetches nothing there either.
    boost = activity("Announce", BOB, "https://remote.example/notes/1", to=[PUBLIC])
    status, _ = await site.post(boost, key_id=BOB_KEY)
    assert status == 202
    await site.drain()
    assert [r.url for r in site.fediverse.requests if "remote.example" in r.url] == []
    await site.assert_no_failed_jobs()


# -- allow-list mode ---------------------------------------------------------------------------------------

async def test_allow_list_mode_refuses_others_both_ways(site: Site) -> None:
    await follower(site, EVE)
    await follower(site, BOB)
    with site.db():
        await domain_policy.set_allowlist_mode(True)
        await domain_policy.allow_domain("other.example")
    before = await site.snapshot()

    refused = create(EVE, note(EVE, "<p>not on the list</p>"))
    status, _ = await site.post(refused)
    assert status == 202
    await site.drain()
    assert site.fediverse.requests == []  # no key fetch, no actor fetch
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)

    allowed = create(BOB, note(BOB, "<p>on the list</p>"))
    assert (await site.post(allowed, key_id=BOB_KEY))[0] == 202
    await site.drain()
    assert await site.status(allowed["object"]["id"]) is not None

    site.fediverse.requests.clear()
    with site.db():
        await posts.create_post(site.instance.settings, site.mira, "for followers on listed servers")
        assert await resolve_url(site.instance.federation, "https://remote.example/users/someone",
                                 resolve=True) is None
    await site.drain()
    assert posts_to(site, "remote.example") == [] and site.requests_to("https://remote.example/") == []
    assert posts_to(site, "other.example") == ["https://other.example/inbox"]

    with site.db():  # turned off again: everyone not blocked federates
        await domain_policy.set_allowlist_mode(False)
    again = create(EVE, note(EVE, "<p>welcome back</p>"))
    assert (await site.post(again))[0] == 202
    await site.drain()
    assert await site.status(again["object"]["id"]) is not None


# -- silenced (limited) domain -----------------------------------------------------------------------------

async def test_a_new_actor_of_a_limited_domain_is_silenced_and_only_asks(site: Site) -> None:
    newbie = "https://remote.example/users/newbie"
    site.fediverse.serve(newbie, actor_document(newbie, site.eve_keys.public_pem))
    with site.db():
        block = await domain_policy.block_domain("remote.example", severity="silence")
        assert (await Account.get(uri=EVE)).silenced_at == block.created_at  # known already: marked now
    follow = activity("Follow", newbie, MIRA)
    assert (await site.post(follow, key_id=f"{newbie}#main-key"))[0] == 202
    await site.drain()
    with site.db():
        account = await Account.get(uri=newbie)
        assert account.silenced_at == block.created_at  # first seen after the block: marked on arrival
        assert not await Follow.filter(account_id=account.id).exists()
        assert await FollowRequest.filter(account_id=account.id, target_account_id=site.mira.id).exists()
        assert await Notification.filter(from_account_id=account.id, type="follow_request").exists()
    assert posts_to(site, "remote.example") == []  # no Accept: mira decides


# -- reject media ------------------------------------------------------------------------------------------

async def test_reject_media_never_fetches_the_images(site: Site) -> None:
    image = "https://remote.example/media/painting.png"
    site.fediverse.serve(image, b"\x89PNG not fetched anyway", content_type="image/png")
    with site.db():
        await DomainBlock.create(domain="remote.example", severity="noop", reject_media=True)
    painted = note(EVE, "<p>new painting</p>", attachment=[
        {"type": "Document", "mediaType": "image/png", "url": image, "name": "oil on canvas"}])
    assert (await site.post(create(EVE, painted)))[0] == 202
    await site.drain()
    stored = await site.status(painted["id"])
    assert stored is not None
    with site.db():
        [media] = await MediaAttachment.filter(status_id=stored.id)
    assert media.remote_url == image and media.files is None and media.description == "oil on canvas"
    assert site.requests_to(image) == []
    await site.assert_no_failed_jobs()


# -- user-level blocks -------------------------------------------------------------------------------------

async def test_a_blocked_account_neither_notifies_nor_reaches_timelines(site: Site) -> None:
    with site.db():
        eve = await Account.get(uri=EVE)
        await Follow.create(account=site.mira, target_account=eve)
        await relationships.block(site.instance.federation, site.mira, eve)
        mine = await posts.create_post(site.instance.settings, site.mira, "my new piece")
        user = await User.get(account_id=site.mira.id)
        mira = ApiUser(account=site.mira, user=user,
                       token=(await issue_token(None, user, ["read"])).access_token)
    site.fediverse.requests.clear()
    mention: dict[str, Any] = note(EVE, "<p>@mira look</p>", tag=[{"type": "Mention", "href": MIRA}],
                                   cc=[MIRA])
    reply = note(EVE, "<p>a reply</p>", inReplyTo=f"{MIRA}/statuses/{mine.id}", cc=[MIRA])
    for item in (mention, reply):
        assert (await site.post(create(EVE, item)))[0] == 202
    like = activity("Like", EVE, f"{MIRA}/statuses/{mine.id}")
    assert (await site.post(like))[0] == 202
    await site.drain()
    with site.db():
        assert await Status.filter(account_id=eve.id).count() == 2  # stored, as Mastodon stores them

    api = Api(site.session, "https://a.example")
    notifications = await api.get("/api/v1/notifications", mira)
    assert notifications.status == 200 and notifications.body == []
    for path in ("/api/v1/timelines/home", "/api/v1/timelines/public"):
        timeline = await api.get(path, mira)
        assert timeline.status == 200
        assert all(s["account"]["acct"] != "eve@remote.example" for s in timeline.body), path
    # Someone else still sees Eve's public posts: the block is mira's alone.
    public = await api.get("/api/v1/timelines/public")
    assert any(s["account"]["acct"] == "eve@remote.example" for s in public.body)
