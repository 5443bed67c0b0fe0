"""The portfolio's services (issue 6 points 1-2): works made from uploads, from the hashtag rule and from
existing posts; edits through the post; removal; reordering; series; the featured mirror beside manual
pins; every change's activities written in its transaction. Then the ActivityPub collections over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import aiohttp
import pytest

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Account, Job, MediaAttachment, Series, Status, StatusPin, Work
from cara_fed.services import accounts, portfolio, portfolio_views, posts, status_marks
from cara_fed.services.status_views import load_status_views
from cara_fed.settings import Settings
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

AS = "application/activity+json"
BASE = "https://art.example"
ACTOR = f"{BASE}/users/mira"
PORTFOLIO = f"{ACTOR}/portfolio"
FEATURED = f"{ACTOR}/collections/featured"


@pytest.fixture
async def mira() -> Account:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    return await Account.get(id=user.account_id)


@pytest.fixture
async def juno() -> Account:
    user = await accounts.create_local_account("juno", "juno@example.org", "correct horse battery")
    return await Account.get(id=user.account_id)


async def image(owner: Account, n: int, kind: str = "image") -> MediaAttachment:
    return await MediaAttachment.create(
        account=owner, type=kind, file_path=f"{n:02d}plate.webp",
        files={"full": f"{n:02d}plate.webp", "full_federation": f"{n:02d}plate.jpg", "preview": f"{n:02d}s.webp"},
        content_type="image/webp", description=f"plate {n}", blurhash="LEHV6nWB2yk8pyo0adR*.7kCMdnj",
        meta={"original": {"width": 1600, "height": 1200}})


class Outbox:
    """The activities written to the job table since the last look (fan-outs: what followers get)."""

    def __init__(self) -> None:
        self.seen: set[int] = set()

    async def new(self) -> list[dict[str, Any]]:
        jobs = await Job.filter(kind="federation.fanout").order_by("id")
        fresh = [j for j in jobs if j.id not in self.seen]
        self.seen |= {j.id for j in fresh}
        return [j.payload["activity"] for j in fresh]

    async def summary(self) -> list[tuple[str, str, str | None]]:
        """(type, object id, target) of each new activity."""
        return [(a["type"], a["object"] if isinstance(a["object"], str) else a["object"]["id"], a.get("target"))
                for a in await self.new()]


def note(status_id: int) -> str:
    return f"{ACTOR}/statuses/{status_id}"


async def make_works(settings: Settings, account: Account, count: int, start: int = 0) -> list[portfolio.WorkView]:
    made = []
    for n in range(start, start + count):
        media = await image(account, n)
        made.append(await portfolio.add_work(settings, account, [media.id], title=f"Plate {n}"))
    return made


async def order(account: Account) -> list[str]:
    return [w.title for w in (await portfolio.list_portfolio(account)).works]


async def featured(account: Account) -> list[int]:
    """Pinned post ids, newest pin first (the order of the featured collection)."""
    return list(await StatusPin.filter(account_id=account.id).order_by("-id").values_list("status_id", flat=True))


# -- adding works -----------------------------------------------------------------------------------------

async def test_add_work_makes_a_post_with_the_work_fields_and_announces_it(settings: Settings,
                                                                           mira: Account) -> None:
    outbox = Outbox()
    series = await portfolio.create_series(settings, mira, "Harbour etchings", "Plates from the harbour")
    await outbox.new()
    media = [await image(mira, n) for n in (1, 2, 3)]
    work = await portfolio.add_work(
        settings, mira, [media[2].id, media[0].id, media[1].id], title="Harbour at dawn",
        description="Etching and aquatint.", medium="etching", year=2024, tags=["#Etching", "printmaking"],
        licence="cc-by-nc-4.0", series_id=series.id, language="en")
    assert (work.title, work.medium, work.year, work.licence, work.series_name) == (
        "Harbour at dawn", "etching", 2024, "cc-by-nc-4.0", "Harbour etchings")
    assert [i.id for i in work.images] == [media[2].id, media[0].id, media[1].id]
    assert [i.description for i in work.images] == ["plate 3", "plate 1", "plate 2"]
    assert work.tags == ("etching", "printmaking") and work.position == 0 and work.visibility == "public"
    status = await Status.get(id=work.status_id)
    assert status.text == "Harbour at dawn\n\nEtching and aquatint.\n\n#Etching #printmaking"

    activities = await outbox.new()
    create = next(a for a in activities if a["type"] == "Create")
    note_doc = create["object"]
    assert note_doc["name"] == "Harbour at dawn" and note_doc["medium"] == "etching" and note_doc["year"] == 2024
    assert note_doc["license"] == "https://creativecommons.org/licenses/by-nc/4.0/"
    assert note_doc["series"] == f"{PORTFOLIO}/series/{series.id}"
    assert note_doc["xRobotsTag"] == "noai, noimageai"
    assert [a["url"] for a in note_doc["attachment"]] == [f"{BASE}/media/03plate.jpg", f"{BASE}/media/01plate.jpg",
                                                          f"{BASE}/media/02plate.jpg"]
    assert all(a["license"] == note_doc["license"] for a in note_doc["attachment"])
    context = create["@context"][1]
    assert context["medium"] == "schema:artMedium" and context["series"]["@id"] == "cara:series"
    changes = [(a["type"], a["object"], a.get("target")) for a in activities if a["type"] != "Create"]
    assert changes == [("Add", note(work.status_id), PORTFOLIO),
                       ("Add", note(work.status_id), f"{PORTFOLIO}/series/{series.id}"),
                       ("Add", note(work.status_id), FEATURED)]
    add = next(a for a in activities if a["type"] == "Add")
    assert add["actor"] == ACTOR and add["cc"] == [f"{ACTOR}/followers"] and add["id"].startswith(ACTOR + "#")
    assert await featured(mira) == [work.status_id]


@pytest.mark.parametrize(("change", "message"), [
    (dict(visibility="private"), "public or unlisted"),
    (dict(media=[]), "at least one image"),
    (dict(kind="video"), "must be images"),
    (dict(licence="cc0"), "licence must be one of"),
    (dict(year=0), "year must be"),
    (dict(title="x" * 256), "title is too long"),
    (dict(tags=["not a tag"]), "is not a valid tag"),
    (dict(others=True), "media not found"),
])
async def test_add_work_refuses_bad_input_and_stores_nothing(settings: Settings, mira: Account, juno: Account,
                                                            change: dict[str, Any], message: str) -> None:
    owner = juno if change.get("others") else mira
    media = await image(owner, 1, change.get("kind", "image"))
    ids = change.get("media", [media.id])
    fields = {k: v for k, v in change.items() if k in ("visibility", "licence", "year", "title", "tags")}
    with pytest.raises(ValidationFailed, match=message):
        await portfolio.add_work(settings, mira, ids, **{"title": "t", **fields})
    assert await Status.all().count() == 0 and await Work.all().count() == 0
    assert await Job.all().count() == 0 and await StatusPin.all().count() == 0


async def test_a_series_of_another_artist_is_not_found(settings: Settings, mira: Account, juno: Account) -> None:
    theirs = await portfolio.create_series(settings, juno, "Juno's")
    with pytest.raises(NotFound):
        await portfolio.add_work(settings, mira, [(await image(mira, 1)).id], title="t", series_id=theirs.id)
    assert await Status.filter(account_id=mira.id).count() == 0


async def test_new_works_go_first_and_featured_mirrors_the_top_four(settings: Settings, mira: Account) -> None:
    outbox = Outbox()
    works = await make_works(settings, mira, 5)
    assert await order(mira) == ["Plate 4", "Plate 3", "Plate 2", "Plate 1", "Plate 0"]
    assert await featured(mira) == [w.status_id for w in reversed(works)][:4]
    # The fifth work: Add to the portfolio, the first work leaves featured and the fifth enters, then its
    # Create (written after the work, so that the Note carries the work's fields).
    assert (await outbox.summary())[-4:] == [
        ("Add", note(works[4].status_id), PORTFOLIO), ("Remove", note(works[0].status_id), FEATURED),
        ("Add", note(works[4].status_id), FEATURED), ("Create", note(works[4].status_id), None)]
    positions = [w.position for w in (await portfolio.list_portfolio(mira)).works]
    assert positions == [0, 1, 2, 3, 4]


# -- the hashtag rule and existing posts ------------------------------------------------------------------

async def test_a_post_with_images_and_the_hashtag_joins_the_portfolio(settings: Settings, mira: Account,
                                                                     juno: Account) -> None:
    media = await image(mira, 1)
    status = await posts.create_post(settings, mira, "Harbour at dawn #Portfolio\nEtching, 2024\n\n#etching",
                                     media_ids=[media.id])
    work = await Work.get(status_id=status.id)
    assert (work.title, work.description, work.position) == ("Harbour at dawn", "Etching, 2024", 0)
    create = next(a for a in await Outbox().new() if a["type"] == "Create")
    assert create["object"]["name"] == "Harbour at dawn"

    # No images, not public, or a reply to someone else: a plain post.
    plain = await posts.create_post(settings, mira, "sketching today #portfolio")
    private = await posts.create_post(settings, mira, "wip #portfolio", visibility="private",
                                      media_ids=[(await image(mira, 2)).id])
    theirs = await posts.create_post(settings, juno, "hello")
    reply = await posts.create_post(settings, mira, "for you #portfolio", in_reply_to_id=theirs.id,
                                    media_ids=[(await image(mira, 3)).id])
    assert not await Work.filter(status_id__in=[plain.id, private.id, reply.id]).exists()
    # The setting picks the hashtag.
    other = settings.replace(portfolio={"hashtag": "gallery"})
    tagged = await posts.create_post(other, mira, "new piece #gallery", media_ids=[(await image(mira, 4)).id])
    assert await Work.filter(status_id=tagged.id).exists()


async def test_an_existing_post_becomes_a_work_and_followers_get_its_fields(settings: Settings, mira: Account,
                                                                           juno: Account) -> None:
    media = await image(mira, 1)
    status = await posts.create_post(settings, mira, "Lighthouse\n\nDrypoint on copper", media_ids=[media.id])
    outbox = Outbox()
    await outbox.new()
    work = await portfolio.make_work_from_status(settings, mira, status.id, medium="drypoint", year=2023,
                                                 licence="cc-by-4.0")
    assert (work.title, work.description, work.medium, work.licence) == ("Lighthouse", "Drypoint on copper",
                                                                         "drypoint", "cc-by-4.0")
    activities = await outbox.new()
    assert [a["type"] for a in activities] == ["Add", "Add", "Update"]
    assert activities[2]["object"]["name"] == "Lighthouse"
    assert activities[2]["object"]["license"] == "https://creativecommons.org/licenses/by/4.0/"
    with pytest.raises(ValidationFailed, match="already in the portfolio"):
        await portfolio.make_work_from_status(settings, mira, status.id)
    text_only = await posts.create_post(settings, mira, "no images here")
    with pytest.raises(ValidationFailed, match="at least one image"):
        await portfolio.make_work_from_status(settings, mira, text_only.id)
    theirs = await posts.create_post(settings, juno, "mine", media_ids=[(await image(juno, 2)).id])
    with pytest.raises(NotFound):
        await portfolio.make_work_from_status(settings, mira, theirs.id)
    assert await Work.filter(account_id=mira.id).count() == 1


# -- editing and removing ---------------------------------------------------------------------------------

async def test_update_work_edits_the_post_and_sends_the_new_note(settings: Settings, mira: Account,
                                                                juno: Account) -> None:
    media = [await image(mira, n) for n in (1, 2)]
    work = await portfolio.add_work(settings, mira, [m.id for m in media], title="Harbour", tags=["etching"])
    outbox = Outbox()
    await outbox.new()
    updated = await portfolio.update_work(settings, mira, work.id, title="Harbour at dusk", medium="aquatint",
                                          year=2025, licence="cc-by-sa-4.0", alt_texts={media[1].id: "boats, dusk"},
                                          media_ids=[media[1].id, media[0].id])
    assert (updated.title, updated.medium, updated.year, updated.licence) == ("Harbour at dusk", "aquatint", 2025,
                                                                              "cc-by-sa-4.0")
    assert [(i.id, i.description) for i in updated.images] == [(media[1].id, "boats, dusk"), (media[0].id, "plate 1")]
    status = await Status.get(id=work.status_id)
    assert status.text == "Harbour at dusk\n\n#etching" and status.edited_at is not None
    (update,) = await outbox.new()
    assert update["type"] == "Update" and update["object"]["name"] == "Harbour at dusk"
    assert update["object"]["medium"] == "aquatint"
    assert [a["name"] for a in update["object"]["attachment"]] == ["boats, dusk", "plate 1"]

    # Unchanged fields stay; another artist's work is not found, and nothing changes.
    again = await portfolio.update_work(settings, mira, work.id, year=None)
    assert again.title == "Harbour at dusk" and again.year is None
    with pytest.raises(NotFound):
        await portfolio.update_work(settings, juno, work.id, title="mine now")
    with pytest.raises(ValidationFailed, match="not one of this work"):
        await portfolio.update_work(settings, mira, work.id, title="x", alt_texts={(await image(mira, 9)).id: "x"})
    assert (await portfolio.get_work(work.id)).title == "Harbour at dusk"


async def test_removing_a_work_keeps_the_post_unless_asked_and_refills_featured(settings: Settings,
                                                                               mira: Account) -> None:
    works = await make_works(settings, mira, 5)  # order: 4 3 2 1 0; featured: 4 3 2 1
    outbox = Outbox()
    await outbox.new()
    await portfolio.remove_work(settings, mira, works[3].id)
    assert await order(mira) == ["Plate 4", "Plate 2", "Plate 1", "Plate 0"]
    assert (await Status.get(id=works[3].status_id)).deleted_at is None
    assert await outbox.summary() == [("Remove", note(works[3].status_id), PORTFOLIO),
                                      ("Remove", note(works[3].status_id), FEATURED),
                                      ("Add", note(works[0].status_id), FEATURED)]
    await portfolio.remove_work(settings, mira, works[4].id, delete_post=True)
    assert (await Status.get(id=works[4].status_id)).deleted_at is not None
    assert await order(mira) == ["Plate 2", "Plate 1", "Plate 0"]
    assert [w.position for w in (await portfolio.list_portfolio(mira)).works] == [0, 1, 2]
    summary = await outbox.summary()
    assert ("Remove", note(works[4].status_id), PORTFOLIO) in summary
    assert ("Delete", note(works[4].status_id), None) in summary
    assert await featured(mira) == [works[2].status_id, works[1].status_id, works[0].status_id]


# -- order ------------------------------------------------------------------------------------------------

async def test_reorder_updates_the_collection_and_keeps_featured_in_step(settings: Settings, mira: Account,
                                                                        juno: Account) -> None:
    works = await make_works(settings, mira, 6)  # 5 4 3 2 1 0
    outbox = Outbox()
    await outbox.new()
    changed = await portfolio.reorder_works(settings, mira, [works[0].id, works[1].id])
    assert changed and await order(mira) == ["Plate 0", "Plate 1", "Plate 5", "Plate 4", "Plate 3", "Plate 2"]
    activities = await outbox.new()
    update = activities[0]
    assert update["type"] == "Update" and update["object"]["id"] == PORTFOLIO
    assert update["object"]["type"] == "OrderedCollection" and update["object"]["totalItems"] == 6
    assert sorted((a["type"], a["object"]) for a in activities[1:]) == [
        ("Add", note(works[0].status_id)), ("Add", note(works[1].status_id)),
        ("Remove", note(works[2].status_id)), ("Remove", note(works[3].status_id))]
    assert await featured(mira) == [works[i].status_id for i in (0, 1, 5, 4)]

    # Within the featured four: no Add/Remove, but featured follows the order.
    await portfolio.reorder_works(settings, mira, [works[5].id])
    assert await featured(mira) == [works[i].status_id for i in (5, 0, 1, 4)]
    assert [a["type"] for a in await outbox.new()] == ["Update"]
    assert not await portfolio.reorder_works(settings, mira, [works[5].id])  # no change, nothing sent
    assert await outbox.new() == []
    with pytest.raises(ValidationFailed, match="listed twice"):
        await portfolio.reorder_works(settings, mira, [works[1].id, works[1].id])
    their = (await make_works(settings, juno, 1))[0]
    with pytest.raises(NotFound):
        await portfolio.reorder_works(settings, mira, [their.id, works[0].id])
    assert await order(mira) == ["Plate 5", "Plate 0", "Plate 1", "Plate 4", "Plate 3", "Plate 2"]


async def test_concurrent_changes_keep_the_order_dense(settings: Settings, mira: Account) -> None:
    """Several works added, one removed and a reorder at the same time (PostgreSQL: concurrent
    transactions on one portfolio wait for each other instead of interleaving or deadlocking)."""
    first = await make_works(settings, mira, 3)
    media = [await image(mira, n) for n in range(10, 16)]
    await asyncio.gather(
        *(portfolio.add_work(settings, mira, [m.id], title=f"Concurrent {m.id}") for m in media),
        portfolio.remove_work(settings, mira, first[1].id),
        portfolio.reorder_works(settings, mira, [first[0].id]))
    works = (await portfolio.list_portfolio(mira)).works
    assert len(works) == 8 and [w.position for w in works] == list(range(8))
    assert len(await featured(mira)) == 4 and set(await featured(mira)) == {w.status_id for w in works[:4]}


# -- series -----------------------------------------------------------------------------------------------

async def test_series_are_created_renamed_reordered_and_deleted(settings: Settings, mira: Account,
                                                               juno: Account) -> None:
    outbox = Outbox()
    harbour = await portfolio.create_series(settings, mira, "Harbour")
    hills = await portfolio.create_series(settings, mira, "  Hills  ", "Walks")
    assert (hills.name, hills.description, hills.position) == ("Hills", "Walks", 1)
    with pytest.raises(ValidationFailed, match="already been taken"):
        await portfolio.create_series(settings, mira, "Harbour")
    with pytest.raises(ValidationFailed, match="can't be blank"):
        await portfolio.create_series(settings, mira, "   ")
    assert (await portfolio.create_series(settings, juno, "Harbour")).name == "Harbour"  # names are per artist
    updates = await outbox.new()
    assert [a["type"] for a in updates] == ["Update", "Update", "Update"]
    assert [s["name"] for s in updates[1]["object"]["series"]] == ["Harbour", "Hills"]  # as the change made it

    media = [await image(mira, n) for n in range(3)]
    works = [await portfolio.add_work(settings, mira, [m.id], title=f"W{n}", series_id=harbour.id)
             for n, m in enumerate(media)]
    assert [w.series_position for w in works] == [0, 1, 2]
    await outbox.new()
    await portfolio.reorder_series_works(settings, mira, harbour.id, [works[2].id])
    in_series = await portfolio.list_portfolio(mira, series_id=harbour.id)
    assert [w.title for w in in_series.works] == ["W2", "W0", "W1"] and in_series.total == 3
    (update,) = await outbox.new()
    assert update["type"] == "Update" and update["object"]["id"] == f"{PORTFOLIO}/series/{harbour.id}"

    # Moving a work to another series: Remove from one, Add to the other; the first closes its gap.
    await portfolio.update_work(settings, mira, works[0].id, series_id=hills.id)
    summary = await outbox.summary()
    assert summary[:2] == [("Remove", note(works[0].status_id), f"{PORTFOLIO}/series/{harbour.id}"),
                           ("Add", note(works[0].status_id), f"{PORTFOLIO}/series/{hills.id}")]
    assert summary[2][0] == "Update" and summary[2][1] == note(works[0].status_id)  # the Note: its new series
    assert [(w.title, w.series_position) for w in (await portfolio.list_portfolio(mira, series_id=harbour.id)).works
            ] == [("W2", 0), ("W1", 1)]

    renamed = await portfolio.update_series(settings, mira, harbour.id, name="Harbour etchings")
    assert renamed.name == "Harbour etchings" and renamed.work_count == 2
    assert [s.name for s in await portfolio.reorder_series(settings, mira, [hills.id])] == ["Hills",
                                                                                           "Harbour etchings"]
    await portfolio.delete_series(settings, mira, harbour.id)
    assert [s.name for s in await portfolio.list_series(mira)] == ["Hills"]
    assert (await portfolio.get_work(works[1].id)).series_id is None
    assert await Work.filter(account_id=mira.id).count() == 3
    with pytest.raises(NotFound):
        await portfolio.delete_series(settings, juno, hills.id)
    assert await Series.filter(id=hills.id).exists()


# -- pins -------------------------------------------------------------------------------------------------

async def test_manual_pins_live_beside_the_mirrored_ones(settings: Settings, mira: Account) -> None:
    works = await make_works(settings, mira, 5)  # 4 3 2 1 0, featured 4 3 2 1
    outbox = Outbox()
    await outbox.new()
    plain = [await posts.create_post(settings, mira, f"note {n}") for n in range(6)]
    await outbox.new()
    for status in plain[:5]:  # five manual pins, whatever the mirrored ones
        await status_marks.pin(mira, (await load_status_views([status.id]))[status.id], settings)
    assert await outbox.summary() == [("Add", note(s.id), FEATURED) for s in plain[:5]]
    with pytest.raises(ValidationFailed, match="limit of 5"):
        await status_marks.pin(mira, (await load_status_views([plain[5].id]))[plain[5].id], settings)
    assert len(await featured(mira)) == 9

    # Pinning a work moves it to the top; unpinning a featured work moves it just below the featured ones.
    last = (await load_status_views([works[0].status_id]))[works[0].status_id]
    await status_marks.pin(mira, last, settings)
    assert await order(mira) == ["Plate 0", "Plate 4", "Plate 3", "Plate 2", "Plate 1"]
    await status_marks.unpin(mira, last, settings)
    assert await order(mira) == ["Plate 4", "Plate 3", "Plate 2", "Plate 1", "Plate 0"]
    await status_marks.unpin(mira, (await load_status_views([plain[0].id]))[plain[0].id], settings)
    summary = await outbox.summary()
    assert summary[-1] == ("Remove", note(plain[0].id), FEATURED)
    assert not await StatusPin.filter(status_id=plain[0].id).exists()
    assert set(await featured(mira)) == {w.status_id for w in works[1:]} | {s.id for s in plain[1:5]}


# -- reading ----------------------------------------------------------------------------------------------

async def test_reading_takes_a_fixed_number_of_queries(settings: Settings, mira: Account,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    counted: list[str] = []
    real = portfolio_views.raw_rows

    async def counting(sql: str, params: list[object], **kw: Any) -> list[dict[str, object]]:
        counted.append(sql)
        return await real(sql, params, **kw)

    async def queries(call: Callable[[], Any]) -> int:
        counted.clear()
        await call()
        return len(counted)

    monkeypatch.setattr(portfolio_views, "raw_rows", counting)
    await make_works(settings, mira, 2)
    few = await queries(lambda: portfolio.list_portfolio(mira))
    works = await make_works(settings, mira, 12, start=2)
    for work in works[:4]:
        await MediaAttachment.create(account=mira, status_id=work.status_id, position=1, type="image",
                                     file_path="x.webp", description="detail")
    many = await queries(lambda: portfolio.list_portfolio(mira))
    assert few == many == 4  # works, images, tags, series (no count: the whole list)
    assert await queries(lambda: portfolio.list_portfolio(mira, limit=5, offset=5)) == 5  # + the count
    assert await queries(lambda: portfolio.get_work(works[0].id)) == 3
    view = await portfolio.list_portfolio(mira, limit=5, offset=5)
    assert view.total == 14 and [w.position for w in view.works] == [5, 6, 7, 8, 9]
    detail = await portfolio.get_work(works[3].id)
    assert [i.description for i in detail.images] == ["plate 5", "detail"] and detail.images[0].aspect == 4 / 3


# -- ActivityStreams collections over HTTP ------------------------------------------------------------------

async def get(http: aiohttp.ClientSession, server: RunningServer, path: str, accept: str = AS
              ) -> tuple[int, dict[str, str], Any]:
    async with http.get(server.url + path, headers={"Accept": accept}, allow_redirects=False) as response:
        try:
            body: Any = await response.json(content_type=None)
        except ValueError:
            body = await response.text()
        return response.status, dict(response.headers), body


async def test_the_portfolio_and_its_series_are_paged_collections_of_note_ids(
        server: RunningServer, http: aiohttp.ClientSession, settings: Settings, mira: Account) -> None:
    series = await portfolio.create_series(settings, mira, "Harbour", "Plates from the harbour")
    works = await make_works(settings, mira, 42)
    for work in works[:3]:
        await portfolio.update_work(settings, mira, work.id, series_id=series.id)
    hidden = await posts.create_post(settings, mira, "draft", visibility="private")
    await Work.create(account=mira, status=hidden, title="private", position=99)  # never listed

    code, headers, actor = await get(http, server, "/users/mira")
    assert actor["portfolio"] == PORTFOLIO and actor["@context"][2]["portfolio"] == {"@id": "cara:portfolio",
                                                                                    "@type": "@id"}
    code, headers, root = await get(http, server, "/users/mira/portfolio")
    assert code == 200 and headers["Content-Type"].startswith(AS)
    assert root["type"] == "OrderedCollection" and root["totalItems"] == 42 and root["first"] == f"{PORTFOLIO}?page=1"
    assert "orderedItems" not in root and root["attributedTo"] == ACTOR
    assert root["series"] == [{"id": f"{PORTFOLIO}/series/{series.id}", "type": "OrderedCollection",
                               "name": "Harbour", "summary": "Plates from the harbour", "totalItems": 3}]
    _, _, first = await get(http, server, "/users/mira/portfolio?page=1")
    newest_first = [note(w.status_id) for w in reversed(works)]
    assert first["type"] == "OrderedCollectionPage" and first["partOf"] == PORTFOLIO
    assert first["orderedItems"] == newest_first[:40] and first["next"] == f"{PORTFOLIO}?page=2"
    _, _, second = await get(http, server, "/users/mira/portfolio?page=2")
    assert second["orderedItems"] == newest_first[40:] and "next" not in second
    assert second["prev"] == f"{PORTFOLIO}?page=1"

    _, _, series_root = await get(http, server, f"/users/mira/portfolio/series/{series.id}")
    assert series_root["name"] == "Harbour" and series_root["totalItems"] == 3
    _, _, series_page = await get(http, server, f"/users/mira/portfolio/series/{series.id}?page=1")
    assert series_page["orderedItems"] == [note(w.status_id) for w in works[:3]]

    _, _, work_note = await get(http, server, f"/users/mira/statuses/{works[0].status_id}")
    assert work_note["name"] == "Plate 0" and work_note["series"] == f"{PORTFOLIO}/series/{series.id}"
    assert work_note["license"] == f"{BASE}/ai-policy"  # all rights reserved: the reservation page

    code, headers, _ = await get(http, server, "/users/mira/portfolio", accept="text/html")
    assert code == 302 and headers["Location"] == f"{BASE}/@mira" and headers["Vary"] == "Accept"
    assert (await get(http, server, "/users/mira/portfolio?page=zero"))[0] == 400
    assert (await get(http, server, "/users/nobody/portfolio"))[0] == 404
    assert (await get(http, server, "/users/mira/portfolio/series/123"))[0] == 404
