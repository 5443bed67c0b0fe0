"""Issue 6 acceptance, federation: a second cara_fed following an artist receives each work as a Note with
its images in order, keeps the artist's portfolio in step through Add/Remove/Update (the Work rows and
their order on the follower's server), and her featured collection holds her top works. Two instances in
one process, real HTTPS and signatures (tests/support/instances.py); images are real uploads."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from PIL import Image

from cara_fed.federation import portfolio_remote
from cara_fed.federation.inbox import Incoming
from cara_fed.models import Account, Job, MediaAttachment, Series, Status, StatusPin, Work
from cara_fed.services import following, media, portfolio
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, drain, instances

MIRA = "https://a.example/users/mira"


@pytest.fixture
async def pair(database_factory: DatabaseFactory, fediverse: FakeFediverse,
               tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance]]:
    async with instances(["a.example", "b.example"], database_factory, fediverse, tmp_path) as (a, b):
        yield a, b


def png(shade: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (48, 32), (shade, 90, 160)).save(out, "PNG")
    return out.getvalue()


async def add_work(a: Instance, mira: Account, title: str, images: int = 1, **fields: object) -> portfolio.WorkView:
    with a.db():
        uploaded = [await media.upload(a.settings, mira, png(40 * n), description=f"{title}, view {n + 1}")
                    for n in range(images)]
        return await portfolio.add_work(a.settings, mira, [m.id for m in uploaded], title=title, **fields)


async def remote_works(b: Instance) -> list[tuple[str, str]]:
    """(title, Note id) of Mira's works as the follower's server keeps them, in order."""
    with b.db():
        account = await Account.get(uri=MIRA)
        rows = await Work.filter(account_id=account.id).order_by("position").prefetch_related("status")
        return [(w.title, w.status.uri or "") for w in rows]


async def remote_featured(b: Instance) -> set[str]:
    with b.db():
        account = await Account.get(uri=MIRA)
        return {p.status.uri or "" for p in await StatusPin.filter(account_id=account.id).prefetch_related("status")}


def note(work: portfolio.WorkView) -> str:
    return f"{MIRA}/statuses/{work.status_id}"


async def test_a_follower_server_keeps_the_artists_portfolio_in_step(pair: tuple[Instance, Instance]) -> None:
    a, b = pair
    mira, juno = await a.user("mira"), await b.user("juno")
    early = [await add_work(a, mira, f"Early {n}") for n in range(2)]  # before anyone follows

    # Juno's server learns of Mira (her actor links `portfolio`), reads it, and Juno follows her.
    with b.db():
        remote_mira = await b.federation.actors.get_actor(MIRA)
        await following.follow(b.federation, juno, remote_mira)
    await drain(a, b)
    assert await remote_works(b) == [("Early 1", note(early[1])), ("Early 0", note(early[0]))]

    # A three-image work arrives as a Note with its images in order, and joins the portfolio first.
    harbour = await add_work(a, mira, "Harbour", images=3, medium="etching", year=2024, licence="cc-by-4.0")
    await drain(a, b)
    with b.db():
        received = await Status.get(uri=note(harbour)).prefetch_related("media_attachments")
        images = sorted(received.media_attachments, key=lambda m: m.position)
        assert [m.description for m in images] == ["Harbour, view 1", "Harbour, view 2", "Harbour, view 3"]
        with a.db():
            sent = sorted(await MediaAttachment.filter(status_id=harbour.status_id), key=lambda m: m.position)
            sources = [f"https://a.example/media/{m.files['full_federation']}" for m in sent]
        assert [m.remote_url for m in images] == sources
        work = await Work.get(status_id=received.id)
        assert (work.title, work.medium, work.year, work.licence) == ("Harbour", "etching", 2024, "cc-by-4.0")
    assert [t for t, _ in await remote_works(b)] == ["Harbour", "Early 1", "Early 0"]

    # Two more: five works, of which the top four are featured, here and on Juno's server.
    more = [await add_work(a, mira, f"Study {n}") for n in range(2)]
    await drain(a, b)
    assert [t for t, _ in await remote_works(b)] == ["Study 1", "Study 0", "Harbour", "Early 1", "Early 0"]
    top = {note(w) for w in (more[1], more[0], harbour, early[1])}
    with b.db():
        featured = await b.federation.actors.fetch_document(f"{MIRA}/collections/featured")
    assert [n["id"] for n in featured["orderedItems"]] == [note(w) for w in (more[1], more[0], harbour, early[1])]
    assert await remote_featured(b) == top

    # Reordered: Update of the collection; the follower's order and featured follow.
    with a.db():
        await portfolio.reorder_works(a.settings, mira, [early[0].id])
    await drain(a, b)
    assert [t for t, _ in await remote_works(b)] == ["Early 0", "Study 1", "Study 0", "Harbour", "Early 1"]
    assert await remote_featured(b) == {note(w) for w in (early[0], more[1], more[0], harbour)}

    # Removed (the post stays): Remove; it leaves the portfolio and featured there too.
    with a.db():
        await portfolio.remove_work(a.settings, mira, more[1].id)
    await drain(a, b)
    assert [t for t, _ in await remote_works(b)] == ["Early 0", "Study 0", "Harbour", "Early 1"]
    assert await remote_featured(b) == {note(w) for w in (early[0], more[0], harbour, early[1])}
    with b.db():
        assert (await Status.get(uri=note(more[1]))).deleted_at is None

    # A series and an edit: the follower keeps the series, its members and the new title.
    with a.db():
        series = await portfolio.create_series(a.settings, mira, "Harbour plates", "Etchings")
        await portfolio.update_work(a.settings, mira, harbour.id, series_id=series.id, title="Harbour at dawn")
    await drain(a, b)
    with b.db():
        account = await Account.get(uri=MIRA)
        kept = await Series.get(account_id=account.id)
        assert (kept.name, kept.description, kept.uri) == ("Harbour plates", "Etchings",
                                                           f"{MIRA}/portfolio/series/{series.id}")
        edited = await Work.get(status__uri=note(harbour))
        assert edited.title == "Harbour at dawn" and edited.series_id == kept.id
    assert await a.dead_jobs() == [] and await b.dead_jobs() == []


# -- incoming portfolios: origin, attribution and bounds ----------------------------------------------------

EVE = "https://remote.example/users/eve"
EVE_PORTFOLIO = f"{EVE}/portfolio"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


@pytest.fixture
async def site(database_factory: DatabaseFactory, fediverse: FakeFediverse,
               tmp_path: Path) -> AsyncIterator[Instance]:
    async with instances(["a.example"], database_factory, fediverse, tmp_path) as (a,):
        yield a


def eve_actor(public_pem: str, **extra: object) -> dict[str, object]:
    return {"@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
            "id": EVE, "type": "Person", "preferredUsername": "eve", "inbox": f"{EVE}/inbox",
            "followers": f"{EVE}/followers", "featured": f"{EVE}/featured",
            "publicKey": {"id": f"{EVE}#main-key", "owner": EVE, "publicKeyPem": public_pem}, **extra}


def eve_note(n: int, author: str = EVE) -> dict[str, object]:
    return {"id": f"https://remote.example/notes/{n}", "type": "Note", "attributedTo": author, "name": f"Work {n}",
            "content": f"<p>Work {n}</p>", "to": [PUBLIC], "cc": [f"{EVE}/followers"], "medium": "oil",
            "license": "http://creativecommons.org/licenses/by-sa/4.0/deed.en",
            "attachment": [{"type": "Image", "mediaType": "image/png", "url": f"https://remote.example/m/{n}.png",
                            "name": f"painting {n}"}]}


def serve_pages(fediverse: FakeFediverse, pages: list[list[str]]) -> None:
    fediverse.serve(EVE_PORTFOLIO, {"id": EVE_PORTFOLIO, "type": "OrderedCollection", "totalItems": 999,
                                    "first": f"{EVE_PORTFOLIO}?page=1"})
    for n, items in enumerate(pages, start=1):
        page: dict[str, object] = {"id": f"{EVE_PORTFOLIO}?page={n}", "type": "OrderedCollectionPage",
                                   "partOf": EVE_PORTFOLIO, "orderedItems": items}
        if n < len(pages):
            page["next"] = f"{EVE_PORTFOLIO}?page={n + 1}"
        fediverse.serve(f"{EVE_PORTFOLIO}?page={n}", page)


async def test_a_remote_portfolio_is_read_within_its_bounds_from_its_own_origin(
        site: Instance, fediverse: FakeFediverse, rsa_keypair: object) -> None:
    pem = rsa_keypair.public_pem  # type: ignore[attr-defined]
    fediverse.serve(EVE, eve_actor(pem, portfolio=EVE_PORTFOLIO))
    for n in range(1, 131):
        fediverse.serve(f"https://remote.example/notes/{n}", eve_note(n))
    fediverse.serve("https://remote.example/notes/2", eve_note(2, author="https://remote.example/users/bob"))
    foreign = "https://elsewhere.example/notes/1"
    fediverse.serve(foreign, eve_note(1))
    # Page 1: a foreign Note, one attributed to someone else, one that is missing (404), then 50 good ones;
    # page 2: 50 more; page 3 is never read (two pages at most), nor anything past 80 works.
    page1 = [foreign, "https://remote.example/notes/2", "https://remote.example/notes/999",
             *(f"https://remote.example/notes/{n}" for n in range(3, 53))]
    page2 = [f"https://remote.example/notes/{n}" for n in range(53, 103)]
    page3 = [f"https://remote.example/notes/{n}" for n in range(103, 131)]
    serve_pages(fediverse, [page1, page2, page3])
    fediverse.serve(f"{EVE}/featured", {"id": f"{EVE}/featured", "type": "OrderedCollection",
                                        "orderedItems": [{"id": "https://remote.example/notes/3", "type": "Note"}]})
    with site.db():
        eve = await site.federation.actors.get_actor(EVE)  # her document links `portfolio`: a job reads it
    await site.run_jobs()
    with site.db():
        works = await Work.filter(account_id=eve.id).order_by("position").prefetch_related("status")
        uris = [w.status.uri for w in works]
        assert len(works) == 78  # the first 80 ids on her origin, two of them unusable (not hers, missing)
        assert uris[0] == "https://remote.example/notes/3" and foreign not in uris
        assert "https://remote.example/notes/2" not in uris and "https://remote.example/notes/999" not in uris
        assert uris == [f"https://remote.example/notes/{n}" for n in range(3, 3 + len(uris))]
        assert (works[0].title, works[0].medium, works[0].licence) == ("Work 3", "oil", "cc-by-sa-4.0")
        assert [p.status_id for p in await StatusPin.filter(account_id=eve.id)] == [works[0].status_id]
        assert not await Status.filter(uri=foreign).exists()
    asked = {r.url for r in fediverse.requests if r.method == "GET"}
    assert f"{EVE_PORTFOLIO}?page=3" not in asked and foreign not in asked
    notes_read = {int(u.rsplit("/", 1)[1]) for u in asked if u.startswith("https://remote.example/notes/")}
    assert max(notes_read - {999}) == 80
    assert await site.dead_jobs() == []

    # The portfolio is gone (410): so are its works here; their posts stay.
    fediverse.serve(EVE_PORTFOLIO, {"error": "gone"}, status=410)
    with site.db():
        await portfolio_remote.sync(site.federation, eve, EVE_PORTFOLIO)
        assert await Work.filter(account_id=eve.id).count() == 0
        assert await Status.filter(account_id=eve.id).count() == 78


async def test_an_add_to_a_collection_of_a_server_without_portfolios_stores_nothing(
        site: Instance, fediverse: FakeFediverse, rsa_keypair: object) -> None:
    fediverse.serve(EVE, eve_actor(rsa_keypair.public_pem))  # type: ignore[attr-defined]  # no `portfolio`
    with site.db():
        eve = await site.federation.actors.get_actor(EVE)
        assert await Job.filter(kind=portfolio_remote.SYNC_JOB).count() == 0  # nothing to read
        activity = {"id": "https://remote.example/activities/1", "type": "Add", "actor": EVE,
                    "object": "https://remote.example/notes/1", "target": f"{EVE}/collections/tags"}
        await portfolio_remote.collection_changed(Incoming(site.federation, activity, eve, None),
                                                  activity["target"])
        await portfolio_remote.collection_changed(  # another origin's collection: not even a job
            Incoming(site.federation, activity, eve, None), "https://a.example/users/mira/portfolio")
    fetched_before = len(fediverse.requests)
    await site.run_jobs()
    with site.db():
        assert await Work.all().count() == 0 and await Status.all().count() == 0
    assert [r.url for r in fediverse.requests[fetched_before:]] == [EVE]  # one look at her document
    assert await site.dead_jobs() == []
