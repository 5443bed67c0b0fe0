"""Origin, ownership and identity (security.md A2-A9, A20): validly signed activities that act on what the
sender does not own. The inbox accepts them (202: they are authentic) and the handlers must change nothing.

The world each test starts from: Mira (local) has a public, a followers-only and a direct post, follows
Eve and waits for Bob to accept her follow request; Bob (other.example) follows Mira, wrote a
followers-only note, liked and boosted Mira's public post. The
attackers are Eve (remote.example) and Mallory (other.example: Bob's own origin, so origin checks alone do
not stop her; ownership checks must).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from cara_fed.models import Account, Favourite, Follow, FollowRequest, Status
from cara_fed.services import following, posts
from tests.security.conftest import (
    BOB, BOB_KEY, EVE, EVE_KEY, LOCAL, MIRA, PUBLIC, Site, activity, actor_document, create, new_id, note,
)

MALLORY = "https://other.example/users/mallory"
MALLORY_KEY = f"{MALLORY}#main-key"


@dataclass(frozen=True)
class World:
    public_post: str
    private_post: str
    direct_post: str
    bob_note: str
    bob_follow: str
    bob_like: str
    bob_boost: str
    mira_request_to_bob: str


async def send(site: Site, sender: str, body: dict[str, Any]) -> int:
    key_id = {EVE: EVE_KEY, MALLORY: MALLORY_KEY, BOB: BOB_KEY}[sender]
    pem = site.bob_keys.private_pem if sender == BOB else site.eve_keys.private_pem
    status, _ = await site.post(body, key_id=key_id, private_pem=pem)
    return status


@pytest.fixture
async def world(site: Site) -> World:
    site.fediverse.serve(MALLORY, actor_document(MALLORY, site.eve_keys.public_pem))
    with site.db():
        await site.instance.federation.actors.get_actor(MALLORY)
    # Mira follows Eve (accepted) and asks to follow Bob (pending); Bob follows Mira; then Mira posts.
    with site.db():
        to_eve = await following.follow(site.instance.federation, site.mira, await Account.get(uri=EVE))
        to_bob = await following.follow(site.instance.federation, site.mira, await Account.get(uri=BOB))
    accept = activity("Accept", EVE, {"id": to_eve.uri, "type": "Follow", "actor": MIRA, "object": EVE})
    follow = activity("Follow", BOB, MIRA)
    assert await send(site, EVE, accept) == 202
    assert await send(site, BOB, follow) == 202
    await site.drain()
    with site.db():
        public = await posts.create_post(site.instance.settings, site.mira, "public work")
        settings = site.instance.settings
        private = await posts.create_post(settings, site.mira, "for followers", visibility="private")
        direct = await posts.create_post(settings, site.mira, "just for me", visibility="direct")
    public_uri = f"{MIRA}/statuses/{public.id}"
    bob_note = note(BOB, "<p>for my followers</p>", to=[f"{BOB}/followers"])
    site.fediverse.serve(bob_note["id"], {"@context": "https://www.w3.org/ns/activitystreams", **bob_note})
    like = activity("Like", BOB, public_uri)
    boost = activity("Announce", BOB, public_uri, to=[PUBLIC], cc=[f"{BOB}/followers"])
    for legit in (create(BOB, bob_note), like, boost):
        assert await send(site, BOB, legit) == 202
    await site.drain()
    with site.db():  # the world is as described
        assert (await Status.get(uri=bob_note["id"])).visibility == "private"
        assert await Follow.exists(uri=follow["id"])
        assert await Favourite.exists(uri=like["id"])
        assert await Status.exists(uri=boost["id"], reblog_of_id=public.id)
        assert await Follow.exists(account_id=site.mira.id, target_account__uri=EVE)
        assert await FollowRequest.exists(uri=to_bob.uri, target_account__uri=BOB)
    site.fediverse.requests.clear()
    return World(public_post=public_uri, private_post=f"{MIRA}/statuses/{private.id}",
                 direct_post=f"{MIRA}/statuses/{direct.id}", bob_note=bob_note["id"], bob_follow=follow["id"],
                 bob_like=like["id"], bob_boost=boost["id"], mira_request_to_bob=to_bob.uri or "")


def bob_person(**changes: Any) -> dict[str, Any]:
    return {"id": BOB, "type": "Person", "preferredUsername": "bob", "name": "Bob", "inbox": f"{BOB}/inbox",
            "publicKey": {"id": "https://other.example/users/bob#main-key", "owner": BOB,
                          "publicKeyPem": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"},
            **changes}


Attack = Callable[[World], tuple[str, dict[str, Any]]]

ATTACKS: dict[str, Attack] = {
    # item 2: the object must share the actor's origin
    "Create of an unknown note on Bob's host, attributed to Eve": lambda w: (EVE, create(EVE, note(
        EVE, note_id="https://other.example/notes/unknown"))),
    "Create of an unknown note on Bob's host, attributed to Bob": lambda w: (EVE, create(EVE, note(
        BOB, note_id="https://other.example/notes/unknown"))),
    "Create of a note on Eve's host attributed to Bob": lambda w: (EVE, create(EVE, note(
        BOB, note_id="https://remote.example/notes/for-bob"))),
    "Create by reference to an unknown note on Bob's host": lambda w: (EVE, activity(
        "Create", EVE, "https://other.example/notes/unknown")),
    # item 3: re-using Bob's note id with a wider audience, and Updates of what is not yours
    "Create re-using Bob's note id, attributed to Bob, public": lambda w: (EVE, create(EVE, note(
        BOB, "<p>now public</p>", note_id=w.bob_note))),
    "Create re-using Bob's note id, attributed to Eve, public": lambda w: (EVE, create(EVE, note(
        EVE, "<p>now public</p>", note_id=w.bob_note))),
    "Create re-using Bob's note id by Mallory (same origin)": lambda w: (MALLORY, create(MALLORY, note(
        MALLORY, "<p>now public</p>", note_id=w.bob_note))),
    "Update of Bob's note by Eve": lambda w: (EVE, activity("Update", EVE, note(
        BOB, "<p>edited</p>", note_id=w.bob_note))),
    "Update of Bob's note by Mallory (same origin)": lambda w: (MALLORY, activity("Update", MALLORY, note(
        MALLORY, "<p>edited</p>", note_id=w.bob_note))),
    "Update of Bob's profile by Eve": lambda w: (EVE, activity("Update", EVE, bob_person(name="Hacked"))),
    "Update of Bob's profile by Mallory (same origin)": lambda w: (MALLORY, activity(
        "Update", MALLORY, bob_person(name="Hacked"))),
    "Update of Mira's profile by Eve": lambda w: (EVE, activity("Update", EVE, {
        "id": MIRA, "type": "Person", "name": "Hacked", "inbox": f"{MIRA}/inbox"})),
    "Update of Mira's public post by Eve": lambda w: (EVE, activity("Update", EVE, note(
        MIRA, "<p>edited</p>", note_id=w.public_post))),
    "Announce of Mira's followers-only post": lambda w: (EVE, activity("Announce", EVE, w.private_post,
                                                                       to=[PUBLIC])),
    "Announce of Mira's direct post": lambda w: (EVE, activity("Announce", EVE, w.direct_post, to=[PUBLIC])),
    "Announce of Bob's followers-only note": lambda w: (EVE, activity("Announce", EVE, w.bob_note,
                                                                      to=[PUBLIC])),
    # item 4: only the owner may Delete / Undo
    "Delete of Bob's note by Eve": lambda w: (EVE, activity("Delete", EVE, w.bob_note)),
    "Delete of Bob's note as a Tombstone by Eve": lambda w: (EVE, activity(
        "Delete", EVE, {"id": w.bob_note, "type": "Tombstone"})),
    "Delete of Bob's note by Mallory (same origin)": lambda w: (MALLORY, activity(
        "Delete", MALLORY, w.bob_note)),
    "Delete of Bob by Eve": lambda w: (EVE, activity("Delete", EVE, BOB)),
    "Delete of Mira by Eve": lambda w: (EVE, activity("Delete", EVE, MIRA)),
    "Delete of Mira's post by Eve": lambda w: (EVE, activity("Delete", EVE, w.public_post)),
    "Delete of Bob's boost by Eve": lambda w: (EVE, activity("Delete", EVE, w.bob_boost)),
    "Undo of Bob's Follow (embedded, Bob as actor) by Eve": lambda w: (EVE, activity("Undo", EVE, {
        "id": w.bob_follow, "type": "Follow", "actor": BOB, "object": MIRA})),
    "Undo of Bob's Follow (embedded, no actor) by Eve": lambda w: (EVE, activity("Undo", EVE, {
        "id": w.bob_follow, "type": "Follow", "object": MIRA})),
    "Undo of Bob's Follow (by id) by Eve": lambda w: (EVE, activity("Undo", EVE, w.bob_follow)),
    "Undo of Bob's Follow (embedded) by Mallory (same origin)": lambda w: (MALLORY, activity(
        "Undo", MALLORY, {"id": w.bob_follow, "type": "Follow", "actor": BOB, "object": MIRA})),
    "Undo of Bob's Like, inner actor Bob": lambda w: (EVE, activity("Undo", EVE, {
        "id": w.bob_like, "type": "Like", "actor": BOB, "object": w.public_post})),
    "Undo of Bob's Like, no inner actor": lambda w: (EVE, activity("Undo", EVE, {
        "id": w.bob_like, "type": "Like", "object": w.public_post})),
    "Undo of Bob's Like by id": lambda w: (EVE, activity("Undo", EVE, w.bob_like)),
    "Undo of Bob's Announce, inner actor Bob": lambda w: (EVE, activity("Undo", EVE, {
        "id": w.bob_boost, "type": "Announce", "actor": BOB, "object": w.public_post})),
    "Undo of Bob's Announce by id": lambda w: (EVE, activity("Undo", EVE, w.bob_boost)),
    "Reject of Bob's Follow by Eve": lambda w: (EVE, activity("Reject", EVE, w.bob_follow)),
    "Accept of a follow nobody asked Eve for": lambda w: (EVE, activity("Accept", EVE, {
        "id": f"{LOCAL}/follows/1", "type": "Follow", "actor": MIRA, "object": EVE})),
    "Accept of Mira's request to Bob, by Eve": lambda w: (EVE, activity("Accept", EVE, {
        "id": w.mira_request_to_bob, "type": "Follow", "actor": MIRA, "object": BOB})),
    "Accept of Mira's request to Bob by id, by Eve": lambda w: (EVE, activity(
        "Accept", EVE, w.mira_request_to_bob)),
    "Accept of Mira's request to Bob, by Mallory (same origin)": lambda w: (MALLORY, activity(
        "Accept", MALLORY, {"id": w.mira_request_to_bob, "type": "Follow", "actor": MIRA, "object": BOB})),
    "Reject of Mira's request to Bob, by Eve": lambda w: (EVE, activity(
        "Reject", EVE, w.mira_request_to_bob)),
    "Reject of Mira's request to Bob, by Mallory (same origin)": lambda w: (MALLORY, activity(
        "Reject", MALLORY, {"id": w.mira_request_to_bob, "type": "Follow", "actor": MIRA, "object": BOB})),
    "Move of Bob by Eve": lambda w: (EVE, activity("Move", EVE, BOB, target=EVE)),
    "Move of Eve to Bob, who does not vouch for her": lambda w: (EVE, activity("Move", EVE, EVE, target=BOB)),
    "Block of Bob's follow target by Eve": lambda w: (EVE, activity("Block", EVE, BOB)),
    "Remove of Bob's note from Bob's featured by Eve": lambda w: (EVE, activity(
        "Remove", EVE, w.bob_note, target=f"{BOB}/collections/featured")),
    # item 9: remote objects claiming to be local
    "Create of a note with a local id, attributed to Mira": lambda w: (EVE, create(EVE, note(
        MIRA, note_id=f"{MIRA}/statuses/99999"))),
    "Create re-using Mira's post id, attributed to Eve": lambda w: (EVE, create(EVE, note(
        EVE, "<p>hijacked</p>", note_id=w.public_post))),
    "Create of a note on Eve's host attributed to Mira": lambda w: (EVE, create(EVE, note(
        MIRA, note_id="https://remote.example/notes/by-mira"))),
}


@pytest.mark.parametrize("attack", list(ATTACKS.values()), ids=list(ATTACKS))
async def test_an_authentic_activity_on_what_the_sender_does_not_own_changes_nothing(
        site: Site, world: World, attack: Attack) -> None:
    sender, body = attack(world)
    before = await site.snapshot()
    assert await send(site, sender, body) == 202
    await site.drain()
    await site.assert_unchanged(before)


async def test_a_delete_of_bob_by_mallory_leaves_bob_and_his_posts(site: Site, world: World) -> None:
    """Same origin, so the Delete of an id Mallory does not own is taken as 'Delete before Create' of an
    object of her host (security.md item 39): at most a tombstone under Mallory's name, as Mastodon's
    ``Tombstone.find_or_create_by(uri:, account:)``. Bob, his note and his follow stay."""
    before = await site.snapshot()
    assert await send(site, MALLORY, activity("Delete", MALLORY, BOB)) == 202
    await site.drain()
    with site.db():
        mallory = await Account.get(uri=MALLORY)
        tombstones = await Status.filter(uri=BOB).values("id", "account_id", "deleted_at")
    assert all(t["account_id"] == mallory.id and t["deleted_at"] is not None for t in tombstones)
    await site.assert_unchanged(before, ignore={"statuses": [t["id"] for t in tombstones]})


async def test_a_move_to_a_local_account_changes_nothing_and_does_not_fail(site: Site, world: World) -> None:
    """security.md item 9: Eve (whom Mira follows) 'moves' to Mira."""
    before = await site.snapshot()
    assert await send(site, EVE, activity("Move", EVE, EVE, target=MIRA)) == 202
    await site.drain()
    await site.assert_unchanged(before)


async def test_a_remote_note_claiming_a_local_author_served_by_its_origin_is_refused(site: Site) -> None:
    """security.md item 9: the document really is at remote.example, but says Mira wrote it."""
    forged = note(MIRA, "<p>I never wrote this</p>", note_id="https://remote.example/notes/impostor")
    site.fediverse.serve(forged["id"], forged)
    before = await site.snapshot()
    assert await send(site, EVE, activity("Announce", EVE, forged["id"], to=[PUBLIC])) == 202
    assert await send(site, EVE, create(EVE, forged)) == 202
    await site.drain()
    await site.assert_unchanged(before)


async def test_a_remote_key_document_naming_a_local_owner_gets_401(site: Site) -> None:
    """security.md items 9 and 11: a key document at remote.example whose ``owner`` is Mira."""
    key_url = "https://remote.example/keys/k1"
    site.fediverse.serve(key_url, {"id": key_url, "type": "Key", "owner": MIRA,
                                   "publicKeyPem": site.eve_keys.public_pem})
    before = await site.snapshot()
    status, _ = await site.post(create(MIRA, note(MIRA)), key_id=key_url)
    assert status == 401
    await site.drain()
    await site.assert_unchanged(before)


INVALID_KEY_DOCUMENTS: dict[str, dict[str, Any]] = {
    "its id is a local actor's (items 6 and 9)": {"body": {"id": MIRA, "type": "Person"}},
    "its id is another remote URL (item 6)": {"body": {"id": "https://remote.example/keys/k2",
                                                       "type": "Key"}},
    "served as text/html (item 7)": {"content_type": "text/html"},
}


@pytest.mark.parametrize("served", list(INVALID_KEY_DOCUMENTS.values()), ids=list(INVALID_KEY_DOCUMENTS))
async def test_an_invalid_key_document_gets_401_not_503(site: Site, served: dict[str, Any]) -> None:
    key_url = "https://remote.example/keys/k1"
    body = {"id": key_url, "type": "Key", "owner": EVE, **served.get("body", {}),
            "publicKeyPem": site.eve_keys.public_pem}
    site.fediverse.serve(key_url, body, content_type=served.get("content_type", "application/activity+json"))
    before = await site.snapshot()
    status, _ = await site.post(create(EVE, note(EVE)), key_id=key_url)
    await site.drain()
    await site.assert_unchanged(before)  # nothing stored either way
    assert status == 401


# -- item 5 (and 6, 7): forwarded objects come from their origin ---------------------------------------------

ORIGINAL = "<p>the original</p>"
ALTERED = "<p>ALTERED by Eve</p>"


def bobs_public_note() -> dict[str, Any]:
    return note(BOB, ORIGINAL, note_id=new_id(BOB, "notes"))


@pytest.mark.parametrize("how", ["Create", "Announce"])
async def test_a_forwarded_note_is_stored_as_its_origin_serves_it(site: Site, how: str) -> None:
    original = bobs_public_note()
    site.fediverse.serve(original["id"], original)
    altered = {**original, "content": ALTERED}
    body = create(EVE, altered) if how == "Create" else activity("Announce", EVE, altered, to=[PUBLIC])
    assert await send(site, EVE, body) == 202
    await site.drain()
    with site.db():
        stored = await Status.get(uri=original["id"]).select_related("account")
    assert stored.content == ORIGINAL and stored.account.uri == BOB
    assert site.requests_to(original["id"]) == [original["id"]]
    await site.assert_no_failed_jobs()


ORIGIN_FAILURES: dict[str, Callable[[Site, dict[str, Any]], None]] = {
    "origin answers 404": lambda site, doc: None,
    "origin answers 410": lambda site, doc: site.fediverse.serve(
        doc["id"], {"id": doc["id"], "type": "Tombstone"}, status=410),
    "origin answers 500": lambda site, doc: site.fediverse.serve(doc["id"], {}, status=500),
    "origin copy has another id (item 6)": lambda site, doc: site.fediverse.serve(
        doc["id"], {**doc, "id": doc["id"] + "-other"}),
    "origin redirects to Eve's host (item 6)": lambda site, doc: (
        site.fediverse.serve(doc["id"], "", status=302, headers={"Location": "https://remote.example/copy"}),
        site.fediverse.serve("https://remote.example/copy", {**doc, "content": ALTERED})),
    "origin copy served as application/json (item 7)": lambda site, doc: site.fediverse.serve(
        doc["id"], doc, content_type="application/json"),
    "origin copy served as text/html (item 7)": lambda site, doc: site.fediverse.serve(
        doc["id"], doc, content_type="text/html"),
    "origin copy attributed to Eve": lambda site, doc: site.fediverse.serve(
        doc["id"], {**doc, "attributedTo": EVE}),
}


@pytest.mark.parametrize("failure", list(ORIGIN_FAILURES.values()), ids=list(ORIGIN_FAILURES))
@pytest.mark.parametrize("how", ["Create", "Announce"])
async def test_a_forwarded_note_whose_origin_copy_fails_is_not_stored(site: Site, failure: Any,
                                                                      how: str) -> None:
    original = bobs_public_note()
    failure(site, original)
    altered = {**original, "content": ALTERED}
    body = create(EVE, altered) if how == "Create" else activity("Announce", EVE, altered, to=[PUBLIC])
    before = await site.snapshot()
    assert await send(site, EVE, body) == 202
    await site.drain()
    await site.assert_unchanged(before)


# -- item 20: ids on another origin are not the sender's to take ------------------------------------------


SQUATS: dict[str, Callable[[], tuple[dict[str, Any], dict[str, Any], Callable[[], Any]]]] = {}


def _squat(name: str) -> Callable[[Callable[[], Any]], Callable[[], Any]]:
    def register(make: Callable[[], Any]) -> Callable[[], Any]:
        SQUATS[name] = make
        return make
    return register


@_squat("Eve's Create uses the id of Bob's coming Create")
def _activity_id() -> Any:
    genuine = create(BOB, note(BOB, ORIGINAL))
    squat = {**create(EVE, note(EVE)), "id": genuine["id"]}
    return squat, genuine, lambda: Status.exists(uri=genuine["object"]["id"])


@_squat("Eve's Announce uses the id of Bob's coming note")
def _announce_id() -> Any:
    bob_note = note(BOB, ORIGINAL)
    squat = {**activity("Announce", EVE, "https://other.example/notes/whatever", to=[PUBLIC]),
             "id": bob_note["id"]}
    return squat, create(BOB, bob_note), lambda: Status.exists(uri=bob_note["id"], account__uri=BOB)


@_squat("Eve's Follow uses the id of Bob's coming Follow")
def _follow_id() -> Any:
    genuine = activity("Follow", BOB, MIRA)
    squat = {**activity("Follow", EVE, MIRA), "id": genuine["id"]}
    return squat, genuine, lambda: Follow.exists(account__uri=BOB, target_account__username="mira")


@pytest.mark.parametrize("name", list(SQUATS), ids=list(SQUATS))
async def test_an_id_of_another_origin_used_first_by_eve_does_not_block_its_owner(site: Site,
                                                                                   name: str) -> None:
    squat, genuine, arrived = SQUATS[name]()
    if squat["type"] == "Announce":
        with site.db():
            post = await posts.create_post(site.instance.settings, site.mira, "boost me")
        squat["object"] = f"{MIRA}/statuses/{post.id}"
    assert await send(site, EVE, squat) == 202
    await site.drain()
    assert await send(site, BOB, genuine) == 202
    await site.drain()
    with site.db():
        assert await arrived()
    await site.assert_no_failed_jobs()
