"""A real Fedify 1.5.9 server (Node; ../shared/reference/fedify-peer.mjs) against cara_fed over loopback.

Fedify is strict: it signs with draft-cavage and adds an LD signature and a DataIntegrityProof, verifies
our signatures against keys it fetches with signed GETs, and resolves acct: handles with WebFinger over https
only (hence ``cara_tls``: see tlsfront.py)."""

from __future__ import annotations

from typing import Any

import pytest

from cara_fed.models import Account, Follow, MediaAttachment, Status
from cara_fed.services import following, posts
from tests.interop.cara import CaraInstance
from tests.interop.peers import FedifyPeer, poll
from tests.interop.reporting import evidence

pytestmark = pytest.mark.slow  # starts real peer processes


def _of_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if item.get("type") == kind]


async def test_fedify_follows_an_artist_by_acct_and_receives_her_post_with_two_images(
        cara_tls: CaraInstance, fedify: FedifyPeer) -> None:
    cara = cara_tls
    mira = await cara.user("mira")
    explain = evidence(cara, fedify=fedify)

    # Dave (Fedify) follows mira by her acct: handle: WebFinger (https), actor fetch, signed Follow.
    status, answer = await fedify.follow(cara.acct("mira"))
    assert status == 200, f"Fedify could not resolve {cara.acct('mira')}: {answer}\n{await explain()}"
    assert answer == {"sent": "Follow", "to": cara.actor_url("mira")}
    assert cara.front is not None and cara.front.tls_connections >= 1  # WebFinger came over https

    async def accepted() -> list[dict[str, Any]]:
        return _of_type(await fedify.received(), "Accept")

    accept = (await poll("Fedify to receive mira's Accept", accepted, explain=explain))[0]
    assert accept["actor"] == cara.actor_url("mira")
    assert isinstance(accept["object"], dict) and accept["object"]["actor"] == fedify.dave, accept

    async def follow_recorded() -> bool:
        with cara.db():
            dave = await Account.filter(uri=fedify.dave).first()
            return dave is not None and \
                await Follow.filter(account_id=dave.id, target_account_id=mira.id).exists()

    await poll("cara_fed to record dave's follow", follow_recorded, explain=explain)

    # Mira posts two images, the second uploaded first: the order of media_ids is the order shown.
    with cara.db():
        media = [await MediaAttachment.create(account=mira, type="image", file_path=f"plate-{n}.png",
                                              content_type="image/png", description=f"plate {n}, ink",
                                              meta={"original": {"width": 1200, "height": 900}})
                 for n in (1, 2)]
        post = await posts.create_post(cara.settings, mira, "Two plates from the new series",
                                       media_ids=[media[1].id, media[0].id])
    note_id = f"{cara.actor_url('mira')}/statuses/{post.id}"

    async def create_arrived() -> list[dict[str, Any]]:
        return [c for c in _of_type(await fedify.received(), "Create")
                if isinstance(c.get("object"), dict) and c["object"].get("id") == note_id]

    create = (await poll("Fedify to receive mira's Create", create_arrived, explain=explain))[0]
    assert create["actor"] == cara.actor_url("mira")
    note = create["object"]
    assert note["type"] == "Note" and "Two plates from the new series" in note["content"]
    attachments = note["attachment"]
    assert isinstance(attachments, list) and len(attachments) == 2, note
    assert [a["url"] for a in attachments] == [f"{cara.base}/media/plate-2.png",
                                               f"{cara.base}/media/plate-1.png"]
    assert [a["name"] for a in attachments] == ["plate 2, ink", "plate 1, ink"]
    assert all(a["type"] == "Image" and a["mediaType"] == "image/png" for a in attachments)
    assert await cara.failed_jobs() == [], await explain()


async def test_an_artist_follows_fedify_and_receives_its_post(cara_tls: CaraInstance,
                                                               fedify: FedifyPeer) -> None:
    cara = cara_tls
    mira = await cara.user("mira")
    explain = evidence(cara, fedify=fedify)

    with cara.db():
        dave = await cara.federation.actors.get_actor(fedify.dave)  # a signed GET as the instance actor
        await following.follow(cara.federation, mira, dave)

    async def follow_accepted() -> bool:
        with cara.db():
            return await Follow.filter(account_id=mira.id, target_account_id=dave.id).exists()

    await poll("Fedify's Accept to turn mira's request into a follow", follow_accepted, explain=explain)
    assert [f["actor"] for f in _of_type(await fedify.received(), "Follow")] == [cara.actor_url("mira")]

    status, answer = await fedify.post("Hello from <b>Fedify</b>")
    assert status == 200 and answer["followers"] == 1, answer

    async def post_arrived() -> Status | None:
        with cara.db():
            return await Status.filter(uri=answer["id"], account_id=dave.id).first()

    received = await poll("dave's post to reach cara_fed", post_arrived, explain=explain)
    assert "Hello from" in received.content and "Fedify" in received.content
    assert received.visibility == "public"
    assert await cara.failed_jobs() == [], await explain()
