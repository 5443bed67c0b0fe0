"""Account moderation (issue 7 point 2), checked from the outside: a suspended account's token stops working
on the next request, its posts leave timelines, statuses, pages and ActivityPub documents, a ``Delete`` of
the actor reaches every server that knows it (the fake fediverse records the signed POSTs), unsuspending
restores it and sends an ``Update``; silence, sensitive media, forced password resets and roles. One live
instance over HTTPS on loopback, real signatures, both databases."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from activitypub.signatures import PublicKeyRecord, verify_request
from cara_fed.errors import Conflict, Forbidden, NotFound, ValidationFailed
from cara_fed.federation.delivery import DELIVER_JOB
from cara_fed.models import (
    Account, DomainBlock, Follow, FollowRequest, Job, OAuthCode, OAuthToken, Status, User,
)
from cara_fed.services import accounts, moderation_accounts, posts, relationships
from cara_fed.services.moderation_accounts import SUSPENDED_JOB, UNSUSPENDED_JOB
from cara_fed.services.sign_in import PASSWORD_CHANGE_REQUIRED
from cara_fed.services.tokens import issue_token
from tests.support.api import Api, ApiUser
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, instances
from tests.support.oauth_flow import OAuthClient

PASSWORD = "correct horse battery"  # Instance.user's


@pytest.fixture
async def art(database_factory: DatabaseFactory, fediverse: FakeFediverse,
              tmp_path: Path) -> AsyncIterator[Instance]:
    async with instances(["a.example"], database_factory, fediverse, tmp_path) as (a,):
        yield a


@pytest.fixture
async def http(fediverse: FakeFediverse) -> AsyncIterator[aiohttp.ClientSession]:
    async with fediverse.session() as session:
        yield session


@pytest.fixture
def api(http: aiohttp.ClientSession) -> Api:
    return Api(http, "https://a.example")


async def person(art: Instance, name: str, role: str = "user") -> ApiUser:
    account = await art.user(name)
    with art.db():
        await User.filter(account_id=account.id).update(role=role)
        user = await User.get(account_id=account.id)
        issued = await issue_token(None, user, ["read", "write", "follow"])
    return ApiUser(account=account, user=user, token=issued.access_token)


async def remote(art: Instance, name: str, host: str, *, shared: bool = True) -> Account:
    with art.db():
        return await Account.create(
            username=name, domain=host, uri=f"https://{host}/users/{name}", url=f"https://{host}/@{name}",
            inbox_url=f"https://{host}/users/{name}/inbox",
            shared_inbox_url=f"https://{host}/inbox" if shared else None, public_key_pem="")


async def get(http: aiohttp.ClientSession, path: str, **headers: str) -> tuple[int, Any]:
    async with http.get("https://a.example" + path, headers=headers, allow_redirects=False) as response:
        text = await response.text()
        return response.status, text


# -- suspension -------------------------------------------------------------------------------------------


async def test_a_suspended_accounts_token_stops_working_on_the_next_request(
        art: Instance, api: Api, http: aiohttp.ClientSession) -> None:
    mira = await person(art, "mira")
    assert (await api.get("/api/v1/accounts/verify_credentials", mira)).status == 200
    with art.db():
        result = await moderation_accounts.suspend_account(None, mira.account.id)
        assert set(result.changed) == {"suspended_at"} and result.by_account_id is None
        assert not await OAuthToken.filter(user_id=mira.user.id, revoked_at=None).exists()
    again = await api.get("/api/v1/accounts/verify_credentials", mira)
    assert again.status == 401 and again.body == {"error": "The access token is invalid"}
    oauth = OAuthClient(http, "https://a.example")
    app = await oauth.register()
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 400 and "suspended" in login.body["error_description"]
    with art.db():  # a second suspension changes nothing and queues nothing more
        assert (await moderation_accounts.suspend_account(None, mira.account.id)).noop
        assert await Job.filter(kind=SUSPENDED_JOB).count() == 1


async def test_a_suspended_accounts_posts_disappear_and_come_back(
        art: Instance, api: Api, http: aiohttp.ClientSession) -> None:
    mira, zoe = await person(art, "mira"), await person(art, "zoe")
    with art.db():
        await relationships.follow(art.federation, zoe.account, mira.account)
        status = await posts.create_post(art.settings, mira.account, "a heron at dawn #ink")
    sid = str(status.id)
    visible_paths = [f"/@mira/{status.id}", f"/users/mira/statuses/{status.id}", "/users/mira", "/@mira",
                     "/users/mira/outbox", "/.well-known/webfinger?resource=acct:mira@a.example"]

    async def seen() -> dict[str, Any]:
        found = {
            "home": [s["id"] for s in (await api.get("/api/v1/timelines/home", zoe)).body],
            "public": [s["id"] for s in (await api.get("/api/v1/timelines/public")).body],
            "tag": [s["id"] for s in (await api.get("/api/v1/timelines/tag/ink")).body],
            "status": (await api.get(f"/api/v1/statuses/{sid}", zoe)).status,
            "account": (await api.get(f"/api/v1/accounts/{mira.account.id}")).status,
            "lookup": (await api.get("/api/v1/accounts/lookup", params={"acct": "mira"})).status,
        }
        for path in visible_paths:
            found[path] = (await get(http, path, Accept="application/activity+json"))[0]
        found["page"] = (await get(http, f"/@mira/{status.id}", Accept="text/html"))[0]
        return found

    before = await seen()
    assert before["home"] == before["public"] == before["tag"] == [sid]
    assert {before[k] for k in ("status", "account", "lookup", "page", *visible_paths)} == {200}
    with art.db():
        await moderation_accounts.suspend_account(None, mira.account.id)
    during = await seen()
    assert during["home"] == during["public"] == during["tag"] == []
    assert during["status"] == during["account"] == during["lookup"] == 404
    assert {during[p] for p in [*visible_paths, "page"]} == {410}
    with art.db():
        await moderation_accounts.unsuspend_account(None, mira.account.id)
    assert await seen() == before
    # Its old tokens stay revoked: the person signs in again.
    assert (await api.get("/api/v1/accounts/verify_credentials", mira)).status == 401


async def test_the_delete_of_the_actor_reaches_every_known_server(art: Instance,
                                                                  fediverse: FakeFediverse) -> None:
    mira = await person(art, "mira")
    follower = await remote(art, "zoe", "remote.example")
    await remote(art, "max", "remote.example")  # same server: one delivery to its shared inbox
    await remote(art, "ada", "mastodon.example", shared=False)  # known, not a follower
    await remote(art, "eve", "blocked.example")
    with art.db():
        await Follow.create(account=follower, target_account=mira.account)
        await DomainBlock.create(domain="blocked.example", severity="suspend")
        await moderation_accounts.suspend_account(None, mira.account.id)
    await art.run_jobs()

    assert sorted(r.url for r in fediverse.posts) == ["https://mastodon.example/users/ada/inbox",
                                                      "https://remote.example/inbox"]
    delivered = fediverse.posts_to("https://remote.example/inbox")[0]
    activity = delivered.json()
    assert activity["type"] == "Delete"
    assert activity["actor"] == activity["object"] == "https://a.example/users/mira"
    assert activity["to"] == ["https://www.w3.org/ns/activitystreams#Public"]
    assert activity["id"].startswith("https://a.example/users/mira#delete/")

    async def key(key_id: str, refresh: bool) -> PublicKeyRecord:
        assert key_id == "https://a.example/users/mira#main-key"
        return PublicKeyRecord(key_id=key_id, owner="https://a.example/users/mira",
                               public_key_pem=mira.account.public_key_pem)

    verified = await verify_request("POST", "/inbox", delivered.headers, delivered.body, resolve_key=key)
    assert verified.owner == "https://a.example/users/mira"

    fediverse.requests.clear()
    with art.db():
        await moderation_accounts.unsuspend_account(None, mira.account.id)
    await art.run_jobs()
    assert sorted(r.url for r in fediverse.posts) == ["https://mastodon.example/users/ada/inbox",
                                                      "https://remote.example/inbox"]
    update = fediverse.posts_to("https://remote.example/inbox")[0].json()
    assert update["type"] == "Update" and update["object"]["id"] == "https://a.example/users/mira"
    assert update["object"]["type"] == "Person"
    with art.db():
        assert await Job.filter(kind=UNSUSPENDED_JOB).count() == 1


async def test_lifting_a_suspension_before_its_job_runs_sends_no_delete(art: Instance,
                                                                        fediverse: FakeFediverse) -> None:
    mira = await person(art, "mira")
    await remote(art, "zoe", "remote.example")
    with art.db():
        await moderation_accounts.suspend_account(None, mira.account.id)
        await moderation_accounts.unsuspend_account(None, mira.account.id)
    await art.run_jobs()
    assert [r.json()["type"] for r in fediverse.posts] == ["Update"]


async def test_a_suspended_remote_account_is_hidden_and_its_follows_rejected(
        art: Instance, api: Api, fediverse: FakeFediverse) -> None:
    mira = await person(art, "mira")
    eve = await remote(art, "eve", "remote.example")
    with art.db():
        await Follow.create(account=eve, target_account=mira.account, uri="https://remote.example/follows/1")
        note = await Status.create(account=eve, local=False, uri="https://remote.example/notes/1",
                                   url="https://remote.example/@eve/1", content="<p>hello</p>")
        await Follow.create(account=mira.account, target_account=eve)
    assert [s["id"] for s in (await api.get("/api/v1/timelines/public")).body] == [str(note.id)]
    assert [s["id"] for s in (await api.get("/api/v1/timelines/home", mira)).body] == [str(note.id)]
    with art.db():
        await moderation_accounts.suspend_account(None, eve.id)
    assert (await api.get("/api/v1/timelines/public")).body == []
    assert (await api.get("/api/v1/timelines/home", mira)).body == []
    assert (await api.get(f"/api/v1/statuses/{note.id}", mira)).status == 404
    assert (await api.get(f"/api/v1/accounts/{eve.id}", mira)).status == 404
    await art.run_jobs()
    rejects = [r.json() for r in fediverse.posts_to("https://remote.example/users/eve/inbox")]
    assert [(r["type"], r["object"]["id"]) for r in rejects] == [
        ("Reject", "https://remote.example/follows/1")]
    with art.db():
        assert not await Follow.exists(account_id=eve.id, target_account_id=mira.account.id)
        await moderation_accounts.unsuspend_account(None, eve.id)
    assert [s["id"] for s in (await api.get("/api/v1/timelines/public")).body] == [str(note.id)]
    assert not [r for r in fediverse.posts if r.json()["type"] == "Update"]  # others' actors are theirs


# -- silence and sensitive media ----------------------------------------------------------------------------


async def test_silence_hides_from_public_timelines_and_turns_follows_into_requests(art: Instance,
                                                                                 api: Api) -> None:
    mira, zoe, ann = await person(art, "mira"), await person(art, "zoe"), await person(art, "ann")
    with art.db():
        await relationships.follow(art.federation, zoe.account, mira.account)
        status = await posts.create_post(art.settings, mira.account, "quiet sketch")
        result = await moderation_accounts.silence_account(None, mira.account.id)
    assert set(result.changed) == {"silenced_at"}
    assert (await api.get("/api/v1/timelines/public")).body == []
    assert [s["id"] for s in (await api.get("/api/v1/timelines/home", zoe)).body] == [str(status.id)]
    assert (await api.get(f"/api/v1/statuses/{status.id}")).status == 200  # still there for who looks
    followed = await api.post(f"/api/v1/accounts/{ann.account.id}/follow", mira)
    assert followed.status == 200
    assert followed.body["requested"] is True and followed.body["following"] is False
    with art.db():
        assert await FollowRequest.exists(account_id=mira.account.id, target_account_id=ann.account.id)
        assert (await moderation_accounts.silence_account(None, mira.account.id)).noop
        await moderation_accounts.unsilence_account(None, mira.account.id)
    assert [s["id"] for s in (await api.get("/api/v1/timelines/public")).body] == [str(status.id)]


async def test_sensitized_accounts_have_every_status_sensitive(art: Instance, api: Api) -> None:
    mira, zoe = await person(art, "mira"), await person(art, "zoe")
    with art.db():
        await relationships.follow(art.federation, zoe.account, mira.account)
        plain = await posts.create_post(art.settings, mira.account, "plain")
        marked = await posts.create_post(art.settings, mira.account, "marked", sensitive=True)
        await moderation_accounts.sensitize_account(None, mira.account.id)

    async def flags() -> dict[str, bool]:
        home = {s["id"]: s["sensitive"] for s in (await api.get("/api/v1/timelines/home", zoe)).body}
        one = (await api.get(f"/api/v1/statuses/{plain.id}", zoe)).body["sensitive"]
        listed = {s["id"]: s["sensitive"] for s in
                  (await api.get(f"/api/v1/accounts/{mira.account.id}/statuses", zoe)).body}
        assert home == listed
        return {**home, "one": one}

    assert await flags() == {str(plain.id): True, str(marked.id): True, "one": True}
    with art.db():
        await moderation_accounts.unsensitize_account(None, mira.account.id)
    assert await flags() == {str(plain.id): False, str(marked.id): True, "one": False}


# -- logins and roles ---------------------------------------------------------------------------------------


async def test_a_forced_password_reset_revokes_tokens_and_asks_for_a_new_password(
        art: Instance, api: Api, http: aiohttp.ClientSession) -> None:
    mira = await person(art, "mira")
    admin = await person(art, "ada", role="admin")
    oauth = OAuthClient(http, "https://a.example")
    app = await oauth.register()
    code = await oauth.code(app, "mira")  # an unused code made before the reset
    with art.db():
        staff = await User.get(id=admin.user.id)
        result = await moderation_accounts.force_password_reset(staff, mira.account.id)
        assert result.changed == {"must_change_password": True} and result.by_account_id == admin.account.id
        assert (await User.get(id=mira.user.id)).must_change_password
        assert not await OAuthCode.filter(user_id=mira.user.id).exists()
    assert (await api.get("/api/v1/accounts/verify_credentials", mira)).status == 401
    assert (await oauth.exchange(app, code)).status == 400
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 400 and login.body["error_description"] == PASSWORD_CHANGE_REQUIRED
    page = await oauth.open_authorize(oauth.query(app))
    refused = await oauth.submit(page.form(), "mira")
    assert refused.status == 403 and "choose a new password" in refused.text
    with art.db():
        assert not await OAuthToken.filter(user_id=mira.user.id, revoked_at=None).exists()


async def test_roles_and_the_last_admin(art: Instance) -> None:
    ada = await person(art, "ada", role="admin")
    mod = await person(art, "mod_ann", role="moderator")
    zoe = await person(art, "zoe")
    with art.db():
        admin, moderator = await User.get(id=ada.user.id), await User.get(id=mod.user.id)
        with pytest.raises(Forbidden):
            await moderation_accounts.set_role(moderator, zoe.account.id, "moderator")
        with pytest.raises(ValidationFailed):
            await moderation_accounts.set_role(admin, ada.account.id, "user")  # not one's own role
        with pytest.raises(ValidationFailed):
            await moderation_accounts.set_role(admin, zoe.account.id, "owner")
        with pytest.raises(Conflict):  # the CLI neither: someone must stay admin
            await moderation_accounts.set_role(None, ada.account.id, "moderator")
        promoted = await moderation_accounts.set_role(admin, zoe.account.id, "admin")
        assert promoted.changed == {"role": "admin"} and promoted.by_account_id == ada.account.id
        assert (await moderation_accounts.set_role(admin, zoe.account.id, "admin")).noop
        zoe_admin = await User.get(id=zoe.user.id)
        await moderation_accounts.set_role(zoe_admin, ada.account.id, "user")  # two admins: one may go
        assert (await User.get(id=ada.user.id)).role == "user"
        with pytest.raises(Conflict):
            await moderation_accounts.set_role(None, zoe.account.id, "user")
        assert await User.filter(role="admin").count() == 1


async def test_who_may_moderate_whom(art: Instance) -> None:
    ada = await person(art, "ada", role="admin")
    mod = await person(art, "mod_ann", role="moderator")
    mod2 = await person(art, "mod_bo", role="moderator")
    zoe = await person(art, "zoe")
    with art.db():
        admin, moderator, user = (await User.get(id=ada.user.id), await User.get(id=mod.user.id),
                                  await User.get(id=zoe.user.id))
        with pytest.raises(Forbidden):
            await moderation_accounts.suspend_account(user, mod.account.id)
        with pytest.raises(Forbidden):
            await moderation_accounts.silence_account(moderator, ada.account.id)  # not above oneself
        with pytest.raises(Forbidden):
            await moderation_accounts.suspend_account(moderator, mod2.account.id)
        with pytest.raises(Forbidden):
            await moderation_accounts.suspend_account(admin, ada.account.id)  # not oneself
        done = await moderation_accounts.suspend_account(moderator, zoe.account.id)
        assert done.by_account_id == mod.account.id and done.action == "suspend"
        assert (await moderation_accounts.sensitize_account(admin, mod.account.id)).changed
        with pytest.raises(NotFound):
            await moderation_accounts.suspend_account(None, 987654321)
        instance_actor = await Account.get(actor_type="Application")
        with pytest.raises(NotFound):  # the instance actor is not an account to moderate
            await moderation_accounts.suspend_account(None, instance_actor.id)


async def test_accounts_are_found_by_id_name_or_handle(art: Instance) -> None:
    mira = await person(art, "mira")
    eve = await remote(art, "eve", "remote.example")
    with art.db():
        assert (await moderation_accounts.find_account(str(mira.account.id))).id == mira.account.id
        assert (await moderation_accounts.find_account("@MIRA")).id == mira.account.id
        assert (await moderation_accounts.find_account("eve@remote.example")).id == eve.id
        with pytest.raises(NotFound):
            await moderation_accounts.find_account("a.example")  # the instance actor's name


async def test_the_cli_helpers_suspend_through_the_same_service(art: Instance,
                                                                fediverse: FakeFediverse) -> None:
    mira = await person(art, "mira")
    await remote(art, "zoe", "remote.example")
    with art.db():
        await accounts.suspend("mira")
        assert (await Account.get(id=mira.account.id)).suspended_at is not None
    await art.run_jobs()
    assert [r.json()["type"] for r in fediverse.posts] == ["Delete"]
    with art.db():
        await accounts.unsuspend("mira")
        assert (await Account.get(id=mira.account.id)).suspended_at is None
        assert await Job.filter(kind=UNSUSPENDED_JOB).count() == 1  # the Update, queued
        assert await Job.filter(kind=DELIVER_JOB).count() == 1  # the Delete's one delivery
