"""Relationships through the client API over real HTTP: follow (open, locked and remote accounts, with the
remote server's signed Accept), unfollow, follow requests (local and remote requesters), block, mute,
remove from followers, the relationships and familiar-followers lists. Every Relationship and Account is
checked against the OpenAPI description."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest

from activitypub.keys import KeyPair
from cara_fed.models import Account, Block, Follow, FollowRequest, Mute, Notification
from cara_fed.settings import Settings
from tests.integration.api.peers import Peer, remote_account, run_jobs, stored, verify_signed_by
from tests.support.api import Api, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.openapi import assert_entities, assert_entity
from tests.support.servers import RunningServer

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
async def mira() -> ApiUser:
    return await make_user("mira")


@pytest.fixture
async def juno() -> ApiUser:
    return await make_user("juno")


@pytest.fixture
def zoe(fediverse: FakeFediverse, rsa_keypair: KeyPair) -> Peer:
    return Peer(fediverse, rsa_keypair, "zoe")


async def act(api: Api, who: ApiUser, account: Account | ApiUser, action: str, **kw: Any) -> dict[str, Any]:
    target = account.account if isinstance(account, ApiUser) else account
    response = await api.post(f"/api/v1/accounts/{target.id}/{action}", who, **kw)
    assert response.status == 200, response.body
    assert_entity("Relationship", response.body)
    assert response.body["id"] == str(target.id)
    return response.body  # type: ignore[no-any-return]


async def rel(api: Api, who: ApiUser, account: Account | ApiUser) -> dict[str, Any]:
    target = account.account if isinstance(account, ApiUser) else account
    response = await api.get("/api/v1/accounts/relationships", who, params={"id[]": str(target.id)})
    assert response.status == 200, response.body
    [found] = response.body
    assert_entity("Relationship", found)
    return found  # type: ignore[no-any-return]


async def kinds(account: ApiUser) -> list[str]:
    return sorted(await Notification.filter(account_id=account.account.id).values_list("type", flat=True))


# -- following local accounts ------------------------------------------------------------------------------

async def test_follow_an_open_local_account(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    body = await act(api, mira, juno, "follow", data={"reblogs": "false", "notify": "True"})
    assert body["following"] is True and body["requested"] is False
    assert body["showing_reblogs"] is False and body["notifying"] is True
    assert await kinds(juno) == ["follow"]
    assert (await rel(api, juno, mira))["followed_by"] is True
    # Following again only changes the options (no second follow, no second notification).
    again = await act(api, mira, juno, "follow", json={"reblogs": True})
    assert again["showing_reblogs"] is True and again["notifying"] is True
    assert await Follow.filter(account_id=mira.account.id).count() == 1 and await kinds(juno) == ["follow"]
    counts = await api.get(f"/api/v1/accounts/{juno.account.id}")
    assert_entity("Account", counts.body)
    assert counts.body["followers_count"] == 1


async def test_follow_a_locked_account_asks_first(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Account.filter(id=juno.account.id).update(locked=True)
    body = await act(api, mira, juno, "follow")
    assert body["following"] is False and body["requested"] is True
    assert await kinds(juno) == ["follow_request"]
    assert (await rel(api, juno, mira))["requested_by"] is True
    listed = await api.get("/api/v1/follow_requests", juno)
    assert listed.status == 200 and [a["username"] for a in listed.body] == ["mira"]
    assert_entities("Account", listed.body)
    assert 'rel="next"' in listed.headers["Link"]
    creds = await api.get("/api/v1/accounts/verify_credentials", juno)
    assert_entity("CredentialAccount", creds.body)
    assert creds.body["source"]["follow_requests_count"] == 1

    authorized = await api.post(f"/api/v1/follow_requests/{mira.account.id}/authorize", juno)
    assert authorized.status == 200, authorized.body
    assert_entity("Relationship", authorized.body)
    assert authorized.body["followed_by"] is True and authorized.body["requested_by"] is False
    assert (await rel(api, mira, juno))["following"] is True
    assert await kinds(juno) == []  # the request's notification went with it; authorizing notifies nobody
    assert (await api.get("/api/v1/follow_requests", juno)).body == []


async def test_reject_a_local_request(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Account.filter(id=juno.account.id).update(locked=True)
    await act(api, mira, juno, "follow")
    rejected = await api.post(f"/api/v1/follow_requests/{mira.account.id}/reject", juno)
    assert rejected.status == 200 and rejected.body["requested_by"] is False
    assert_entity("Relationship", rejected.body)
    assert not await FollowRequest.exists() and not await Follow.exists() and await kinds(juno) == []
    missing = await api.post(f"/api/v1/follow_requests/{mira.account.id}/authorize", juno)
    assert missing.status == 404 and missing.body == {"error": "Record not found"}


async def test_withdrawing_a_request_and_unfollowing(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await Account.filter(id=juno.account.id).update(locked=True)
    await act(api, mira, juno, "follow")
    body = await act(api, mira, juno, "unfollow")
    assert body["requested"] is False and not await FollowRequest.exists() and await kinds(juno) == []
    await Account.filter(id=juno.account.id).update(locked=False)
    await act(api, mira, juno, "follow")
    body = await act(api, mira, juno, "unfollow")
    assert body["following"] is False and not await Follow.exists() and await kinds(juno) == []
    assert (await act(api, mira, juno, "unfollow"))["following"] is False  # twice is fine


async def test_following_oneself_or_a_blocker_is_refused(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    myself = await api.post(f"/api/v1/accounts/{mira.account.id}/follow", mira)
    assert myself.status == 422 and myself.body["error"].startswith("Validation failed: ")
    await Block.create(account=juno.account, target_account=mira.account)
    blocked = await api.post(f"/api/v1/accounts/{juno.account.id}/follow", mira)
    assert blocked.status == 403 and blocked.body == {"error": "This action is not allowed"}
    assert not await Follow.exists() and not await FollowRequest.exists()


@pytest.mark.parametrize(("action", "scope"), [("follow", "write:follows"), ("unfollow", "follow"),
                                               ("block", "write:blocks"), ("mute", "write:mutes"),
                                               ("remove_from_followers", "write:follows")])
async def test_actions_need_their_scope(api: Api, juno: ApiUser, action: str, scope: str) -> None:
    reader = await make_user("reader", scopes="read")
    assert (await api.post(f"/api/v1/accounts/{juno.account.id}/{action}", reader)).status == 403
    allowed = await make_user("allowed", scopes=scope)
    assert (await api.post(f"/api/v1/accounts/{juno.account.id}/{action}", allowed)).status == 200
    assert (await api.post(f"/api/v1/accounts/{juno.account.id}/{action}")).status == 401


async def test_actions_on_unknown_accounts_are_404(api: Api, mira: ApiUser) -> None:
    for action in ("follow", "unfollow", "block", "unblock", "mute", "unmute", "note", "remove_from_followers"):
        response = await api.post(f"/api/v1/accounts/424242/{action}", mira)
        assert response.status == 404 and response.body == {"error": "Record not found"}


# -- following remote accounts -----------------------------------------------------------------------------

async def test_follow_a_remote_account_until_its_server_accepts(api: Api, mira: ApiUser, zoe: Peer,
                                                                settings: Settings, server: RunningServer,
                                                                fediverse: FakeFediverse) -> None:
    remote = await remote_account(zoe)
    body = await act(api, mira, remote, "follow", data={"notify": "true"})
    assert body["following"] is False and body["requested"] is True and body["notifying"] is True
    await run_jobs(settings, fediverse)
    [follow] = zoe.received()
    assert follow["type"] == "Follow" and follow["actor"] == "https://art.example/users/mira"
    assert follow["object"] == zoe.uri
    await verify_signed_by(fediverse.posts[-1], mira.account)

    accept = zoe.activity("Accept", {"id": follow["id"], "type": "Follow", "actor": follow["actor"],
                                     "object": zoe.uri})
    assert await zoe.send(server, accept) == 202
    await run_jobs(settings, fediverse)
    now = await rel(api, mira, remote)
    assert now["following"] is True and now["requested"] is False
    following = await api.get(f"/api/v1/accounts/{mira.account.id}/following")
    assert [a["acct"] for a in following.body] == ["zoe@remote.example"]
    assert_entities("Account", following.body)

    fediverse.requests.clear()
    body = await act(api, mira, remote, "unfollow")
    assert body["following"] is False
    await run_jobs(settings, fediverse)
    [undo] = zoe.received()
    assert undo["type"] == "Undo" and undo["object"]["id"] == follow["id"]


async def test_a_remote_reject_ends_the_request(api: Api, mira: ApiUser, zoe: Peer, settings: Settings,
                                                server: RunningServer, fediverse: FakeFediverse) -> None:
    remote = await remote_account(zoe, locked=True)
    await act(api, mira, remote, "follow")
    await run_jobs(settings, fediverse)
    [follow] = zoe.received()
    assert await zoe.send(server, zoe.activity("Reject", follow["id"])) == 202
    await run_jobs(settings, fediverse)
    assert (await rel(api, mira, remote))["requested"] is False and not await FollowRequest.exists()


async def test_remote_follow_requests_are_answered_with_accept_or_reject(
        api: Api, mira: ApiUser, zoe: Peer, fediverse: FakeFediverse, rsa_keypair: KeyPair,
        settings: Settings, server: RunningServer) -> None:
    await Account.filter(id=mira.account.id).update(locked=True)
    zoe.serve()
    bob = Peer(fediverse, rsa_keypair, "bob").serve()
    follows = {}
    for peer in (zoe, bob):
        follows[peer.username] = peer.activity("Follow", "https://art.example/users/mira")
        assert await peer.send(server, follows[peer.username]) == 202
    await run_jobs(settings, fediverse)
    listed = await api.get("/api/v1/follow_requests", mira)
    assert sorted(a["acct"] for a in listed.body) == ["bob@remote.example", "zoe@remote.example"]
    assert_entities("Account", listed.body)
    assert await kinds(mira) == ["follow_request", "follow_request"]
    fediverse.requests.clear()

    zoe_account, bob_account = await stored(zoe), await stored(bob)
    ok = await api.post(f"/api/v1/follow_requests/{zoe_account.id}/authorize", mira)
    assert ok.status == 200 and ok.body["followed_by"] is True
    assert_entity("Relationship", ok.body)
    no = await api.post(f"/api/v1/follow_requests/{bob_account.id}/reject", mira)
    assert no.status == 200 and no.body["followed_by"] is False and no.body["requested_by"] is False
    assert_entity("Relationship", no.body)
    await run_jobs(settings, fediverse)
    answers = {r.url: r.json() for r in fediverse.posts}
    accept, reject = answers[zoe.inbox], answers[bob.inbox]
    assert accept["type"] == "Accept" and accept["object"]["id"] == follows["zoe"]["id"]
    assert accept["object"]["actor"] == zoe.uri and accept["actor"] == "https://art.example/users/mira"
    assert reject["type"] == "Reject" and reject["object"]["id"] == follows["bob"]["id"]
    for record in fediverse.posts:
        await verify_signed_by(record, mira.account)
    follow = await Follow.get(account_id=zoe_account.id, target_account_id=mira.account.id)
    assert follow.uri == follows["zoe"]["id"]  # kept: their later Undo names it
    assert await kinds(mira) == []


# -- blocks, mutes, removing followers --------------------------------------------------------------------

async def test_block_ends_follows_both_ways(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    await act(api, mira, juno, "follow")
    await act(api, juno, mira, "follow")
    body = await act(api, mira, juno, "block")
    assert body["blocking"] is True and body["following"] is False and body["followed_by"] is False
    assert not await Follow.exists() and await kinds(juno) == [] and await kinds(mira) == []
    assert (await rel(api, juno, mira))["blocked_by"] is True
    assert (await api.post(f"/api/v1/accounts/{mira.account.id}/follow", juno)).status == 403
    body = await act(api, mira, juno, "unblock")
    assert body["blocking"] is False and not await Block.exists()
    assert (await act(api, mira, mira, "block"))["blocking"] is False  # blocking oneself does nothing


async def test_blocking_a_remote_account_tells_its_server(api: Api, mira: ApiUser, zoe: Peer, settings: Settings,
                                                          fediverse: FakeFediverse) -> None:
    remote = await remote_account(zoe)
    theirs = await Follow.create(account=remote, target_account=mira.account, uri=zoe.new_id("follows"))
    ours = await Follow.create(account=mira.account, target_account=remote, uri="https://art.example/follows/1")
    body = await act(api, mira, remote, "block")
    assert body["blocking"] is True and body["following"] is False and body["followed_by"] is False
    await run_jobs(settings, fediverse)
    sent = {a["type"]: a for a in zoe.received()}
    assert sent["Undo"]["object"]["id"] == ours.uri
    assert sent["Reject"]["object"]["id"] == theirs.uri and sent["Reject"]["object"]["actor"] == zoe.uri


async def test_mute_with_options(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    body = await act(api, mira, juno, "mute", data={"notifications": "false", "duration": "3600"})
    assert body["muting"] is True and body["muting_notifications"] is False
    mute = await Mute.get(account_id=mira.account.id)
    assert mute.hide_notifications is False and mute.expires_at is not None
    await Mute.filter(account_id=mira.account.id).update(expires_at=datetime.now(UTC) + timedelta(minutes=1))
    assert (await rel(api, mira, juno))["muting"] is True
    await Mute.filter(account_id=mira.account.id).update(expires_at=datetime.now(UTC) - timedelta(seconds=1))
    assert (await rel(api, mira, juno))["muting"] is False  # over
    body = await act(api, mira, juno, "mute", json={})
    assert body["muting_notifications"] is True and (await Mute.get(account_id=mira.account.id)).expires_at is None
    assert await Mute.all().count() == 1
    bad = await api.post(f"/api/v1/accounts/{juno.account.id}/mute", mira, data={"duration": "soon"})
    assert bad.status == 422 and bad.body["error"].startswith("Validation failed: ")
    body = await act(api, mira, juno, "unmute")
    assert body["muting"] is False and not await Mute.exists()


async def test_remove_from_followers(api: Api, mira: ApiUser, juno: ApiUser, zoe: Peer, settings: Settings,
                                     fediverse: FakeFediverse) -> None:
    await act(api, juno, mira, "follow")
    body = await act(api, mira, juno, "remove_from_followers")
    assert body["followed_by"] is False and not await Follow.exists() and await kinds(mira) == []
    remote = await remote_account(zoe)
    follow = await Follow.create(account=remote, target_account=mira.account, uri=zoe.new_id("follows"))
    body = await act(api, mira, remote, "remove_from_followers")
    assert body["followed_by"] is False
    await run_jobs(settings, fediverse)
    [reject] = zoe.received()
    assert reject["type"] == "Reject" and reject["object"]["id"] == follow.uri


async def test_note_is_accepted(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    body = await act(api, mira, juno, "note", data={"comment": "met at the print fair"})
    assert body["note"] == ""


# -- lists -------------------------------------------------------------------------------------------------

async def test_relationships_one_per_known_id_in_order(api: Api, mira: ApiUser, juno: ApiUser, zoe: Peer) -> None:
    remote = await remote_account(zoe)
    await act(api, mira, remote, "mute")
    query = [("id[]", str(remote.id)), ("id[]", "nonsense"), ("id[]", "987654321"), ("id[]", str(juno.account.id)),
             ("id[]", str(remote.id))]
    response = await api.get("/api/v1/accounts/relationships", mira, params=query)
    assert response.status == 200
    assert [r["id"] for r in response.body] == [str(remote.id), str(juno.account.id)]
    for entity in response.body:
        assert_entity("Relationship", entity)
    assert response.body[0]["muting"] is True and response.body[1]["muting"] is False
    single = await api.get("/api/v1/accounts/relationships", mira, params={"id": str(juno.account.id)})
    assert [r["id"] for r in single.body] == [str(juno.account.id)]
    assert (await api.get("/api/v1/accounts/relationships", mira)).body == []
    assert (await api.get("/api/v1/accounts/relationships", params=query)).status == 401


async def test_familiar_followers(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    ada, max_ = await make_user("ada"), await make_user("max")
    for friend in (juno, ada):
        await Follow.create(account=mira.account, target_account=friend.account)
        await Follow.create(account=friend.account, target_account=max_.account)
    await Follow.create(account=mira.account, target_account=max_.account)
    response = await api.get("/api/v1/accounts/familiar_followers", mira,
                             params=[("id[]", str(max_.account.id)), ("id[]", str(juno.account.id)), ("id[]", "x")])
    assert response.status == 200
    assert [entry["id"] for entry in response.body] == [str(max_.account.id), str(juno.account.id)]
    for entry in response.body:
        assert_entity("FamiliarFollowers", entry)
    assert sorted(a["username"] for a in response.body[0]["accounts"]) == ["ada", "juno"]
    assert response.body[1]["accounts"] == []
    await Account.filter(id=ada.account.id).update(hide_collections=True)
    hidden = await api.get("/api/v1/accounts/familiar_followers", mira, params={"id[]": str(max_.account.id)})
    assert [a["username"] for a in hidden.body[0]["accounts"]] == ["juno"]
