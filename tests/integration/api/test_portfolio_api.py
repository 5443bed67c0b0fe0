"""``/api/v1/portfolio`` over real HTTP (issue 6 point 2): works from uploads and from posts, reading (anyone,
paged), editing, reordering and removing (the owner only), series; the scopes and error conventions of
the rest of the API; the Mastodon side (a #portfolio post joins, pin/unpin)."""

from __future__ import annotations

import io

import aiohttp
import pytest
from PIL import Image

from cara_fed.models import Job, MediaAttachment, Series, Status, StatusPin, Work
from tests.support.api import Api, ApiUser, make_user
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")

BASE = "https://art.example"


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


@pytest.fixture
async def juno() -> ApiUser:
    return await make_user("juno")


async def image(owner: ApiUser, n: int) -> MediaAttachment:
    return await MediaAttachment.create(
        account=owner.account, type="image", file_path=f"{n:02d}plate.webp",
        files={"full": f"{n:02d}plate.webp", "preview": f"{n:02d}small.webp"}, content_type="image/webp",
        description=f"plate {n}", meta={"original": {"width": 1200, "height": 1600}})


def png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, "PNG")
    return out.getvalue()


async def add(api: Api, who: ApiUser, n: int, **fields: object) -> dict[str, object]:
    media = await image(who, n)
    response = await api.post("/api/v1/portfolio", who, json={"media_ids": [str(media.id)], "title": f"Plate {n}",
                                                              **fields})
    assert response.status == 200, response.body
    return response.body  # type: ignore[no-any-return]


async def test_an_artist_uploads_adds_edits_reorders_and_removes_works(api: Api, mira: ApiUser) -> None:
    # Upload two images through the media API, then make them one work (form body with Rails keys).
    uploaded = []
    for n, colour in enumerate([(200, 40, 40), (40, 40, 200)]):
        form = aiohttp.FormData()
        form.add_field("file", png(64, 48, colour), filename=f"plate{n}.png", content_type="image/png")
        form.add_field("description", f"plate {n}, ink")
        response = await api.post("/api/v2/media", mira, data=form)
        assert response.status == 200, response.body
        uploaded.append(response.body["id"])
    form_fields = [("title", "Harbour at dawn"), ("description", "Etching and aquatint."), ("medium", "etching"),
                   ("year", "2024"), ("licence", "cc-by-4.0"), ("tags[]", "etching"), ("tags[]", "harbour"),
                   ("media_ids[]", uploaded[1]), ("media_ids[]", uploaded[0])]
    response = await api.post("/api/v1/portfolio", mira, data=aiohttp.FormData(form_fields))
    assert response.status == 200, response.body
    work = response.body
    assert work["id"].isdigit() and work["account_id"] == str(mira.account.id)
    assert (work["title"], work["medium"], work["year"], work["licence"]) == ("Harbour at dawn", "etching", 2024,
                                                                            "cc-by-4.0")
    assert work["licence_url"] == "https://creativecommons.org/licenses/by/4.0/"
    assert work["url"] == f"{BASE}/@mira/works/{work['id']}"
    assert work["uri"] == f"{BASE}/users/mira/statuses/{work['status_id']}"
    assert [m["id"] for m in work["media_attachments"]] == [uploaded[1], uploaded[0]]
    assert [m["description"] for m in work["media_attachments"]] == ["plate 1, ink", "plate 0, ink"]
    assert work["media_attachments"][0]["url"].startswith(f"{BASE}/media/")
    assert work["tags"] == ["etching", "harbour"] and work["series"] is None and work["position"] == 0
    assert "Harbour at dawn" in work["content"] and work["visibility"] == "public"
    status = await api.get(f"/api/v1/statuses/{work['status_id']}", mira)
    assert status.status == 200 and status.body["pinned"] is True  # the top works are featured

    second = await add(api, mira, 7)
    third = await add(api, mira, 8)
    listed = await api.get("/api/v1/portfolio", params={"account_id": str(mira.account.id)})  # anyone may read
    assert listed.status == 200 and [w["title"] for w in listed.body] == ["Plate 8", "Plate 7", "Harbour at dawn"]
    assert {k.lower(): v for k, v in listed.headers.items()}["x-total-count"] == "3"

    page = await api.get("/api/v1/portfolio", mira, params={"limit": "2"})
    assert [w["id"] for w in page.body] == [third["id"], second["id"]]
    assert 'rel="next"' in page.headers["Link"] and "offset=2" in page.headers["Link"]
    rest = await api.get("/api/v1/portfolio", mira, params={"limit": "2", "offset": "2"})
    assert [w["id"] for w in rest.body] == [work["id"]] and 'rel="prev"' in rest.headers["Link"]

    # Edit: fields, an alt text, the licence; then reorder and remove.
    edited = await api.put(f"/api/v1/portfolio/{work['id']}", mira, json={
        "title": "Harbour at dusk", "year": None, "licence": "all-rights-reserved",
        "media_attributes": [{"id": uploaded[0], "description": "boats at dusk"}]})
    assert edited.status == 200, edited.body
    assert edited.body["title"] == "Harbour at dusk" and edited.body["year"] is None
    assert edited.body["licence_url"] == f"{BASE}/ai-policy"
    assert [m["description"] for m in edited.body["media_attachments"]] == ["plate 1, ink", "boats at dusk"]
    assert edited.body["medium"] == "etching" and edited.body["edited_at"] is not None
    source = await api.get(f"/api/v1/statuses/{work['status_id']}/source", mira)
    assert source.body["text"] == "Harbour at dusk\n\nEtching and aquatint.\n\n#etching #harbour"

    reordered = await api.post("/api/v1/portfolio/reorder", mira, json={"work_ids": [work["id"], second["id"]]})
    assert reordered.status == 200 and reordered.body == {"work_ids": [work["id"], second["id"], third["id"]]}

    removed = await api.delete(f"/api/v1/portfolio/{second['id']}", mira)
    assert removed.status == 200 and removed.body["id"] == second["id"]
    assert not await Work.filter(id=int(second["id"])).exists()
    assert (await Status.get(id=int(second["status_id"]))).deleted_at is None  # the post stays
    gone = await api.delete(f"/api/v1/portfolio/{third['id']}", mira, params={"delete_post": "true"})
    assert gone.status == 200
    assert (await Status.get(id=int(third["status_id"]))).deleted_at is not None
    assert (await api.get(f"/api/v1/portfolio/{third['id']}")).status == 404
    final = await api.get("/api/v1/portfolio", mira)
    assert [w["id"] for w in final.body] == [work["id"]]


async def test_an_existing_post_joins_by_its_id_and_a_hashtag_post_by_itself(api: Api, mira: ApiUser) -> None:
    media = [await image(mira, n) for n in (1, 2)]
    post = await api.post("/api/v1/statuses", mira, json={"status": "Lighthouse\n\nDrypoint",
                                                          "media_ids": [str(media[0].id)]})
    joined = await api.post("/api/v1/portfolio", mira, json={"status_id": post.body["id"], "medium": "drypoint"})
    assert joined.status == 200, joined.body
    assert (joined.body["title"], joined.body["description"], joined.body["medium"]) == ("Lighthouse", "Drypoint",
                                                                                         "drypoint")
    tagged = await api.post("/api/v1/statuses", mira, json={"status": "Harbour #portfolio",
                                                            "media_ids": [str(media[1].id)]})
    assert tagged.status == 200
    listed = await api.get("/api/v1/portfolio", mira)
    assert [(w["title"], w["status_id"]) for w in listed.body] == [("Harbour", tagged.body["id"]),
                                                                   ("Lighthouse", post.body["id"])]


async def test_pin_and_unpin_from_a_mastodon_client(api: Api, mira: ApiUser) -> None:
    works = [await add(api, mira, n) for n in range(5)]  # 4 3 2 1 0; featured: 4 3 2 1
    pinned = await api.post(f"/api/v1/statuses/{works[0]['status_id']}/pin", mira)
    assert pinned.status == 200 and pinned.body["pinned"] is True
    listed = await api.get("/api/v1/portfolio", mira)
    assert [w["title"] for w in listed.body][:2] == ["Plate 0", "Plate 4"]  # a pinned work goes first
    unpinned = await api.post(f"/api/v1/statuses/{works[0]['status_id']}/unpin", mira)
    assert unpinned.status == 200 and unpinned.body["pinned"] is False
    note = await api.post("/api/v1/statuses", mira, json={"status": "open for commissions"})
    before = await Job.filter(kind="federation.fanout").count()
    assert (await api.post(f"/api/v1/statuses/{note.body['id']}/pin", mira)).body["pinned"] is True
    jobs = await Job.filter(kind="federation.fanout").order_by("id").offset(before)
    assert [(j.payload["activity"]["type"], j.payload["activity"]["target"]) for j in jobs] == [
        ("Add", f"{BASE}/users/mira/collections/featured")]
    featured = await api.get(f"/api/v1/accounts/{mira.account.id}/statuses", mira, params={"pinned": "true"})
    assert featured.status == 200 and len(featured.body) == 5


async def test_series_through_the_api(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    created = await api.post("/api/v1/portfolio/series", mira, json={"name": "Harbour", "description": "plates"})
    assert created.status == 200, created.body
    series = created.body
    assert (series["name"], series["description"], series["works_count"]) == ("Harbour", "plates", 0)
    assert series["uri"] == f"{BASE}/users/mira/portfolio/series/{series['id']}"
    hills = (await api.post("/api/v1/portfolio/series", mira, json={"name": "Hills"})).body
    duplicate = await api.post("/api/v1/portfolio/series", mira, json={"name": "Harbour"})
    assert duplicate.status == 422 and duplicate.body == {"error": "Validation failed: Name has already been taken"}

    first = await add(api, mira, 1, series_id=series["id"])
    second = await add(api, mira, 2, series_id=series["id"])
    assert first["series"] == {"id": series["id"], "name": "Harbour"}
    inside = await api.post(f"/api/v1/portfolio/series/{series['id']}/reorder", mira,
                            json={"work_ids": [second["id"]]})
    assert inside.body == {"work_ids": [second["id"], first["id"]]}
    in_order = await api.get("/api/v1/portfolio", params={"account_id": str(mira.account.id),
                                                          "series_id": series["id"]})
    assert [w["id"] for w in in_order.body] == [second["id"], first["id"]]

    renamed = await api.put(f"/api/v1/portfolio/series/{series['id']}", mira, json={"name": "Harbour etchings"})
    assert renamed.body["name"] == "Harbour etchings" and renamed.body["works_count"] == 2
    ordered = await api.post("/api/v1/portfolio/series/reorder", mira, json={"series_ids": [hills["id"]]})
    assert [s["name"] for s in ordered.body] == ["Hills", "Harbour etchings"]
    public = await api.get("/api/v1/portfolio/series", params={"account_id": str(mira.account.id)})
    assert [s["id"] for s in public.body] == [hills["id"], series["id"]]
    shown = await api.get(f"/api/v1/portfolio/series/{series['id']}")
    assert shown.status == 200 and shown.body["works_count"] == 2

    # Juno cannot touch Mira's series.
    for call in (api.put(f"/api/v1/portfolio/series/{series['id']}", juno, json={"name": "mine"}),
                 api.delete(f"/api/v1/portfolio/series/{series['id']}", juno),
                 api.post(f"/api/v1/portfolio/series/{series['id']}/reorder", juno, json={"work_ids": []})):
        response = await call
        assert response.status == 404 and response.body == {"error": "Record not found"}
    deleted = await api.delete(f"/api/v1/portfolio/series/{series['id']}", mira)
    assert deleted.status == 200 and not await Series.filter(id=int(series["id"])).exists()
    assert (await api.get(f"/api/v1/portfolio/{first['id']}")).body["series"] is None


async def test_scopes_and_other_artists_works(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    work = await add(api, mira, 1)
    reader = await make_user("reader", scopes="read")
    media = await image(reader, 3)
    refused = await api.post("/api/v1/portfolio", reader, json={"media_ids": [str(media.id)], "title": "x"})
    assert refused.status == 403 and refused.body == {"error": "This action is outside the authorized scopes"}
    anonymous = await api.post("/api/v1/portfolio", json={"media_ids": [str(media.id)]})
    assert anonymous.status == 401
    assert (await api.get(f"/api/v1/portfolio/{work['id']}", reader)).status == 200
    assert (await api.get("/api/v1/portfolio")).status == 422  # whose? (no token, no account_id)

    for call in (api.put(f"/api/v1/portfolio/{work['id']}", juno, json={"title": "mine now"}),
                 api.delete(f"/api/v1/portfolio/{work['id']}", juno),
                 api.post("/api/v1/portfolio/reorder", juno, json={"work_ids": [work["id"]]})):
        response = await call
        assert response.status == 404 and response.body == {"error": "Record not found"}
    assert (await Work.get(id=int(work["id"]))).title == "Plate 1"
    assert await Status.filter(account_id=juno.account.id).count() == 0


@pytest.mark.parametrize(("body", "error"), [
    ({"title": "no images"}, "Validation failed: a work needs at least one image"),
    ({"visibility": "direct"}, "Validation failed: a work's post must be public or unlisted"),
    ({"licence": "public-domain"}, "Validation failed: licence must be one of"),
    ({"year": "last year"}, "Validation failed: year must be a whole number"),
    ({"tags": ["two words"]}, "Validation failed: 'two words' is not a valid tag"),
    ({"media_ids": ["abc"]}, "Validation failed: media_ids is not a valid id"),
    ({"series_id": "123"}, "Record not found"),
])
async def test_bad_input_is_refused_and_nothing_is_stored(api: Api, mira: ApiUser, body: dict[str, object],
                                                         error: str) -> None:
    media = await image(mira, 1)
    sent = {"media_ids": [str(media.id)], **body}
    if body == {"title": "no images"}:
        sent["media_ids"] = []
    response = await api.post("/api/v1/portfolio", mira, json=sent)
    assert response.status in (404, 422) and response.body["error"].startswith(error), response.body
    assert await Status.all().count() == 0 and await Work.all().count() == 0
    assert await Job.all().count() == 0 and await StatusPin.all().count() == 0
