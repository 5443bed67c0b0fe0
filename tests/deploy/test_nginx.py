"""The deployment guide's nginx config (docs/nginx/cara_fed.conf), run for real: nginx on loopback with TLS
in front of a real `cara-fed serve` process (X-Accel-Redirect on), and a profile page, an actor document, an
upload and its media file fetched through it with the right headers (the media bytes sent by nginx itself).

Only the deployment-specific values are replaced: the public port, the certificate, the app's port, the
media directory. Skipped where nginx is not installed (Debian's nginx-light; .ci/run installs it)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from cara_fed import db
from cara_fed.models import User
from cara_fed.services.tokens import issue_token
from cara_fed.settings import DatabaseSettings
from tests.interop.serve_process import ServedInstance, logs_on_failure, serve_instance
from tests.support.ports import free_port
from tests.support.tls import FakeTLS
from tests.unit.media.imagegen import dirty_jpeg

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
CONFIG = Path(__file__).resolve().parents[2] / "docs" / "nginx" / "cara_fed.conf"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(not Path(NGINX).exists(), reason="nginx is not installed (apt-get install "
                                 "nginx-light; .ci/run installs it)")]


def render(public_port: int, app_port: int, tls: FakeTLS, media_root: Path, workdir: Path) -> Path:
    """The guide's server blocks with this test's values, inside a minimal nginx.conf of its own."""
    text = CONFIG.read_text()
    # Only the TLS server: the port-80 redirect block is for the public internet.
    text = re.sub(r"server \{\n    listen 80;.*?\n\}\n", "", text, count=1, flags=re.DOTALL)
    text = text.replace("listen 443 ssl http2;", f"listen 127.0.0.1:{public_port} ssl http2;")
    text = text.replace("    listen [::]:443 ssl http2;\n", "")
    text = text.replace("/etc/letsencrypt/live/art.example/fullchain.pem", str(tls.cert_file))
    text = text.replace("/etc/letsencrypt/live/art.example/privkey.pem", str(tls.key_file))
    text = text.replace("server 127.0.0.1:8000;", f"server 127.0.0.1:{app_port};")
    text = text.replace("/srv/cara_fed/data/media/", str(media_root) + "/")
    text = text.replace("https://art.example/", f"https://art.example:{public_port}/")
    site = workdir / "cara_fed.conf"
    site.write_text(text)
    temp = workdir / "temp"
    temp.mkdir(exist_ok=True)
    main = workdir / "nginx.conf"
    user = "user root;\n" if os.geteuid() == 0 else ""  # workers must read the test's private tmp dirs
    main.write_text(
        f"{user}worker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log info;\n"
        "daemon off;\nevents { worker_connections 64; }\n"
        "http {\n    include /etc/nginx/mime.types;\n    default_type application/octet-stream;\n"
        f"    access_log {workdir}/access.log;\n"
        + "".join(f"    {kind}_temp_path {temp}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi",
                                                                          "uwsgi", "scgi"))
        + f"    include {site};\n}}\n")
    return main


@pytest.fixture
def nginx_port() -> int:
    return free_port()


@pytest.fixture
async def app(database_url: str, tmp_path: Path, nginx_port: int) -> AsyncIterator[ServedInstance]:
    env = {"CARA_FED_INSTANCE_DOMAIN": f"art.example:{nginx_port}", "CARA_FED_MEDIA_ACCEL_REDIRECT": "/_media/",
           "CARA_FED_RATE_LIMITS_TRUSTED_PROXIES": "127.0.0.1", "CARA_FED_FEDERATION_ALLOW_HTTP": "false"}
    async with serve_instance("behind nginx", database_url, tmp_path / "app", users=["mira"],
                              extra_env=env) as served:
        yield served


@pytest.fixture
def nginx(app: ServedInstance, nginx_port: int, test_tls: FakeTLS, tmp_path: Path) -> Iterator[Path]:
    workdir = tmp_path / "nginx"
    workdir.mkdir()
    config = render(nginx_port, app.port, test_tls, app.workdir / "media", workdir)
    checked = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    process = subprocess.Popen([NGINX, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               start_new_session=True)
    try:
        yield workdir
    finally:
        os.killpg(process.pid, signal.SIGQUIT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


async def token_for(app: ServedInstance, username: str) -> str:
    async with db.database(DatabaseSettings(url=app.env["CARA_FED_DATABASE_URL"])):
        user = await User.get(account__username=username)
        return (await issue_token(None, user, ["read", "write"])).access_token


def client(tls: FakeTLS, port: int) -> aiohttp.ClientSession:
    """Resolves art.example to loopback and trusts the test CA, as a browser on the internet would."""
    class Loopback(aiohttp.abc.AbstractResolver):
        async def resolve(self, host: str, port: int = 0, family: int = 0) -> list[dict[str, object]]:
            return [{"hostname": host, "host": "127.0.0.1", "port": port, "family": 2, "proto": 0, "flags": 0}]

        async def close(self) -> None:
            return None

    connector = aiohttp.TCPConnector(resolver=Loopback(), ssl=tls.client_context())
    return aiohttp.ClientSession(connector=connector)


NOAI = {"X-Robots-Tag": "noai, noimageai", "Content-Usage": "train-ai=n", "tdm-reservation": "1"}


def assert_noai(headers: aiohttp.typedefs.LooseHeaders) -> None:
    for name, value in NOAI.items():  # (an artist's pages may add ", search=n" to Content-Usage)
        values = headers.getall(name)  # type: ignore[union-attr]
        assert any(v.startswith(value) for v in values), (name, list(headers.items()))  # type: ignore[union-attr]
    assert headers.get("Strict-Transport-Security") == "max-age=31536000"  # type: ignore[union-attr]


async def wait_for_nginx(http: aiohttp.ClientSession, base: str, workdir: Path) -> None:
    for _ in range(200):
        try:
            async with http.get(base + "/health") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    pytest.fail(f"nginx did not answer: {(workdir / 'error.log').read_text(errors='replace')[-3000:]}")


async def test_pages_actors_uploads_and_media_through_the_guides_nginx(
        app: ServedInstance, nginx: Path, nginx_port: int, test_tls: FakeTLS) -> None:
    base = f"https://art.example:{nginx_port}"
    token = await token_for(app, "mira")
    with logs_on_failure(app):
        async with client(test_tls, nginx_port) as http:
            await wait_for_nginx(http, base, nginx)
            async with http.get(base + "/@mira", headers={"Accept": "text/html"}) as page:
                assert page.status == 200 and page.content_type == "text/html"
                assert_noai(page.headers)
                assert "mira" in await page.text()
            async with http.get(base + "/users/mira", headers={"Accept": "application/activity+json"}) as actor:
                assert actor.status == 200 and "activity+json" in actor.headers["Content-Type"]
                document = await actor.json(content_type=None)
                assert document["id"] == f"{base}/users/mira"
                assert_noai(actor.headers)
            form = aiohttp.FormData()
            form.add_field("file", dirty_jpeg((1200, 800)), filename="plate.jpg", content_type="image/jpeg")
            form.add_field("description", "an etching, through nginx")
            async with http.post(base + "/api/v2/media", data=form,
                                 headers={"Authorization": f"Bearer {token}"}) as uploaded:
                assert uploaded.status == 200, await uploaded.text()
                media = await uploaded.json()
            assert media["url"].startswith(f"{base}/media/")
            async with http.get(media["url"]) as served:
                body = await served.read()
                assert served.status == 200 and served.headers["Content-Type"] == "image/jpeg"  # the kept upload
                assert_noai(served.headers)
                assert served.headers["X-Content-Type-Options"] == "nosniff"
                assert "sandbox" in served.headers["Content-Security-Policy"]
                assert "immutable" in served.headers["Cache-Control"]
                assert "X-Accel-Redirect" not in served.headers
                assert served.headers["Server"].startswith("nginx")
                etag = served.headers["ETag"]
            on_disk = (app.workdir / "media" / media["url"].split("/media/", 1)[1]).read_bytes()
            assert body == on_disk  # nginx sent the file itself
            async with http.get(media["url"], headers={"If-None-Match": etag}) as cached:
                assert cached.status == 304
                assert_noai(cached.headers)
            async with http.get(media["url"], headers={"Range": "bytes=0-99"}) as partial:
                assert partial.status == 206 and await partial.read() == on_disk[:100]
                assert_noai(partial.headers)
            async with http.get(base + "/_media/" + media["url"].split("/media/", 1)[1]) as direct:
                assert direct.status == 404  # internal: only through the app's X-Accel-Redirect
            async with http.get(base + "/media/../../etc/passwd") as traversal:
                assert traversal.status in (400, 404)
    access = (nginx / "access.log").read_text()
    assert "/api/v2/media" in access and "/@mira" in access
