"""Outgoing delivery: fan-out to inboxes (shared inboxes de-duplicated, suspended domains skipped) and the
signed POST with its retry rules, against the fake fediverse's recording inboxes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activitypub.signatures import PublicKeyRecord, verify_request
from cara_fed.federation.delivery import DELIVER_JOB, FANOUT_JOB
from cara_fed.jobs import queue
from cara_fed.models import Account, DomainBlock, Follow, Job
from cara_fed.models.jobs import DEAD, DONE, QUEUED
from cara_fed.services import posts
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, instances


@pytest.fixture
async def art(database_factory: DatabaseFactory, fediverse: FakeFediverse,
              tmp_path: Path) -> AsyncIterator[Instance]:
    async with instances(["a.example"], database_factory, fediverse, tmp_path) as (a,):
        yield a


async def remote_follower(mira: Account, name: str, host: str, shared: bool = True) -> Account:
    follower = await Account.create(
        username=name, domain=host, uri=f"https://{host}/users/{name}", inbox_url=f"https://{host}/users/{name}/inbox",
        shared_inbox_url=f"https://{host}/inbox" if shared else None, public_key_pem="")
    await Follow.create(account=follower, target_account=mira)
    return follower


async def test_a_post_reaches_each_server_once_signed_and_verifiable(art: Instance, fediverse: FakeFediverse) -> None:
    mira = await art.user("mira")
    with art.db():
        for name in ("zoe", "max"):  # two followers on one server: one delivery to its shared inbox
            await remote_follower(mira, name, "remote.example")
        await remote_follower(mira, "ada", "mastodon.example", shared=False)
        await remote_follower(mira, "eve", "blocked.example")
        await DomainBlock.create(domain="blocked.example", severity="suspend")
        status = await posts.create_post(art.settings, mira, "hello fediverse")
    await art.run_jobs()

    assert sorted(r.url for r in fediverse.posts) == ["https://mastodon.example/users/ada/inbox",
                                                      "https://remote.example/inbox"]
    delivered = fediverse.posts_to("https://remote.example/inbox")[0]
    activity = delivered.json()
    assert activity["type"] == "Create" and activity["object"]["id"].endswith(f"/statuses/{status.id}")
    assert delivered.headers["Digest"].startswith("SHA-256=")
    assert delivered.headers["Content-Type"] == "application/activity+json"

    async def key(key_id: str, refresh: bool) -> PublicKeyRecord:
        assert key_id == "https://a.example/users/mira#main-key"
        return PublicKeyRecord(key_id=key_id, owner="https://a.example/users/mira", public_key_pem=mira.public_key_pem)

    verified = await verify_request("POST", "/inbox", delivered.headers, delivered.body, resolve_key=key)
    assert verified.owner == "https://a.example/users/mira"
    with art.db():
        assert await Job.filter(kind=DELIVER_JOB, state=DONE).count() == 2
        assert await Job.filter(kind=FANOUT_JOB, state=DONE).count() == 1


@pytest.mark.parametrize(("status", "state"), [
    (202, DONE), (200, DONE), (500, QUEUED), (503, QUEUED), (408, QUEUED), (429, QUEUED),
    (404, DEAD), (410, DEAD), (400, DEAD), (401, DEAD), (301, DEAD),
])
async def test_delivery_outcomes_follow_the_status_code(art: Instance, fediverse: FakeFediverse, status: int,
                                                        state: str) -> None:
    mira = await art.user("mira")
    with art.db():
        await remote_follower(mira, "zoe", "remote.example")
    fediverse.answer_posts("https://remote.example/inbox", status)
    with art.db():
        await posts.create_post(art.settings, mira, "hello")
    await art.run_jobs()
    with art.db():
        job = await Job.get(kind=DELIVER_JOB)
        assert job.state == state
        if state != DONE:
            assert job.last_error == f"{'PermanentJobError' if state == DEAD else 'RuntimeError'}: HTTP {status}"
        if state == QUEUED:
            assert job.run_after_ms > queue.now_ms()  # backed off, not hammering the remote


async def test_retry_after_is_honoured(art: Instance, fediverse: FakeFediverse) -> None:
    mira = await art.user("mira")
    with art.db():
        await remote_follower(mira, "zoe", "remote.example")
    fediverse.answer_posts("https://remote.example/inbox", 429, headers={"Retry-After": "7200"})
    with art.db():
        await posts.create_post(art.settings, mira, "hello")
        before = queue.now_ms()
    await art.run_jobs()
    with art.db():
        job = await Job.get(kind=DELIVER_JOB)
        assert job.state == QUEUED and job.run_after_ms >= before + 7_200_000
        assert job.last_error == "RetryJobLater: HTTP 429"


async def test_an_unreachable_server_is_retried(art: Instance, fediverse: FakeFediverse) -> None:
    mira = await art.user("mira")
    with art.db():
        follower = await remote_follower(mira, "zoe", "remote.example")
        follower.shared_inbox_url = "https://127.0.0.1:1/inbox"  # nothing listens there
        await follower.save()
        await posts.create_post(art.settings, mira, "hello")
    await art.run_jobs()
    with art.db():
        job = await Job.get(kind=DELIVER_JOB)
        assert job.state == QUEUED and "TransportError" in (job.last_error or "")


async def test_a_host_failing_on_seven_days_is_skipped_until_it_talks_to_us(art: Instance,
                                                                            fediverse: FakeFediverse) -> None:
    from cara_fed.federation import host_health
    from cara_fed.models import DeliveryHost

    mira = await art.user("mira")
    with art.db():
        await remote_follower(mira, "zoe", "remote.example")
        for day in range(1, 8):  # failures on seven distinct days (the day stamp is what counts)
            await host_health.record_failure("https://remote.example/inbox", "HTTP 503")
            await DeliveryHost.filter(domain="remote.example").update(last_failure_day=f"2026-01-0{day}")
        host = await DeliveryHost.get(domain="remote.example")
        assert host.failure_days == 7 and host.unreachable_since is not None
        await posts.create_post(art.settings, mira, "hello")
    await art.run_jobs()
    assert fediverse.posts == []  # not even tried
    with art.db():
        job = await Job.get(kind=DELIVER_JOB)
        assert job.state == DEAD and "unreachable" in (job.last_error or "")
        await host_health.host_is_alive("https://remote.example/users/zoe")  # it sent us an activity
        assert (await DeliveryHost.get(domain="remote.example")).unreachable_since is None
        assert await queue.retry_dead(job.id)
    await art.run_jobs()
    assert [r.url for r in fediverse.posts] == ["https://remote.example/inbox"]
