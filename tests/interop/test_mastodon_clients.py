"""Real Mastodon API clients against a real `cara-fed serve` process on loopback (issue 4, Acceptance, "Real
clients in tests"): Mastodon.py 2.3 and toot 0.52, installed as test extras, talk HTTP to the server exactly
as they talk to Mastodon; nothing runs in-process.

- Mastodon.py: app, password-grant login, instance and verify_credentials, four images with alt text and a
  focus point, a post with them on the home and public timelines, a favourite and a boost of another local
  user's post and that user's notifications, resolving and following an artist on a second `cara-fed serve`
  (the federation test peer: WebFinger, actor fetch, signed Follow and Accept between the two processes),
  and deleting the post.
- toot: `login_cli`, `post` with an image and alt text, `timelines home`.

Every JSON answer the clients receive is recorded (a requests session hook for Mastodon.py; toot's --json
output) and checked: entities against openapi.json (tests/support/api.py check_shape) and ids as numeric
strings, which Mastodon.py would hide (it accepts ints too)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest
import requests
from mastodon import Mastodon, MastodonNotFoundError
from PIL import Image, ImageDraw

from tests.interop.processes import poll, run_command
from tests.interop.serve_process import ServedInstance, logs_on_failure, serve_instance
from tests.support.api import check_shape
from tests.support.databases import DatabaseFactory

pytestmark = pytest.mark.slow  # starts real `cara-fed serve` processes

SCOPES = ["read", "write", "follow", "push"]  # what Mastodon.py asks for by default
REQUEST_TIMEOUT = 30.0  # a hung request fails the test instead of hanging it
TOOT_TIMEOUT = 60.0
FEDERATION_TIMEOUT = 30.0  # deliveries between the two processes: ~1 s here, generous on a busy machine
_TOOT_SCRIPT = Path(sys.executable).with_name("toot")
TOOT = [str(_TOOT_SCRIPT)] if _TOOT_SCRIPT.exists() else [sys.executable, "-m", "toot"]


# -- fixtures ------------------------------------------------------------------------------------------------


@pytest.fixture
async def instance(database_url: str, tmp_path: Path) -> AsyncIterator[ServedInstance]:
    """cara_fed on http://127.0.0.1:PORT with two local artists, mira and noor."""
    async with serve_instance("local", database_url, tmp_path / "local", users=["mira", "noor"]) as served:
        yield served


@pytest.fixture
async def peer(database_factory: DatabaseFactory, tmp_path: Path) -> AsyncIterator[ServedInstance]:
    """The federation test peer: a second `cara-fed serve` (another port, its own database) with an artist."""
    url = await database_factory.new_url()
    try:
        async with serve_instance("peer", url, tmp_path / "peer", users=["artist"]) as served:
            yield served
    finally:
        await database_factory.drop(url)


# -- what the clients received -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Answer:
    method: str
    path: str
    status: int
    body: Any


class RecordingSession(requests.Session):
    """A requests session for Mastodon.py that keeps every answer (its JSON body parsed)."""

    def __init__(self) -> None:
        super().__init__()
        self.answers: list[Answer] = []
        self.hooks["response"].append(self._record)

    def _record(self, response: requests.Response, *_args: Any, **_kwargs: Any) -> None:
        try:
            body = response.json()
        except ValueError:
            body = None
        assert response.request.method is not None
        self.answers.append(Answer(response.request.method, urlsplit(response.url).path, response.status_code,
                                   body))

    def calls(self) -> list[str]:
        return [f"{a.method} {a.path} -> {a.status}" for a in self.answers]


def id_problems(body: Any, where: str = "") -> list[str]:
    """Every "id" (and "*_id") in an entity that is not a numeric string (Ivory and others need those).
    Roles are left out: Mastodon's everyone role, the one a plain user has, is id "-99" (UserRole)."""
    problems: list[str] = []
    if isinstance(body, dict):
        for key, value in body.items():
            if key in ("role", "roles"):
                continue
            if (key == "id" or key.endswith("_id")) and value is not None and not (
                    isinstance(value, str) and value.isdigit()):
                problems.append(f"{where}/{key}: {value!r}")
            problems += id_problems(value, f"{where}/{key}")
    elif isinstance(body, list):
        for n, item in enumerate(body):
            problems += id_problems(item, f"{where}/{n}")
    return problems


# Answers whose "id"-like fields are not Mastodon entity ids: OAuth documents (client_id is a random token).
_NOT_ENTITIES = ("/oauth/", "/.well-known/", "/api/v1/apps")


def check_answers(session: RecordingSession) -> None:
    """Every successful JSON answer: its openapi.json shape where known, and numeric string ids."""
    problems: list[str] = []
    for answer in session.answers:
        if answer.status != 200 or answer.body is None:
            continue
        label = f"{answer.method} {answer.path}"
        try:
            check_shape(answer.method, answer.path, answer.status, answer.body)
        except AssertionError as exc:
            problems.append(f"{label}: {exc}")
        if not answer.path.startswith(_NOT_ENTITIES):
            problems += [f"{label}: id not a numeric string at {p}" for p in id_problems(answer.body)]
    assert not problems, "\n".join(problems)


def client(served: ServedInstance, session: RecordingSession, *, client_id: str, client_secret: str
           ) -> Mastodon:
    # version_check_mode="created": Mastodon.py reads the instance version and refuses calls the version it
    # parses does not support, as it does for its users who turn the check on.
    return Mastodon(client_id=client_id, client_secret=client_secret, api_base_url=served.base,
                    session=session, request_timeout=REQUEST_TIMEOUT, version_check_mode="created")


def log_in(served: ServedInstance, username: str, session: RecordingSession, app: tuple[str, str]
           ) -> Mastodon:
    api = client(served, session, client_id=app[0], client_secret=app[1])
    user = served.users[username]
    token = api.log_in(username=user.email, password=user.password, scopes=SCOPES, allow_http=True)
    assert token and isinstance(token, str)
    return api


def make_images(folder: Path, count: int) -> list[Path]:
    """``count`` small PNG paintings, each its own width (so their order can be told apart afterwards)."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for n in range(count):
        width, height = 320 + 40 * n, 240
        image = Image.new("RGB", (width, height), (250, 245, 235))
        draw = ImageDraw.Draw(image)
        for band in range(0, width, 16):
            draw.rectangle((band, 0, band + 7, height), fill=((band * 3 + 60 * n) % 256, 90 + 30 * n, 160))
        draw.ellipse((width // 4, height // 4, 3 * width // 4, 3 * height // 4), fill=(30, 30 + 50 * n, 120))
        path = folder / f"plate-{n}.png"
        image.save(path)
        paths.append(path)
    return paths


def ids(statuses: Any) -> list[str]:
    return [str(status.id) for status in statuses]


# -- Mastodon.py ---------------------------------------------------------------------------------------------


async def test_mastodon_py_posts_four_images_interacts_follows_a_remote_artist_and_deletes(
        instance: ServedInstance, peer: ServedInstance, tmp_path: Path) -> None:
    session = RecordingSession()

    async def explain() -> str:  # for a poll that times out; logs_on_failure adds both servers' logs
        return "\n".join(["--- Mastodon.py's last 40 calls ---", *session.calls()[-40:]])

    with logs_on_failure(instance, peer):
        # 1. The app, the password grant, the instance and the account.
        app = Mastodon.create_app("cara interop (Mastodon.py)", scopes=SCOPES, api_base_url=instance.base,
                                  session=session, request_timeout=REQUEST_TIMEOUT)
        assert all(isinstance(part, str) and part for part in app), app
        mira = log_in(instance, "mira", session, app)
        token_answer = next(a for a in session.answers if a.path == "/oauth/token")
        assert set(token_answer.body["scope"].split()) >= set(SCOPES), token_answer.body
        assert isinstance(token_answer.body["created_at"], int), token_answer.body

        info = mira.instance()  # v2, as Mastodon.py picks for a 4.x server
        assert info.domain == instance.domain, info
        assert str(info.version).startswith("4.2.0 (compatible; cara-fed "), info.version
        assert info.configuration.statuses.max_media_attachments >= 4, info.configuration
        assert mira.instance_v1().uri == instance.domain
        assert mira.retrieve_mastodon_version() == "4.2.0"  # what version_check_mode parsed

        me = mira.account_verify_credentials()
        assert (me.username, me.acct) == ("mira", "mira"), me
        assert me.url == f"{instance.base}/@mira", me.url
        assert me.source is not None and me.source.privacy == "public", me.source

        # 2. Four images, each with alt text and a focus point, uploaded and posted in that order.
        images = make_images(tmp_path / "images", 4)
        uploaded = []
        for n, path in enumerate(images):
            focus = (round(-0.5 + n * 0.3, 2), round(0.25 - n * 0.2, 2))
            media = mira.media_post(str(path), description=f"Plate {n + 1}: ink and gouache on paper",
                                    focus=focus)
            assert media.type == "image", media
            assert media.url and str(media.url).startswith(f"{instance.base}/"), media
            assert media.preview_url, media
            assert media.description == f"Plate {n + 1}: ink and gouache on paper", media
            assert (media.meta.focus.x, media.meta.focus.y) == focus, media.meta
            assert media.meta.original.width == 320 + 40 * n, media.meta
            uploaded.append(media)
        upload_answers = [a for a in session.answers if a.path == "/api/v2/media"]
        assert [a.status for a in upload_answers] == [200] * 4  # processed synchronously: url already set

        status = mira.status_post("Four plates from the harbour series #ink", media_ids=uploaded,
                                  visibility="public", idempotency_key="harbour-series-1")
        assert status.account.id == me.id, status.account
        assert status.visibility == "public"
        assert "Four plates from the harbour series" in status.content, status.content
        attached = status.media_attachments
        assert [str(m.id) for m in attached] == [str(m.id) for m in uploaded], "media order not kept"
        assert [m.description for m in attached] == [m.description for m in uploaded]
        assert [(m.meta.focus.x, m.meta.focus.y) for m in attached] == [
            (m.meta.focus.x, m.meta.focus.y) for m in uploaded]
        assert all(m.url for m in attached)
        again = mira.status_post("Four plates from the harbour series #ink", media_ids=uploaded,
                                 visibility="public", idempotency_key="harbour-series-1")
        assert str(again.id) == str(status.id), "the Idempotency-Key did not prevent a second post"
        async with aiohttp.ClientSession() as http, http.get(str(attached[0].url)) as response:
            assert response.status == 200, response
            assert response.content_type.startswith("image/"), response.content_type

        # 3. The post is on mira's home timeline and on the public timeline.
        assert str(status.id) in ids(mira.timeline_home()), "the post is not on the home timeline"
        assert str(status.id) in ids(mira.timeline_public()), "the post is not on the public timeline"
        assert str(status.id) in ids(mira.timeline_public(local=True))

        # 4. mira favourites and boosts noor's post; noor sees both notifications.
        noor = log_in(instance, "noor", session, app)
        sketch = noor.status_post("Charcoal study of the lighthouse", visibility="public")
        favourited = mira.status_favourite(sketch)
        assert favourited.favourited is True and favourited.favourites_count == 1, favourited
        boost = mira.status_reblog(sketch)
        assert boost.reblog is not None and str(boost.reblog.id) == str(sketch.id), boost
        assert boost.reblog.reblogged is True and boost.reblog.reblogs_count == 1, boost.reblog
        assert str(boost.account.id) == str(me.id)

        async def both_notifications() -> Any:
            found = {n.type: n for n in noor.notifications() if n.type in ("favourite", "reblog")}
            return found if len(found) == 2 else None

        notes = await poll("noor's favourite and reblog notifications", both_notifications, explain=explain)
        for kind, note in notes.items():
            assert str(note.account.id) == str(me.id), (kind, note.account)
            assert note.status is not None and str(note.status.id) == str(sketch.id), (kind, note.status)
        assert [n.type for n in noor.notifications(types=["favourite"])] == ["favourite"]

        # 5. The federation test peer: its artist has a public post; mira resolves her and follows her.
        peer_app = Mastodon.create_app("cara interop peer", scopes=SCOPES, api_base_url=peer.base,
                                       session=session, request_timeout=REQUEST_TIMEOUT)
        artist = log_in(peer, "artist", session, peer_app)
        painting = artist.status_post("Oil on linen, 40 x 50: the estuary at dawn", visibility="public")

        handle = f"artist@{peer.domain}"
        found = mira.search_v2(f"@{handle}", resolve=True, result_type="accounts")
        assert [a.acct for a in found.accounts] == [handle], found.accounts
        remote = found.accounts[0]
        assert remote.url == f"{peer.base}/@artist", remote.url
        assert remote.uri == f"{peer.base}/users/artist", remote.uri

        relationship = mira.account_follow(remote)
        assert relationship.following or relationship.requested, relationship

        async def following() -> bool:
            return bool(mira.account_relationships(remote)[0].following)

        await poll(f"mira following {handle} (the peer's Accept)", following, timeout=FEDERATION_TIMEOUT,
                   explain=explain)

        async def artist_sees_follower() -> bool:
            followers = artist.account_followers(artist.me())
            return any(f.acct == f"mira@{instance.domain}" for f in followers)

        await poll("the artist's followers on the peer to list mira", artist_sees_follower,
                   timeout=FEDERATION_TIMEOUT, explain=explain)

        # Her earlier post resolves by the link people paste, its page URL (/@artist/ID: the peer answers
        # with the canonical object, fetched again by its id); the next one reaches mira's home timeline
        # by delivery.
        by_url = mira.search_v2(str(painting.url), resolve=True, result_type="statuses")
        assert [s.uri for s in by_url.statuses] == [painting.uri], by_url.statuses
        profile = mira.search_v2(f"{peer.base}/@artist", resolve=True, result_type="accounts")
        assert [a.acct for a in profile.accounts] == [f"artist@{peer.domain}"], profile.accounts
        assert "the estuary at dawn" in by_url.statuses[0].content
        fresh = artist.status_post("Study for the estuary, second state", visibility="public")

        async def delivered() -> Any:
            return next((s for s in mira.timeline_home() if s.uri == fresh.uri), None)

        arrived = await poll("the artist's new post on mira's home timeline", delivered,
                             timeout=FEDERATION_TIMEOUT, explain=explain)
        assert arrived.account.acct == handle, arrived.account

        # 6. mira deletes her post: it is gone, from the timelines too.
        deleted = mira.status_delete(status)
        assert str(deleted.id) == str(status.id), deleted
        with pytest.raises(MastodonNotFoundError):
            mira.status(status)
        assert str(status.id) not in ids(mira.timeline_home())
        assert str(status.id) not in ids(mira.timeline_public())

        check_answers(session)
        assert not [a for a in session.answers if a.status >= 500], session.calls()


# -- toot ----------------------------------------------------------------------------------------------------


async def test_toot_logs_in_posts_an_image_with_alt_text_and_reads_its_timeline(
        instance: ServedInstance, tmp_path: Path) -> None:
    noor = instance.users["noor"]
    home = tmp_path / "toot-home"
    (home / "config").mkdir(parents=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CARA_FED_", "TOOT_"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / "config"), COLUMNS="100", NO_COLOR="1")
    [image] = make_images(tmp_path / "images", 1)
    alt = "A harbour at night: ink wash, the lighthouse beam in white gouache"
    text = "New piece from the harbour series"

    async def toot(*args: str) -> tuple[str, str]:
        code, stdout, stderr = await run_command([*TOOT, *args], cwd=tmp_path, env=env, timeout=TOOT_TIMEOUT)
        assert code == 0, f"$ toot {' '.join(args)}\n[exit {code}]\n[stdout]\n{stdout}\n[stderr]\n{stderr}"
        return stdout, stderr

    with logs_on_failure(instance):
        # toot takes a base URL (http:// kept as given) and the password as a hidden option.
        out, _ = await toot("login_cli", "--instance", instance.base, "--email", noor.email,
                            "--password", noor.password)
        assert "Successfully logged in" in out, out
        config = json.loads((home / "config" / "toot" / "config.json").read_text())
        assert config["active_user"] == f"noor@{instance.domain}", config
        token = config["users"][config["active_user"]]["access_token"]

        out, _ = await toot("post", "--media", str(image), "--description", alt, "--visibility", "public",
                            text)
        prefix = f"Toot posted: {instance.base}/@noor/"
        posted = next((line for line in out.splitlines() if line.startswith(prefix)), None)
        assert posted is not None, out
        status_id = posted.removeprefix(prefix).strip()
        assert status_id.isdigit(), posted

        out, _ = await toot("timelines", "home", "--no-pager", "--no-clear")
        assert text in out and f"ID {status_id}" in out, out
        out, _ = await toot("timelines", "home", "--json")
        timeline = json.loads(out)
        mine = next((s for s in timeline if s["id"] == status_id), None)
        assert mine is not None, [s["id"] for s in timeline]
        check_shape("GET", "/api/v1/timelines/home", 200, timeline)
        assert id_problems(timeline) == []

        # What the server stored, read back through the API with toot's own token.
        async with aiohttp.ClientSession() as http, http.get(
                f"{instance.base}/api/v1/statuses/{status_id}",
                headers={"Authorization": f"Bearer {token}"}) as response:
            assert response.status == 200, await response.text()
            stored = await response.json()
        check_shape("GET", f"/api/v1/statuses/{status_id}", 200, stored)
        assert text in stored["content"], stored["content"]
        assert stored["visibility"] == "public"
        [media] = stored["media_attachments"]
        assert media["type"] == "image" and media["url"], media
        assert media["description"] == alt, media
        assert media["meta"]["original"]["width"] == 320, media["meta"]
        assert stored["account"]["acct"] == "noor"
