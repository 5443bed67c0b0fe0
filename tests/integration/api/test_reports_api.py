"""``POST /api/v1/reports`` over real HTTP: the Report entity (checked against the OpenAPI description),
Mastodon's validation (the account, its statuses as the reporter may see them, category, rules, comment
length), nothing stored on a refusal, and forwarding: a report about a remote account with ``forward``
queues one ``Flag`` from the instance actor (not the reporter) to the account's inbox, listing the account
and the posts; without ``forward`` nothing leaves the server."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from activitypub.keys import KeyPair
from cara_fed.federation.delivery import DELIVER_JOB
from cara_fed.models import Follow, Job, Report, Rule, Status
from cara_fed.services.instance import instance_actor
from tests.integration.api.peers import Peer, remote_account, run_jobs
from tests.support.api import Api, ApiUser, make_user
from tests.support.fakefed import FakeFediverse
from tests.support.openapi import assert_entity
from tests.support.servers import RunningServer
from cara_fed.settings import Settings

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


async def post(api: Api, who: ApiUser, text: str, visibility: str = "public") -> str:
    response = await api.post("/api/v1/statuses", who, json={"status": text, "visibility": visibility})
    assert response.status == 200, response.body
    return str(response.body["id"])


async def report(api: Api, who: ApiUser, **body: Any) -> Any:
    return await api.post("/api/v1/reports", who, json=body)


async def test_a_report_with_statuses_comment_and_category(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    first, second = await post(api, juno, "buy my followers"), await post(api, juno, "really, buy them")
    response = await report(api, mira, account_id=str(juno.account.id), status_ids=[first, second],
                            comment="Spam in my mentions", category="spam")
    assert response.status == 200, response.body
    body = response.body
    assert_entity("Report", body)
    assert body["target_account"]["id"] == str(juno.account.id)
    assert body["status_ids"] == [first, second] and body["category"] == "spam"
    assert body["comment"] == "Spam in my mentions"
    assert body["action_taken"] is False and body["action_taken_at"] is None and body["forwarded"] is False
    stored = await Report.get(id=int(body["id"]))
    assert stored.account_id == mira.account.id and stored.target_account_id == juno.account.id
    assert stored.status_ids == [int(first), int(second)] and stored.uri is None
    assert await Job.filter(kind=DELIVER_JOB).count() == 0  # local account: nothing to forward


async def test_form_encoded_report_and_defaults(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    response = await api.post("/api/v1/reports", mira, data={"account_id": str(juno.account.id)})
    assert response.status == 200, response.body
    assert response.body["category"] == "other" and response.body["comment"] == ""
    assert response.body["status_ids"] == [] and response.body["rule_ids"] is None


async def test_rules_make_it_a_violation(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    rule = await Rule.create(text="No AI-generated work presented as hand-made", position=0)
    response = await report(api, mira, account_id=str(juno.account.id), category="spam",
                            rule_ids=[str(rule.id)])
    assert response.status == 200, response.body
    assert response.body["category"] == "violation" and response.body["rule_ids"] == [str(rule.id)]


@pytest.mark.parametrize(("case", "status", "error"), [
    ("unknown account", 404, "Record not found"),
    ("missing account", 404, "Record not found"),
    ("another account's status", 404, "Record not found"),
    ("unknown status", 404, "Record not found"),
    ("private status the reporter cannot see", 404, "Record not found"),
    ("comment too long", 422, "Validation failed: Comment is too long (maximum is 1000 characters)"),
    ("bad category", 422, "Validation failed: Category is not included in the list"),
    ("unknown rule", 422, "Validation failed: Rule ids is invalid"),
])
async def test_refusals_store_nothing(api: Api, mira: ApiUser, juno: ApiUser, case: str, status: int,
                                      error: str) -> None:
    zoe = await make_user("zoe")
    juno_post = await post(api, juno, "hello")
    zoe_post = await post(api, zoe, "not juno's")
    private = await post(api, juno, "followers only", visibility="private")
    target = str(juno.account.id)
    body = {
        "unknown account": {"account_id": "999999999"},
        "missing account": {"comment": "who?"},
        "another account's status": {"account_id": target, "status_ids": [juno_post, zoe_post]},
        "unknown status": {"account_id": target, "status_ids": ["123456789"]},
        "private status the reporter cannot see": {"account_id": target, "status_ids": [private]},
        "comment too long": {"account_id": target, "comment": "x" * 1001},
        "bad category": {"account_id": target, "category": "rude"},
        "unknown rule": {"account_id": target, "rule_ids": ["4242"]},
    }[case]
    response = await report(api, mira, **body)
    assert (response.status, response.body) == (status, {"error": error})
    assert await Report.all().count() == 0


async def test_a_follower_may_report_a_private_post(api: Api, mira: ApiUser, juno: ApiUser) -> None:
    private = await post(api, juno, "followers only", visibility="private")
    await Follow.create(account_id=mira.account.id, target_account_id=juno.account.id)
    response = await report(api, mira, account_id=str(juno.account.id), status_ids=[private])
    assert response.status == 200, response.body
    assert response.body["status_ids"] == [private]


async def test_scope_and_authentication(api: Api, juno: ApiUser) -> None:
    reader = await make_user("reader", scopes="read")
    assert (await report(api, reader, account_id=str(juno.account.id))).status == 403
    anonymous = await api.post("/api/v1/reports", None, json={"account_id": str(juno.account.id)})
    assert anonymous.status == 401
    writer = await make_user("writer", scopes="write:reports")
    assert (await report(api, writer, account_id=str(juno.account.id))).status == 200


async def test_forwarded_report_is_a_flag_from_the_instance_actor(
        api: Api, mira: ApiUser, settings: Settings, fediverse: FakeFediverse, rsa_keypair: KeyPair) -> None:
    zoe = Peer(fediverse, rsa_keypair, "zoe")
    remote = await remote_account(zoe)
    status = await Status.create(account=remote, uri=f"{zoe.uri}/statuses/1", local=False,
                                 visibility="public", content="<p>spam</p>")
    response = await report(api, mira, account_id=str(remote.id), status_ids=[str(status.id)],
                            comment="Spam from zoe", forward=True)
    assert response.status == 200, response.body
    assert response.body["forwarded"] is True
    stored = await Report.get(id=int(response.body["id"]))
    assert stored.uri is not None and stored.uri.startswith("https://art.example/")

    await run_jobs(settings, fediverse)
    [sent] = [r for r in fediverse.posts if r.url == zoe.inbox]
    flag = sent.json()
    actor = await instance_actor()
    assert actor is not None
    assert flag["type"] == "Flag" and flag["actor"] == "https://art.example/actor"  # never mira
    assert "mira" not in sent.body.decode()
    assert flag["object"] == [zoe.uri, status.uri] and flag["content"] == "Spam from zoe"
    assert flag["id"] == stored.uri
    assert sent.headers["Signature"].startswith('keyId="https://art.example/actor#main-key"')


async def test_without_forward_nothing_leaves(api: Api, mira: ApiUser, settings: Settings,
                                              fediverse: FakeFediverse, rsa_keypair: KeyPair) -> None:
    remote = await remote_account(Peer(fediverse, rsa_keypair, "zoe"))
    response = await report(api, mira, account_id=str(remote.id), comment="quietly")
    assert response.status == 200 and response.body["forwarded"] is False
    await run_jobs(settings, fediverse)
    assert fediverse.posts == []
