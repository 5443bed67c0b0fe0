"""Media over HTTP: upload through the client API (processed at once, 200 with the whole entity), update
and delete, then the files served with every no-AI and hardening header on every method and status (200,
HEAD, 304, 206, 416), never a path outside the media root, and posts federating the JPEG/PNG copies in
order. Attack uploads (security.md E) answer 415/422 and store nothing: no row, no file."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
import pytest
from PIL import Image

from cara_fed.models import Follow, MediaAttachment, Account
from cara_fed.settings import Settings
from tests.support.api import Api, ApiUser, make_user
from tests.support.servers import RunningServer
from tests.unit.media.imagegen import SECRETS, dirty_jpeg, gif_frames, jpeg_claiming, png_claiming, picture
from tests.unit.media.readback import DMI_PROHIBITED, EXIFTOOL, exiftool, xmp_description

pytestmark = pytest.mark.usefixtures("database")
NOAI = {"X-Robots-Tag": "noai, noimageai", "Content-Usage": "train-ai=n", "tdm-reservation": "1"}


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira", display_name="Mira Okafor")


def form(data: bytes, filename: str = "plate.jpg", content_type: str = "image/jpeg", **fields: str) -> aiohttp.FormData:
    body = aiohttp.FormData()
    body.add_field("file", data, filename=filename, content_type=content_type)
    for key, value in fields.items():
        body.add_field(key, value)
    return body


def stored_files(settings: Settings) -> list[Path]:
    root = Path(settings.media.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def local_path(url: str) -> str:
    return url.replace("https://art.example", "")


async def test_upload_returns_the_complete_entity_and_strips_location(
        api: Api, mira: ApiUser, settings: Settings, http: aiohttp.ClientSession, server: RunningServer) -> None:
    response = await api.post("/api/v2/media", mira, data=form(dirty_jpeg((1600, 1200)), description="ink plate",
                                                             focus="-0.5,0.25"))
    assert response.status == 200, response.body
    body = response.body
    assert body["type"] == "image" and body["description"] == "ink plate"
    # An upright JPEG is its own full-size copy (media/kept.py): the upload's image data, metadata rewritten.
    assert body["url"].startswith("https://art.example/media/") and body["url"].endswith(".jpg")
    assert body["preview_url"].endswith(".webp") and body["blurhash"]
    assert body["meta"]["original"]["width"] == 1600 and body["meta"]["small"]["width"] == 1280
    assert body["meta"]["focus"] == {"x": -0.5, "y": 0.25} and body["remote_url"] is None
    row = await MediaAttachment.get(id=int(body["id"]))
    assert row.status_id is None and row.account_id == mira.account.id
    files = stored_files(settings)
    assert len(files) == 5  # the full size (one JPEG), preview and thumbnail each WebP + JPEG
    for path in files:
        data = path.read_bytes()
        assert not any(secret in data for secret in SECRETS), path
    async with http.get(server.url + local_path(body["url"])) as served:
        data = await served.read()
    assert xmp_description(data)["DataMining"] == DMI_PROHIBITED
    if EXIFTOOL.exists():
        tags = exiftool(files)
        for entry in tags.values():
            assert not any("GPS" in key for key in entry), entry
            assert entry.get("XMP-plus:DataMining") == DMI_PROHIBITED


async def test_media_files_carry_every_header_on_every_method_and_status(
        api: Api, mira: ApiUser, http: aiohttp.ClientSession, server: RunningServer) -> None:
    body = (await api.post("/api/v2/media", mira, data=form(dirty_jpeg()))).body
    url = server.url + local_path(body["url"])

    def check(headers: aiohttp.typedefs.LooseHeaders) -> None:
        for name, value in NOAI.items():
            assert value in headers.getall(name), (name, headers)  # type: ignore[union-attr]
        assert headers["X-Content-Type-Options"] == "nosniff"  # type: ignore[index]
        assert "sandbox" in headers["Content-Security-Policy"]  # type: ignore[index]
        assert headers["tdm-policy"].startswith("https://art.example/")  # type: ignore[index]

    async with http.get(url, headers={"Accept": "text/html"}) as ok:
        assert ok.status == 200 and ok.headers["Content-Type"] == "image/jpeg"
        assert "immutable" in ok.headers["Cache-Control"] and "public" in ok.headers["Cache-Control"]
        etag = ok.headers["ETag"]
        full = await ok.read()
        check(ok.headers)
    async with http.head(url) as head:
        assert head.status == 200 and int(head.headers["Content-Length"]) == len(full)
        check(head.headers)
    async with http.get(url, headers={"If-None-Match": etag}) as cached:
        assert cached.status == 304
        check(cached.headers)
    async with http.get(url, headers={"Range": "bytes=10-19"}) as partial:
        assert partial.status == 206 and await partial.read() == full[10:20]
        assert partial.headers["Content-Range"] == f"bytes 10-19/{len(full)}"
        check(partial.headers)
    async with http.get(url, headers={"Range": f"bytes={len(full) + 10}-"}) as outside:
        assert outside.status == 416
        check(outside.headers)
    async with http.get(url, headers={"User-Agent": "Mozilla/5.0 (compatible; GPTBot/1.2; +https://openai.com/gptbot)"}) as bot:
        assert bot.status == 403


@pytest.mark.parametrize("path", [
    "/media/..%2f..%2fetc/passwd", "/media/../../etc/passwd", "/media/%2e%2e/%2e%2e/etc/passwd",
    "/media/aa/bb/aabb" + "0" * 28 + ".webp", "/media/x.jpg", "/media/" + "a" * 5000,
])
async def test_paths_that_are_not_our_storage_names_are_404(http: aiohttp.ClientSession, server: RunningServer,
                                                            path: str) -> None:
    async with http.get(server.url + path) as response:
        assert response.status in (404, 414), path
        assert "root:" not in await response.text()


def svg() -> bytes:
    return b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


def truncated_jpeg() -> bytes:
    data = dirty_jpeg((800, 600))
    return data[: len(data) // 2]


def gif_named_png() -> bytes:
    return gif_frames(2, (8, 8))


@pytest.mark.parametrize(("make", "filename", "status"), [
    (lambda: png_claiming(10_000, 10_000), "bomb.png", 422),
    (lambda: png_claiming(20_000, 20_000), "bomb.png", 422),
    (lambda: jpeg_claiming(65_535, 65_535), "bomb.jpg", 422),
    (lambda: gif_frames(10_000), "frames.gif", 422),
    (svg, "drawing.jpg", 415),
    (lambda: b"<html><body>hello</body></html>", "page.jpg", 415),
    (lambda: b"%!PS-Adobe-3.0 EPSF-3.0\n", "art.eps", 415),
    (lambda: b"8BPS\x00\x01" + b"\x00" * 40, "art.psd", 415),
    (lambda: b"SIMPLE  =                    T" + b" " * 50, "sky.fits", 415),
    (truncated_jpeg, "cut.jpg", 422),
    (lambda: b"", "empty.jpg", 415),
])
async def test_refused_uploads_store_nothing(api: Api, mira: ApiUser, settings: Settings, make: object,
                                             filename: str, status: int) -> None:
    response = await api.post("/api/v2/media", mira, data=form(make(), filename=filename))  # type: ignore[operator]
    assert response.status == status, response.body
    assert isinstance(response.body["error"], str) and response.body["error"]
    assert await MediaAttachment.all().count() == 0
    assert stored_files(settings) == []


async def test_polyglot_payload_is_gone_from_what_is_served(api: Api, mira: ApiUser, settings: Settings) -> None:
    payload = b"<html><script>alert('x')</script></html>PK\x03\x04zip-payload"
    response = await api.post("/api/v2/media", mira, data=form(dirty_jpeg() + payload))
    assert response.status == 200, response.body
    for path in stored_files(settings):
        assert b"<script>" not in path.read_bytes() and b"zip-payload" not in path.read_bytes()


async def test_client_file_names_never_reach_the_filesystem(api: Api, mira: ApiUser, settings: Settings) -> None:
    for name in ("../../app/x.py", "evil\u202egpj.exe", "a" * 5000 + ".jpg"):
        response = await api.post("/api/v2/media", mira, data=form(dirty_jpeg((64, 64)), filename=name))
        assert response.status == 200, response.body
    root = Path(settings.media.root).resolve()
    for path in stored_files(settings):
        assert path.resolve().is_relative_to(root)
        assert "x.py" not in path.name and "exe" not in path.name


async def test_bad_fields_are_422_and_store_nothing(api: Api, mira: ApiUser, settings: Settings) -> None:
    too_long = await api.post("/api/v2/media", mira, data=form(dirty_jpeg(), description="x" * 1501))
    bad_focus = await api.post("/api/v2/media", mira, data=form(dirty_jpeg(), focus="2,0"))
    no_file = await api.post("/api/v2/media", mira, data={"description": "nothing"})
    assert (too_long.status, bad_focus.status, no_file.status) == (422, 422, 422)
    assert await MediaAttachment.all().count() == 0 and stored_files(settings) == []
    reader = await make_user("reader", scopes="read")
    assert (await api.post("/api/v2/media", reader, data=form(dirty_jpeg()))).status == 403
    assert (await api.post("/api/v2/media", None, data=form(dirty_jpeg()))).status == 401
    assert await MediaAttachment.all().count() == 0


async def test_update_show_and_delete_own_unattached_media(api: Api, mira: ApiUser, settings: Settings) -> None:
    body = (await api.post("/api/v1/media", mira, data=form(dirty_jpeg((200, 100)), filename="x"))).body
    path = f"/api/v1/media/{body['id']}"
    updated = await api.put(path, mira, data={"description": "woodcut, detail", "focus": "0.1,-0.2"})
    assert updated.status == 200 and updated.body["description"] == "woodcut, detail"
    assert updated.body["meta"]["focus"] == {"x": 0.1, "y": -0.2}
    assert (await api.get(path, mira)).body["description"] == "woodcut, detail"
    other = await make_user("other")
    assert (await api.get(path, other)).status == 404
    assert (await api.put(path, other, data={"description": "mine"})).status == 404
    assert (await api.delete(path, other)).status == 404
    assert (await api.delete(path, mira)).status == 200
    assert await MediaAttachment.all().count() == 0 and stored_files(settings) == []


async def test_pixels_untouched_upload_serves_the_original_pixels(api: Api, mira: ApiUser,
                                                                  http: aiohttp.ClientSession,
                                                                  server: RunningServer) -> None:
    original = dirty_jpeg((900, 600))
    body = (await api.post("/api/v2/media", mira, data=form(original, pixels_untouched="true"))).body
    assert body["url"].endswith(".jpg")
    async with http.get(server.url + local_path(body["url"])) as response:
        served = await response.read()
    with Image.open(io.BytesIO(original)) as a, Image.open(io.BytesIO(served)) as b:
        assert a.tobytes() == b.tobytes()
    assert b"GPSLatitude" not in served and xmp_description(served)["DataMining"] == DMI_PROHIBITED


async def test_the_artists_default_keeps_pixels_untouched_unless_an_upload_says_otherwise(
        api: Api, mira: ApiUser) -> None:
    changed = await api.patch("/api/v1/accounts/update_credentials", mira, data={"source[pixels_untouched]": "1"})
    assert changed.status == 200 and changed.body["source"]["pixels_untouched"] is True
    by_default = (await api.post("/api/v2/media", mira, data=form(dirty_jpeg((300, 200))))).body
    assert by_default["url"].endswith(".jpg")  # the untouched original
    assert (await MediaAttachment.get(id=int(by_default["id"]))).pixels_untouched is True
    asked = (await api.post("/api/v2/media", mira, data=form(dirty_jpeg((300, 200)), pixels_untouched="false"))).body
    assert (await MediaAttachment.get(id=int(asked["id"]))).pixels_untouched is False


async def test_a_post_with_images_federates_the_jpeg_copies_in_order(
        api: Api, mira: ApiUser, server: RunningServer) -> None:
    ids = []
    for n in range(3):
        image = io.BytesIO()
        picture((300 + 100 * n, 200), seed=n).save(image, "PNG")
        body = (await api.post("/api/v2/media", mira, data=form(image.getvalue(), "p.png", "image/png",
                                                                description=f"plate {n}"))).body
        ids.append(body["id"])
    follower = await Account.create(username="zoe", domain="remote.example", uri="https://remote.example/users/zoe",
                                    inbox_url="https://remote.example/users/zoe/inbox")
    await Follow.create(account=follower, target_account=mira.account)
    post = (await api.post("/api/v1/statuses", mira, json={"status": "series", "media_ids": ids[::-1]})).body
    assert [m["id"] for m in post["media_attachments"]] == ids[::-1]
    async with aiohttp.ClientSession() as http:
        async with http.get(f"{server.url}/users/mira/statuses/{post['id']}",
                            headers={"Accept": "application/activity+json"}) as response:
            note = await response.json(content_type=None)
    names = [a["name"] for a in note["attachment"]]
    assert names == ["plate 2", "plate 1", "plate 0"]
    assert all(a["mediaType"] in ("image/jpeg", "image/png") for a in note["attachment"])
    assert all(a["url"].rsplit(".", 1)[-1] in ("jpg", "png") for a in note["attachment"])
    assert note["attachment"][0]["width"] == 500 and note["attachment"][0]["blurhash"]
