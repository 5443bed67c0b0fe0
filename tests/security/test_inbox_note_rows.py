"""What a stored remote post is made of, row by row (handlers/notes.py writes them with raw SQL through
federation/note_rows.py): mentions with their notifications, hashtags, replies, attachments with their
cache jobs; and the stored sender (federation/stored_actors.py) follows its row at once when another
process changes it."""

from __future__ import annotations

from datetime import UTC, datetime

from cara_fed.federation.handlers.notes import REMOTE_MEDIA_CACHE_JOB
from cara_fed.models import Account, Job, MediaAttachment, Mention, Notification, Status, Tag
from cara_fed.services import posts
from tests.security.conftest import BOB, BOB_KEY, EVE, MIRA, PUBLIC, Site, activity, create, note


async def stored(site: Site, uri: str) -> Status:
    with site.db():
        status = await Status.filter(uri=uri).prefetch_related("tags", "mentions").first()
    assert status is not None, f"{uri} was not stored"
    return status


async def test_a_mention_of_two_locals_and_an_unknown_name_notifies_each_local_once(site: Site) -> None:
    ada = await site.instance.user("ada")
    post = note(EVE, "<p>@mira @ada @nobody</p>", tag=[
        {"type": "Mention", "href": MIRA, "name": "@mira@a.example"},
        {"type": "Mention", "href": "https://a.example/@ada", "name": "@ada@a.example"},
        {"type": "Mention", "href": MIRA, "name": "@mira@a.example"},  # twice: one mention all the same
        {"type": "Mention", "href": "https://a.example/users/nobody", "name": "@nobody@a.example"},
        {"type": "Mention", "href": "https://remote.example/users/carol", "name": "@carol@remote.example"},
    ])
    assert (await site.post(create(EVE, post)))[0] == 202
    await site.drain()
    status = await stored(site, post["id"])
    with site.db():
        mentioned = set(await Mention.filter(status_id=status.id).values_list("account_id", flat=True))
        notified = await Notification.filter(status_id=status.id).values_list("account_id", "type",
                                                                              "from_account_id")
        eve = await Account.get(uri=EVE)
    assert mentioned == {site.mira.id, ada.id}
    assert sorted(notified) == sorted([(site.mira.id, "mention", eve.id), (ada.id, "mention", eve.id)])
    assert status.account_id == eve.id and not status.local and status.visibility == "public"
    await site.assert_no_failed_jobs()


async def test_hashtags_are_created_once_and_linked(site: Site) -> None:
    first = note(EVE, "<p>#Ink #ink #Paper</p>", tag=[
        {"type": "Hashtag", "name": "#Ink", "href": "https://remote.example/tags/ink"},
        {"type": "Hashtag", "name": "#ink", "href": "https://remote.example/tags/ink"},
        {"type": "Hashtag", "name": "#Paper", "href": "https://remote.example/tags/paper"},
        {"type": "Hashtag", "name": "#not a tag!", "href": "https://remote.example/tags/x"},
    ])
    second = note(EVE, "<p>#ink again</p>", tag=[{"type": "Hashtag", "name": "#INK"}])
    for post in (first, second):
        assert (await site.post(create(EVE, post)))[0] == 202
        await site.drain()
    one, two = await stored(site, first["id"]), await stored(site, second["id"])
    assert sorted(t.name for t in one.tags) == ["ink", "paper"]
    assert [t.name for t in two.tags] == ["ink"]
    with site.db():
        assert await Tag.filter(name="ink").count() == 1
    await site.assert_no_failed_jobs()


async def test_a_reply_points_at_the_local_or_remote_post_it_answers(site: Site) -> None:
    with site.db():
        mine = await posts.create_post(site.instance.settings, site.mira, "a drawing")
    await site.drain()
    to_mine = note(EVE, "<p>nice</p>", inReplyTo=f"{MIRA}/statuses/{mine.id}", cc=[MIRA])
    assert (await site.post(create(EVE, to_mine)))[0] == 202
    await site.drain()
    to_reply = note(EVE, "<p>and more</p>", inReplyTo=to_mine["id"])
    unknown = note(EVE, "<p>to an unknown post</p>", inReplyTo="https://remote.example/notes/unknown")
    for post in (to_reply, unknown):
        assert (await site.post(create(EVE, post)))[0] == 202
    await site.drain()
    first, second, third = [await stored(site, p["id"]) for p in (to_mine, to_reply, unknown)]
    with site.db():
        eve = await Account.get(uri=EVE)
    assert (first.in_reply_to_id, first.in_reply_to_account_id) == (mine.id, site.mira.id)
    assert (second.in_reply_to_id, second.in_reply_to_account_id) == (first.id, eve.id)
    assert (third.in_reply_to_id, third.in_reply_to_account_id) == (None, None)
    await site.assert_no_failed_jobs()


async def test_attachments_are_stored_in_order_and_images_queued_for_the_cache(site: Site) -> None:
    post = note(EVE, "<p>two images</p>", attachment=[
        {"type": "Document", "mediaType": "image/png", "url": "https://remote.example/media/1.png",
         "name": "first", "width": 10, "height": 20, "focalPoint": [0.5, 2]},
        {"type": "Document", "mediaType": "video/mp4", "url": "https://remote.example/media/2.mp4"},
        {"type": "Image", "url": "https://remote.example/media/3.jpg", "blurhash": "LEHV6nWB2yk8pyo0adR*.7kCMdnj"},
    ])
    assert (await site.post(create(EVE, post)))[0] == 202
    await site.drain()
    status = await stored(site, post["id"])
    with site.db():
        media = await MediaAttachment.filter(status_id=status.id).order_by("position")
        jobs = await Job.filter(kind=REMOTE_MEDIA_CACHE_JOB).values_list("payload", flat=True)
    assert [(m.position, m.type, m.remote_url) for m in media] == [
        (0, "image", "https://remote.example/media/1.png"), (1, "unknown", "https://remote.example/media/2.mp4"),
        (2, "image", "https://remote.example/media/3.jpg")]
    assert (media[0].description, media[0].focus_x, media[0].focus_y) == ("first", 0.5, 1.0)
    assert media[2].blurhash == "LEHV6nWB2yk8pyo0adR*.7kCMdnj"
    assert sorted(p["media_id"] for p in jobs) == sorted([media[0].id, media[2].id])


async def test_a_placeholder_left_by_another_account_of_the_server_does_not_hide_the_post(site: Site) -> None:
    """A Delete from Eve's server-mate of a post of their origin, before its Create, leaves a tombstone row
    (on_delete); Eve's own Create voids it, since nobody deletes another account's post."""
    mate = "https://remote.example/users/mallory"
    post = note(EVE, "<p>mine</p>")
    # The tombstone as on_delete leaves it for an unknown uri of the sender's origin.
    with site.db():
        eve = await Account.get(uri=EVE)
        fake = await Account.create(username="mallory", domain="remote.example", acct_key="mallory@remote.example",
                                    uri=mate, last_fetched_at=datetime.now(UTC))
        await Status.create(account=fake, uri=post["id"], local=False, deleted_at=datetime.now(UTC),
                            visibility="direct")
    assert (await site.post(create(EVE, post)))[0] == 202
    await site.drain()
    status = await stored(site, post["id"])
    assert status.deleted_at is None and status.account_id == eve.id and "mine" in status.content
    await site.assert_no_failed_jobs()


async def test_the_stored_sender_follows_its_row(site: Site) -> None:
    """The worker keeps the sender's Account object between activities only while its row is unchanged:
    a suspension written by another process (here: straight to the table) applies to the next activity."""
    first, second = note(EVE, "<p>before</p>"), note(EVE, "<p>after</p>")
    assert (await site.post(create(EVE, first)))[0] == 202
    await site.drain()
    await stored(site, first["id"])
    with site.db():
        await Account.filter(uri=EVE).update(suspended_at=datetime.now(UTC))
    assert (await site.post(create(EVE, second)))[0] == 202
    await site.drain()
    assert await site.status(second["id"]) is None


async def test_an_update_of_the_sender_then_its_post_use_the_new_row(site: Site) -> None:
    """An Update of the actor changes the row (followers collection here); the next Create reads the
    visibility against the new followers URL, not the cached one."""
    followers = "https://remote.example/users/eve/new-followers"
    with site.db():
        eve = await Account.get(uri=EVE)
        profile = {"id": EVE, "type": "Person", "preferredUsername": "eve", "inbox": eve.inbox_url,
                   "followers": followers,
                   "publicKey": {"id": eve.key_id, "owner": EVE, "publicKeyPem": eve.public_key_pem}}
    warm = note(EVE, "<p>warm the cache</p>")
    assert (await site.post(create(EVE, warm)))[0] == 202
    await site.drain()
    assert (await site.post(activity("Update", EVE, profile, to=[PUBLIC])))[0] == 202
    await site.drain()
    private = note(EVE, "<p>followers only</p>", to=[followers])
    assert (await site.post(create(EVE, private)))[0] == 202
    await site.drain()
    assert (await stored(site, private["id"])).visibility == "private"
    await site.assert_no_failed_jobs()


async def test_bob_creates_with_his_key_are_his(site: Site) -> None:
    post = note(BOB, "<p>from another server</p>")
    assert (await site.post(create(BOB, post), key_id=BOB_KEY))[0] == 202
    await site.drain()
    status = await stored(site, post["id"])
    with site.db():
        assert (await Account.get(id=status.account_id)).uri == BOB
