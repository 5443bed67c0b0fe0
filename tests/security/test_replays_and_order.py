"""Replays, duplicates and out-of-order delivery (security.md items 20, 38, 39): the same activity twice,
sequentially or at the same moment, leaves one row and one notification; a Delete that overtakes its
Create wins."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from activitypub.signatures import sign_request
from cara_fed.federation.delivery import DELIVER_JOB
from cara_fed.federation.inbox import INBOX_JOB
from cara_fed.models import Favourite, Follow, Job, Mention, Notification, Status
from cara_fed.services import posts
from tests.security.conftest import (
    BOB, BOB_KEY, EVE, EVE_KEY, LOCAL, MIRA, PUBLIC, Site, activity, actor_document, create, note,
)


async def mira_post(site: Site) -> str:
    with site.db():
        post = await posts.create_post(site.instance.settings, site.mira, "a drawing")
    await site.drain()
    return f"{MIRA}/statuses/{post.id}"


def mentioning_note() -> dict[str, Any]:
    return note(EVE, '<p><span class="h-card">@mira</span> hi</p>',
                tag=[{"type": "Mention", "href": MIRA, "name": "@mira@a.example"}])


async def counts(site: Site) -> dict[str, int]:
    with site.db():
        return {
            "statuses": await Status.filter(account__uri=EVE).count(),
            "mentions": await Mention.filter(account_id=site.mira.id).count(),
            "follows": await Follow.filter(account__uri=EVE).count(),
            "favourites": await Favourite.filter(account__uri=EVE).count(),
            "notifications": await Notification.filter(account_id=site.mira.id).count(),
            "accepts": await Job.filter(kind=DELIVER_JOB).count(),
            "inbox jobs": await Job.filter(kind=INBOX_JOB).count(),
        }


KINDS: dict[str, tuple[Callable[[str], dict[str, Any]], dict[str, int]]] = {
    "Create mentioning Mira": (lambda post: create(EVE, mentioning_note()),
                               {"statuses": 1, "mentions": 1, "notifications": 1}),
    "Follow of Mira": (lambda post: activity("Follow", EVE, MIRA),
                       {"follows": 1, "notifications": 1, "accepts": 1}),
    "Like of Mira's post": (lambda post: activity("Like", EVE, post), {"favourites": 1, "notifications": 1}),
}


@pytest.mark.parametrize("kind", list(KINDS), ids=list(KINDS))
@pytest.mark.parametrize("timing", ["one after the other", "at the same moment", "re-signed later"])
async def test_the_same_activity_twice_leaves_one_row_and_one_notification(site: Site, kind: str,
                                                                           timing: str) -> None:
    post = await mira_post(site)
    make, expected = KINDS[kind]
    body = make(post)
    raw = orjson.dumps(body)
    start = await counts(site)

    def signed() -> dict[str, str]:
        return sign_request("POST", f"{LOCAL}/inbox", {"Content-Type": "application/activity+json"}, raw,
                            EVE_KEY, site.eve_keys.private_pem)

    if timing == "at the same moment":
        headers = signed()
        answers = await asyncio.gather(*(site.raw_post(f"{LOCAL}/inbox", raw, headers) for _ in range(4)))
    elif timing == "one after the other":
        headers = signed()
        answers = [await site.raw_post(f"{LOCAL}/inbox", raw, headers) for _ in range(2)]
    else:  # the sender retried: a new Date and signature, the same activity id; jobs ran in between
        answers = [await site.raw_post(f"{LOCAL}/inbox", raw, signed())]
        await site.drain()
        answers.append(await site.raw_post(f"{LOCAL}/inbox", raw, signed()))
    assert [status for status, _ in answers] == [202] * len(answers)
    await site.drain()

    end = await counts(site)
    grown = {name: end[name] - start[name] for name in end if end[name] != start[name]}
    assert grown == {**expected, "inbox jobs": 1}
    await site.assert_no_failed_jobs()


async def test_a_follow_repeated_with_a_new_id_re_sends_the_accept_only(site: Site) -> None:
    """security.md item 38: 'duplicate Follow re-sends Accept only' (the first Accept may have been lost)."""
    for _ in range(2):
        assert (await site.post(activity("Follow", EVE, MIRA)))[0] == 202
        await site.drain()
    now = await counts(site)
    assert (now["follows"], now["notifications"], now["accepts"]) == (1, 1, 2)
    assert [r.json()["type"] for r in site.fediverse.posts_to(f"{EVE}/inbox")] == ["Accept", "Accept"]


async def test_a_like_repeated_with_a_new_id_is_one_favourite(site: Site) -> None:
    post = await mira_post(site)
    for _ in range(2):
        assert (await site.post(activity("Like", EVE, post)))[0] == 202
        await site.drain()
    now = await counts(site)
    assert (now["favourites"], now["notifications"]) == (1, 1)


async def test_one_note_in_two_creates_at_the_same_moment_is_stored_once(site: Site) -> None:
    """Two Create activities (two ids: both pass the inbox) carrying one note, processed concurrently."""
    shared = mentioning_note()
    bodies = [create(EVE, shared), create(EVE, shared)]
    answers = await asyncio.gather(*(site.post(body) for body in bodies))
    assert [status for status, _ in answers] == [202, 202]
    await site.drain()
    now = await counts(site)
    assert (now["statuses"], now["mentions"], now["notifications"]) == (1, 1, 1)


# -- item 39: out of order ---------------------------------------------------------------------------------


@pytest.mark.parametrize("deleted", ["by id", "as a Tombstone"])
async def test_a_delete_that_arrives_before_its_create_wins(site: Site, deleted: str) -> None:
    late = mentioning_note()
    target: Any = late["id"] if deleted == "by id" else {"id": late["id"], "type": "Tombstone"}
    assert (await site.post(activity("Delete", EVE, target)))[0] == 202
    await site.drain()
    assert (await site.post(create(EVE, late)))[0] == 202
    await site.drain()
    stored = await site.status(late["id"])
    assert stored is not None and stored.deleted_at is not None and stored.content == ""
    with site.db():
        assert await Mention.filter(status_id=stored.id).count() == 0
        assert await Notification.filter(account_id=site.mira.id).count() == 0
    await site.assert_no_failed_jobs()


async def test_eve_cannot_delete_bobs_note_before_it_arrives(site: Site) -> None:
    """A pre-emptive Delete only counts on the sender's own origin: Bob's note still arrives."""
    bobs = note(BOB, "<p>mine</p>")
    assert (await site.post(activity("Delete", EVE, bobs["id"])))[0] == 202
    await site.drain()
    assert (await site.post(create(BOB, bobs), key_id=BOB_KEY))[0] == 202
    await site.drain()
    stored = await site.status(bobs["id"])
    assert stored is not None and stored.deleted_at is None and stored.content == "<p>mine</p>"


async def test_an_update_that_arrives_before_its_create_is_ignored(site: Site) -> None:
    late = note(EVE, "<p>first version</p>")
    assert (await site.post(activity("Update", EVE, {**late, "content": "<p>edited</p>"})))[0] == 202
    await site.drain()
    assert await site.status(late["id"]) is None
    assert (await site.post(create(EVE, late)))[0] == 202
    await site.drain()
    stored = await site.status(late["id"])
    assert stored is not None and stored.content == "<p>first version</p>"


async def test_an_undo_follow_that_arrives_before_its_follow_wins(site: Site) -> None:
    """security.md item 39: the late Follow is ignored (an activity tombstone remembers the Undo)."""
    follow = activity("Follow", EVE, MIRA)
    assert (await site.post(activity("Undo", EVE, follow)))[0] == 202
    await site.drain()
    assert (await site.post(follow))[0] == 202
    await site.drain()
    now = await counts(site)
    assert (now["follows"], now["notifications"], now["accepts"]) == (0, 0, 0)
    await site.assert_no_failed_jobs()


async def test_an_undo_like_that_arrives_before_its_like_is_not_remembered(site: Site) -> None:
    """Documented behaviour: security.md item 39 would leave the undone Like out (Mastodon's
    ``delete_later!``); cara_fed remembers only Undo{Follow}, so the late Like is stored. Eve can Undo
    again."""
    like = activity("Like", EVE, await mira_post(site))
    assert (await site.post(activity("Undo", EVE, like)))[0] == 202
    await site.drain()
    assert (await site.post(like))[0] == 202
    await site.drain()
    with site.db():
        assert await Favourite.exists(uri=like["id"])  # what happens today
    await site.assert_no_failed_jobs()


@pytest.mark.parametrize("undone", ["by id", "embedded"])
async def test_eve_cannot_undo_bobs_follow_before_it_arrives(site: Site, undone: str) -> None:
    """Pre-emptive Undo only counts on the sender's own origin: Bob's Follow still arrives."""
    follow = activity("Follow", BOB, MIRA)
    inner: Any = follow["id"] if undone == "by id" else {"id": follow["id"], "type": "Follow", "object": MIRA}
    assert (await site.post(activity("Undo", EVE, inner)))[0] == 202
    await site.drain()
    assert (await site.post(follow, key_id=BOB_KEY))[0] == 202
    await site.drain()
    with site.db():
        assert await Follow.exists(uri=follow["id"], account__uri=BOB)


MALLORY = "https://other.example/users/mallory"


@pytest.mark.parametrize("what", ["Follow", "note"])
async def test_mallory_on_bobs_server_cannot_pre_empt_bobs_activity(site: Site, what: str) -> None:
    site.fediverse.serve(MALLORY, actor_document(MALLORY, site.eve_keys.public_pem))
    follow, bobs_note = activity("Follow", BOB, MIRA), note(BOB, "<p>mine</p>")
    pre_empt = activity("Undo", MALLORY, follow["id"]) if what == "Follow" else \
        activity("Delete", MALLORY, bobs_note["id"])
    status, _ = await site.post(pre_empt, key_id=f"{MALLORY}#main-key", private_pem=site.eve_keys.private_pem)
    assert status == 202
    await site.drain()
    genuine = follow if what == "Follow" else create(BOB, bobs_note)
    assert (await site.post(genuine, key_id=BOB_KEY))[0] == 202
    await site.drain()
    with site.db():
        if what == "Follow":
            assert await Follow.exists(uri=follow["id"], account__uri=BOB)
        else:
            assert await Status.exists(uri=bobs_note["id"], account__uri=BOB, deleted_at=None)


@pytest.mark.parametrize("how", ["Create", "Update"])
async def test_the_author_cannot_widen_a_stored_post_by_sending_it_again(site: Site, how: str) -> None:
    """security.md item 3 (CVE-2024-37903): even the author's second Create or an Update with a public
    audience leaves a followers-only post followers-only, and notifies nobody new."""
    quiet = note(EVE, "<p>followers only</p>", to=[f"{EVE}/followers"])
    assert (await site.post(create(EVE, quiet)))[0] == 202
    await site.drain()
    widened = {**quiet, "to": [PUBLIC], "cc": [MIRA],
               "tag": [{"type": "Mention", "href": MIRA, "name": "@mira@a.example"}]}
    body = create(EVE, widened) if how == "Create" else activity("Update", EVE, widened)
    assert (await site.post(body))[0] == 202
    await site.drain()
    stored = await site.status(quiet["id"])
    assert stored is not None and stored.visibility == "private"
    with site.db():
        assert await Notification.filter(account_id=site.mira.id).count() == 0
        assert await Mention.filter(status_id=stored.id).count() == 0
