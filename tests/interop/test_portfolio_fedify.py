"""Issue 6 acceptance with a real Fedify 1.5.9 peer (../shared/reference/fedify-peer.mjs): following an
artist, it receives her new work as a Note with its images in order, the ``Add`` to her portfolio and to
her featured collection, and the ``Remove`` when she takes the work out; her portfolio collection answers
Fedify's kind of signed GET."""

from __future__ import annotations

from typing import Any

import pytest

from cara_fed.models import Account, Follow, MediaAttachment
from cara_fed.services import portfolio
from tests.interop.cara import CaraInstance
from tests.interop.peers import FedifyPeer, poll
from tests.interop.reporting import evidence

pytestmark = pytest.mark.slow  # starts a real peer process


def _of_type(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if item.get("type") == kind]


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def test_fedify_receives_a_work_as_a_note_with_its_images_in_order_and_the_add(
        cara_tls: CaraInstance, fedify: FedifyPeer) -> None:
    cara = cara_tls
    mira = await cara.user("mira")
    explain = evidence(cara, fedify=fedify)
    status, answer = await fedify.follow(cara.acct("mira"))
    assert status == 200, f"Fedify could not resolve {cara.acct('mira')}: {answer}\n{await explain()}"

    async def follow_recorded() -> bool:
        with cara.db():
            dave = await Account.filter(uri=fedify.dave).first()
            return dave is not None and await Follow.filter(account_id=dave.id, target_account_id=mira.id).exists()

    await poll("cara_fed to record dave's follow", follow_recorded, explain=explain)

    with cara.db():
        media = [await MediaAttachment.create(account=mira, type="image", file_path=f"plate-{n}.png",
                                              content_type="image/png", description=f"plate {n}, aquatint",
                                              meta={"original": {"width": 1200, "height": 900}})
                 for n in (1, 2, 3)]
        work = await portfolio.add_work(cara.settings, mira, [media[2].id, media[0].id, media[1].id],
                                        title="Harbour at dawn", medium="aquatint", year=2024, licence="cc-by-4.0")
    actor = cara.actor_url("mira")
    note_id = f"{actor}/statuses/{work.status_id}"
    portfolio_url, featured_url = f"{actor}/portfolio", f"{actor}/collections/featured"

    async def arrived() -> tuple[dict[str, Any], list[dict[str, Any]]] | None:
        received = await fedify.received()
        creates = [c for c in _of_type(received, "Create") if _id(c.get("object")) == note_id]
        adds = [a for a in _of_type(received, "Add") if _id(a.get("object")) == note_id]
        return (creates[0], adds) if creates and len(adds) == 2 else None

    create, adds = await poll("Fedify to receive the work's Create and both Adds", arrived, explain=explain)
    note = create["object"]
    assert note["type"] == "Note" and note["name"] == "Harbour at dawn" and "Harbour at dawn" in note["content"]
    attachments = note["attachment"]
    assert [a["url"] if isinstance(a["url"], str) else a["url"]["href"] for a in attachments] == [
        f"{cara.base}/media/plate-3.png", f"{cara.base}/media/plate-1.png", f"{cara.base}/media/plate-2.png"]
    assert [a["name"] for a in attachments] == ["plate 3, aquatint", "plate 1, aquatint", "plate 2, aquatint"]
    assert all(a["type"] == "Image" for a in attachments)
    assert sorted(_id(a["target"]) for a in adds) == sorted([portfolio_url, featured_url])
    assert all(_id(a["actor"]) == actor for a in adds)

    # The collection, as any server reads it.
    with cara.db():
        page = await cara.federation.actors.fetch_document(f"{portfolio_url}?page=1")
    assert page["orderedItems"] == [note_id]

    with cara.db():
        await portfolio.remove_work(cara.settings, mira, work.id)

    async def removed() -> list[dict[str, Any]] | None:
        found = [r for r in _of_type(await fedify.received(), "Remove") if _id(r.get("object")) == note_id]
        return found if len(found) == 2 else None

    removes = await poll("Fedify to receive both Removes", removed, explain=explain)
    assert sorted(_id(r["target"]) for r in removes) == sorted([portfolio_url, featured_url])
    assert await cara.failed_jobs() == [], await explain()
