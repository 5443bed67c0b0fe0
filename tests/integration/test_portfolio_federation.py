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

from cara_fed.models import Account, MediaAttachment, Series, Status, StatusPin, Work
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
