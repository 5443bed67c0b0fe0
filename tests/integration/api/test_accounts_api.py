"""Accounts through the client API over real HTTP: the signed-in account and its profile changes (form,
JSON and multipart bodies, validation that stores nothing, the actor Update reaching followers' servers),
any account by id or handle, its statuses as each reader may see them, and its followers and following
with Link paging. Every entity is checked against the OpenAPI description."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from activitypub.keys import KeyPair
from cara_fed.federation.delivery import FANOUT_JOB
from cara_fed.models import Account, Follow, FollowRequest, Job, MediaAttachment, Status, StatusPin, Tag, User
from cara_fed.settings import Settings
from tests.integration.api.peers import Peer, remote_account, run_jobs, verify_signed_by
from tests.support.api import Api, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.openapi import assert_entities, assert_entity
from tests.support.servers import RunningServer
from tests.unit.media.imagegen import SECRETS, dirty_jpeg

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
async def api(http: aiohttp.ClientSession, server: RunningServer) -> AsyncIterator[Api]:
    yield Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira", display_name="Mira Okafor")


@pytest.fixture
async def juno() -> ApiUser:
    return await make_user("juno")


@pytest.fixture
def zoe(fediverse: FakeFediverse, rsa_keypair: KeyPair) -> Peer:
    return Peer(fediverse, rsa_keypair, "zoe")


def links(headers: dict[str, str]) -> dict[str, dict[str, list[str]]]:
    """``Link`` header -> {rel: query parameters}."""
    found = {}
    for part in headers.get("Link", "").split(", "):
        if part:
            url, rel = part.split("; ")
            found[rel.split('"')[1]] = parse_qs(urlsplit(url.strip("<>")).query)
    return found


# -- verify_credentials ------------------------------------------------------------------------------------

async def test_verify_credentials_is_a_credential_account(api: Api, mira: ApiUser) -> None:
    response = await api.get("/api/v1/accounts/verify_credentials", mira)
    assert response.status == 200, response.body
    body = response.body
    assert_entity("CredentialAccount", body)
    assert body["id"] == str(mira.account.id) and body["username"] == "mira" and body["acct"] == "mira"
    assert body["display_name"] == "Mira Okafor" and body["url"] == "https://art.example/@mira"
    assert body["source"]["privacy"] == "public" and body["source"]["sensitive"] is False
    assert body["source"]["note"] == "" and body["source"]["fields"] == []
    assert body["source"]["follow_requests_count"] == 0
    assert body["avatar"].startswith("https://art.example/") and body["header"].startswith("https://art.example/")


@pytest.mark.parametrize(("scopes", "status"), [("profile", 200), ("read:accounts", 200), ("read", 200),
                                                ("write", 403), ("read:statuses", 403)])
async def test_verify_credentials_scopes(api: Api, scopes: str, status: int) -> None:
    user = await make_user("scoped", scopes=scopes)
    response = await api.get("/api/v1/accounts/verify_credentials", user)
    assert response.status == status, response.body
    if status == 403:
        assert response.body == {"error": "This action is outside the authorized scopes"}


async def test_verify_credentials_needs_a_token(api: Api) -> None:
    response = await api.get("/api/v1/accounts/verify_credentials")
    assert response.status == 401 and response.body == {"error": "The access token is invalid"}


# -- update_credentials ------------------------------------------------------------------------------------

async def test_update_credentials_with_a_form(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    form = {
        "display_name": "Mira O.", "note": "Etcher. Prints at https://mira.example\n\nSee #intaglio with @juno",
        "locked": "True", "bot": "0", "discoverable": "FALSE", "indexable": "1", "hide_collections": "true",
        "fields_attributes[0][name]": "Shop", "fields_attributes[0][value]": "https://mira.example/shop",
        "fields_attributes[1][name]": "Pronouns", "fields_attributes[1][value]": "she/her",
        "fields_attributes[2][name]": "", "fields_attributes[2][value]": "",
        "source[privacy]": "unlisted", "source[sensitive]": "true", "source[language]": "de",
    }
    response = await api.patch("/api/v1/accounts/update_credentials", mira, data=form)
    assert response.status == 200, response.body
    body = response.body
    assert_entity("CredentialAccount", body)
    assert body["display_name"] == "Mira O." and body["locked"] is True and body["bot"] is False
    assert body["discoverable"] is False and body["indexable"] is True and body["hide_collections"] is True
    assert body["note"].startswith("<p>Etcher. Prints at <a href=\"https://mira.example\"")
    assert 'href="https://art.example/tags/intaglio"' in body["note"]
    assert 'href="https://art.example/@juno"' in body["note"]  # a known local account is linked
    assert body["source"]["note"] == form["note"]
    assert [(f["name"], f["value"]) for f in body["source"]["fields"]] == [
        ("Shop", "https://mira.example/shop"), ("Pronouns", "she/her")]  # the blank pair is dropped
    assert [f["name"] for f in body["fields"]] == ["Shop", "Pronouns"]
    assert body["source"]["privacy"] == "unlisted" and body["source"]["sensitive"] is True
    assert body["source"]["language"] == "de"
    user = await User.get(id=mira.user.id)
    assert (user.default_visibility, user.default_sensitive, user.default_language) == ("unlisted", True, "de")
    again = await api.get("/api/v1/accounts/verify_credentials", mira)
    assert_entity("CredentialAccount", again.body)
    assert again.body["display_name"] == "Mira O." and again.body["source"]["note"] == form["note"]


async def test_update_credentials_with_json_changes_only_what_is_sent(api: Api, mira: ApiUser) -> None:
    await Account.filter(id=mira.account.id).update(note_source="old bio", note="<p>old bio</p>", locked=True)
    response = await api.patch("/api/v1/accounts/update_credentials", mira, json={
        "bot": True, "fields_attributes": [{"name": "Site", "value": "art"}], "source": {"language": ""}})
    assert response.status == 200, response.body
    assert_entity("CredentialAccount", response.body)
    assert response.body["bot"] is True and response.body["locked"] is True
    assert response.body["source"]["note"] == "old bio" and response.body["display_name"] == "Mira Okafor"
    assert response.body["fields"][0]["name"] == "Site"
    assert (await User.get(id=mira.user.id)).default_language is None


async def test_update_credentials_multipart_without_files(api: Api, mira: ApiUser) -> None:
    form = aiohttp.FormData()
    form.add_field("display_name", "Mira (multipart)")
    form.add_field("fields_attributes[0][name]", "Studio")
    form.add_field("fields_attributes[0][value]", "Lagos")
    response = await api.patch("/api/v1/accounts/update_credentials", mira, data=form)
    assert response.status == 200, response.body
    assert_entity("CredentialAccount", response.body)
    assert response.body["display_name"] == "Mira (multipart)"
    assert response.body["source"]["fields"][0]["value"] == "Lagos"


def media_files(settings: Settings) -> list[Path]:
    root = Path(settings.media.root)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.mark.parametrize("field", ["avatar", "header"])
async def test_avatar_and_header_go_through_the_media_pipeline(api: Api, mira: ApiUser, field: str,
                                                               settings: Settings, http: aiohttp.ClientSession,
                                                               server: RunningServer) -> None:
    form = aiohttp.FormData()
    form.add_field("display_name", "Mira, new look")
    form.add_field(field, dirty_jpeg((900, 900)), filename="../../me.jpg", content_type="image/jpeg")
    response = await api.patch("/api/v1/accounts/update_credentials", mira, data=form)
    assert response.status == 200, response.body
    url = response.body[field]
    assert url.startswith("https://art.example/media/") and url == response.body[f"{field}_static"]
    stored = await Account.get(id=mira.account.id)
    assert getattr(stored, f"{field}_path") and stored.display_name == "Mira, new look"
    async with http.get(server.url + url.replace("https://art.example", "")) as served:
        data = await served.read()
        assert served.status == 200 and served.headers["X-Robots-Tag"] == "noai, noimageai"
    assert not any(secret in data for secret in SECRETS)
    assert len(media_files(settings)) == 1  # only the kept copy: the other renditions are removed
    replaced = aiohttp.FormData()
    replaced.add_field(field, dirty_jpeg((400, 400)), filename="again.jpg", content_type="image/jpeg")
    assert (await api.patch("/api/v1/accounts/update_credentials", mira, data=replaced)).status == 200
    assert len(media_files(settings)) == 1  # the old one is gone


@pytest.mark.parametrize("field", ["avatar", "header"])
async def test_a_bad_avatar_or_header_changes_nothing(api: Api, mira: ApiUser, field: str,
                                                      settings: Settings) -> None:
    form = aiohttp.FormData()
    form.add_field("display_name", "Not stored")
    form.add_field(field, b"<svg><script>alert(1)</script></svg>", filename="me.png", content_type="image/png")
    response = await api.patch("/api/v1/accounts/update_credentials", mira, data=form)
    assert response.status == 415 and response.body["error"]
    stored = await Account.get(id=mira.account.id)
    assert stored.display_name == "Mira Okafor" and getattr(stored, f"{field}_path") is None
    too_long = aiohttp.FormData()
    too_long.add_field("display_name", "x" * 31)
    too_long.add_field(field, dirty_jpeg((64, 64)), filename="me.jpg", content_type="image/jpeg")
    assert (await api.patch("/api/v1/accounts/update_credentials", mira, data=too_long)).status == 422
    assert media_files(settings) == []  # the processed image of the refused change was removed


@pytest.mark.parametrize(("form", "message"), [
    ({"display_name": "x" * 31}, "Display name is too long"),
    ({"note": "x" * 501}, "Note is too long"),
    ({**{f"fields_attributes[{i}][name]": f"n{i}" for i in range(5)},
      **{f"fields_attributes[{i}][value]": "v" for i in range(5)}}, "Fields is too long"),
    ({"fields_attributes[0][name]": "n" * 256, "fields_attributes[0][value]": "v"}, "Field name is too long"),
    ({"fields_attributes[0][name]": "n", "fields_attributes[0][value]": "v" * 256}, "Field value is too long"),
    ({"source[privacy]": "direct"}, "privacy must be one of"),
    ({"source[language]": "klingon!"}, "language is not a valid"),
])
async def test_invalid_profile_changes_store_nothing(api: Api, mira: ApiUser, form: dict[str, str],
                                                     message: str) -> None:
    response = await api.patch("/api/v1/accounts/update_credentials", mira,
                               data={"display_name": "Changed?", "locked": "true", **form} if "display_name" not in form
                               else {"locked": "true", **form})
    assert response.status == 422, response.body
    assert response.body["error"].startswith("Validation failed: ") and message in response.body["error"]
    account = await Account.get(id=mira.account.id)
    assert account.display_name == "Mira Okafor" and account.locked is False and account.profile_fields == []
    assert not await Job.filter(kind=FANOUT_JOB).exists()


async def test_update_credentials_needs_write_accounts(api: Api) -> None:
    reader = await make_user("reader", scopes="read")
    response = await api.patch("/api/v1/accounts/update_credentials", reader, data={"display_name": "x"})
    assert response.status == 403


async def test_a_profile_change_federates_an_update_to_followers(api: Api, mira: ApiUser, zoe: Peer,
                                                                 settings: Settings, fediverse: FakeFediverse) -> None:
    follower = await remote_account(zoe)
    await Follow.create(account=follower, target_account=mira.account)
    response = await api.patch("/api/v1/accounts/update_credentials", mira,
                               data={"display_name": "Mira Okafor-Lee", "note": "New bio"})
    assert response.status == 200
    assert await Job.filter(kind=FANOUT_JOB).count() == 1  # queued with the change, in its transaction
    await run_jobs(settings, fediverse)
    [update] = zoe.received()
    assert update["type"] == "Update" and update["actor"] == "https://art.example/users/mira"
    assert update["object"]["id"] == "https://art.example/users/mira" and update["object"]["type"] == "Person"
    assert update["object"]["name"] == "Mira Okafor-Lee" and update["object"]["summary"] == "<p>New bio</p>"
    assert "https://art.example/users/mira/followers" in update["cc"]
    await verify_signed_by(fediverse.posts[-1], mira.account)
    # Only the posting defaults changed: nothing public, nothing sent.
    await api.patch("/api/v1/accounts/update_credentials", mira, data={"source[privacy]": "private"})
    assert await Job.filter(kind=FANOUT_JOB).count() == 1


async def test_unlocking_accepts_the_waiting_requests(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Account.filter(id=mira.account.id).update(locked=True)
    await FollowRequest.create(account=juno.account, target_account=mira.account)
    response = await api.patch("/api/v1/accounts/update_credentials", mira, data={"locked": "false"})
    assert response.status == 200 and response.body["locked"] is False
    assert_entity("CredentialAccount", response.body)
    assert await Follow.filter(account_id=juno.account.id, target_account_id=mira.account.id).exists()
    assert not await FollowRequest.exists()


# -- one account -------------------------------------------------------------------------------------------

async def test_get_an_account_anonymously_and_with_any_token(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    for who in (None, juno, await make_user("writer", scopes="write")):
        response = await api.get(f"/api/v1/accounts/{mira.account.id}", who)
        assert response.status == 200, response.body
        assert_entity("Account", response.body)
        assert response.body["username"] == "mira" and "source" not in response.body


async def test_a_remote_account_has_its_full_acct(api: Api, zoe: Peer) -> None:
    account = await remote_account(zoe)
    response = await api.get(f"/api/v1/accounts/{account.id}")
    assert_entity("Account", response.body)
    assert response.body["acct"] == "zoe@remote.example" and response.body["url"] == "https://remote.example/@zoe"


@pytest.mark.parametrize("account_id", ["999999", "abc", "-1", "1" * 25])
async def test_unknown_accounts_are_404(api: Api, account_id: str) -> None:
    for path in ("", "/statuses", "/followers", "/following"):
        response = await api.get(f"/api/v1/accounts/{account_id}{path}")
        assert response.status == 404 and response.body == {"error": "Record not found"}


async def test_suspended_accounts_and_the_instance_actor_are_404(api: Api, mira: ApiUser) -> None:
    await Account.filter(id=mira.account.id).update(suspended_at=datetime.now(UTC))
    assert (await api.get(f"/api/v1/accounts/{mira.account.id}")).status == 404
    assert (await api.get("/api/v1/accounts/lookup", params={"acct": "mira"})).status == 404
    instance_actor = await Account.get(domain=None, actor_type="Application")
    assert (await api.get(f"/api/v1/accounts/{instance_actor.id}")).status == 404


@pytest.mark.parametrize("acct", ["mira", "@mira", "MIRA", "mira@art.example", "@Mira@ART.example"])
async def test_lookup_finds_local_accounts(api: Api, mira: ApiUser, acct: str) -> None:
    response = await api.get("/api/v1/accounts/lookup", params={"acct": acct})
    assert response.status == 200, response.body
    assert_entity("Account", response.body)
    assert response.body["id"] == str(mira.account.id)


async def test_lookup_finds_known_remote_accounts_only(api: Api, zoe: Peer, fediverse: FakeFediverse) -> None:
    account = await remote_account(zoe)
    response = await api.get("/api/v1/accounts/lookup", params={"acct": "zoe@remote.example"})
    assert response.status == 200 and response.body["id"] == str(account.id)
    assert_entity("Account", response.body)
    fediverse.requests.clear()
    for acct in ("nobody@remote.example", "nobody", "", "zoe"):
        missing = await api.get("/api/v1/accounts/lookup", params={"acct": acct})
        assert missing.status == 404 and missing.body == {"error": "Record not found"}
    assert fediverse.requests == []  # no WebFinger: the local database only


# -- an account's statuses ---------------------------------------------------------------------------------

async def post(account: Account, text: str, **fields: object) -> Status:
    return await Status.create(account=account, text=text, content=f"<p>{text}</p>", **fields)


async def test_statuses_as_each_reader_may_see_them(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    stranger = await make_user("stranger")
    public = await post(mira.account, "public")
    unlisted = await post(mira.account, "unlisted", visibility="unlisted")
    private = await post(mira.account, "followers only", visibility="private")
    direct = await post(mira.account, "direct", visibility="direct")
    await post(mira.account, "deleted", deleted_at=datetime.now(UTC))
    await Follow.create(account=juno.account, target_account=mira.account)

    async def seen(who: ApiUser | None) -> list[str]:
        response = await api.get(f"/api/v1/accounts/{mira.account.id}/statuses", who)
        assert response.status == 200, response.body
        assert_entities("Status", response.body)
        return [s["id"] for s in response.body]

    assert await seen(None) == [str(unlisted.id), str(public.id)]
    assert await seen(stranger) == [str(unlisted.id), str(public.id)]
    assert await seen(juno) == [str(private.id), str(unlisted.id), str(public.id)]
    assert await seen(mira) == [str(s.id) for s in (direct, private, unlisted, public)]


async def test_statuses_filters(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    original = await post(juno.account, "juno's")
    plain = await post(mira.account, "plain")
    with_media = await post(mira.account, "with media")
    await MediaAttachment.create(account=mira.account, status=with_media, type="image", file_path="a.webp",
                                 content_type="image/webp", description="plate")
    reply_to_other = await post(mira.account, "reply", in_reply_to=original, in_reply_to_account_id=juno.account.id)
    self_reply = await post(mira.account, "thread", in_reply_to=plain, in_reply_to_account_id=mira.account.id)
    boost = await Status.create(account=mira.account, reblog_of=original)
    tagged = await post(mira.account, "#Etching")
    tag = await Tag.create(name="etching")
    await tagged.tags.add(tag)
    await StatusPin.create(account=mira.account, status=plain)
    base = f"/api/v1/accounts/{mira.account.id}/statuses"

    async def ids(**query: str) -> list[int]:
        response = await api.get(base, params=query)
        assert response.status == 200, response.body
        assert_entities("Status", response.body)
        return [int(s["id"]) for s in response.body]

    everything = [tagged.id, boost.id, self_reply.id, reply_to_other.id, with_media.id, plain.id]
    assert await ids() == everything
    assert await ids(only_media="true") == [with_media.id]
    assert await ids(exclude_replies="1") == [tagged.id, boost.id, self_reply.id, with_media.id, plain.id]
    assert await ids(exclude_reblogs="True") == [i for i in everything if i != boost.id]
    assert await ids(pinned="true") == [plain.id]
    assert await ids(tagged="Etching") == [tagged.id]
    assert await ids(tagged="nothing") == []
    response = await api.get(base, params={"exclude_reblogs": "false"})
    boosted = next(s for s in response.body if s["id"] == str(boost.id))
    assert boosted["reblog"]["id"] == str(original.id)


async def test_statuses_paging_with_link(api: Api, mira: ApiUser) -> None:
    made = [await post(mira.account, f"n{n}") for n in range(5)]
    base = f"/api/v1/accounts/{mira.account.id}/statuses"
    first = await api.get(base, params={"limit": "2", "only_media": "false"})
    assert [s["id"] for s in first.body] == [str(made[4].id), str(made[3].id)]
    rels = links(first.headers)
    assert rels["next"]["max_id"] == [str(made[3].id)] and rels["next"]["limit"] == ["2"]
    assert rels["next"]["only_media"] == ["false"] and rels["prev"]["min_id"] == [str(made[4].id)]
    second = await api.get(base, params={"limit": "2", "max_id": str(made[3].id)})
    assert [s["id"] for s in second.body] == [str(made[2].id), str(made[1].id)]
    newer = await api.get(base, params={"limit": "2", "min_id": str(made[0].id)})
    assert [s["id"] for s in newer.body] == [str(made[2].id), str(made[1].id)]  # just newer, newest first
    since = await api.get(base, params={"limit": "2", "since_id": str(made[0].id)})
    assert [s["id"] for s in since.body] == [str(made[4].id), str(made[3].id)]
    empty = await api.get(base, params={"max_id": str(made[0].id)})
    assert empty.body == [] and "Link" not in empty.headers
    assert (await api.get(base, params={"max_id": "nope"})).status == 422


async def test_a_blocked_reader_sees_no_statuses(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    from cara_fed.models import Block

    await post(mira.account, "public")
    await Block.create(account=mira.account, target_account=juno.account)
    response = await api.get(f"/api/v1/accounts/{mira.account.id}/statuses", juno)
    assert response.status == 200 and response.body == []


# -- followers and following -------------------------------------------------------------------------------

async def test_followers_and_following_page_by_follow_row(api: Api, mira: ApiUser, zoe: Peer) -> None:
    fans = [await make_user(f"fan{n}") for n in range(3)]
    remote = await remote_account(zoe)
    rows = [await Follow.create(account=fan.account, target_account=mira.account) for fan in fans]
    rows.append(await Follow.create(account=remote, target_account=mira.account))
    await Follow.create(account=mira.account, target_account=fans[0].account)
    base = f"/api/v1/accounts/{mira.account.id}"

    first = await api.get(f"{base}/followers", params={"limit": "3"})
    assert first.status == 200
    assert_entities("Account", first.body)
    assert [a["acct"] for a in first.body] == ["zoe@remote.example", "fan2", "fan1"]
    rels = links(first.headers)
    assert rels["next"]["max_id"] == [str(rows[1].id)] and rels["prev"]["min_id"] == [str(rows[3].id)]
    rest = await api.get(f"{base}/followers", params={"limit": "3", "max_id": str(rows[1].id)})
    assert [a["acct"] for a in rest.body] == ["fan0"]
    assert_entities("Account", rest.body)
    newer = await api.get(f"{base}/followers", params={"min_id": str(rows[1].id)})
    assert [a["acct"] for a in newer.body] == ["zoe@remote.example", "fan2"]
    assert_entities("Account", newer.body)

    following = await api.get(f"{base}/following")
    assert [a["acct"] for a in following.body] == ["fan0"]
    assert_entities("Account", following.body)
    fan_following = await api.get(f"/api/v1/accounts/{fans[0].account.id}/following")
    assert [a["acct"] for a in fan_following.body] == ["mira"]


async def test_hidden_collections_are_empty_except_for_the_owner(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Follow.create(account=juno.account, target_account=mira.account)
    await Follow.create(account=mira.account, target_account=juno.account)
    await Account.filter(id=mira.account.id).update(hide_collections=True)
    for path in ("followers", "following"):
        for who in (None, juno):
            response = await api.get(f"/api/v1/accounts/{mira.account.id}/{path}", who)
            assert response.status == 200 and response.body == []
        own = await api.get(f"/api/v1/accounts/{mira.account.id}/{path}", mira)
        assert_entities("Account", own.body)
        assert [a["username"] for a in own.body] == ["juno"]
    shown = await api.get(f"/api/v1/accounts/{mira.account.id}")
    assert_entity("Account", shown.body)
    assert shown.body["followers_count"] == 1 and shown.body["hide_collections"] is True


async def test_suspended_followers_are_left_out(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Follow.create(account=juno.account, target_account=mira.account)
    await Account.filter(id=juno.account.id).update(suspended_at=datetime.now(UTC))
    response = await api.get(f"/api/v1/accounts/{mira.account.id}/followers")
    assert response.body == []
