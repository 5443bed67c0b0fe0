"""Reports between servers and the moderators' queue.

- Acceptance (issue 7): a report with ``forward`` on instance A about an account of instance B reaches B as
  a ``Flag`` and is stored there as a Report from B's view of A's instance actor (never the reporter),
  naming B's account and post, with the comment.
- Incoming ``Flag`` as Mastodon handles it: a domain with reject_reports (or suspended) is ignored, one
  report per reported account, posts attached only when the reporter's server could see them, suspended
  accounts not reported, a repeated delivery stored once.
- The queue: open and resolved lists, filters, assign and unassign, notes that resolve or reopen.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from activitypub.keys import KeyPair
from cara_fed.models import Account, DomainBlock, Follow, Report, ReportNote, Status, User
from cara_fed.services import report_queue
from cara_fed.services.paging import Page
from cara_fed.services.report_queue import ReportFilter
from cara_fed.services.tokens import issue_token
from cara_fed.settings import Settings
from tests.integration.api.peers import PUBLIC, Peer, remote_account, run_jobs
from tests.support.api import Api, ApiUser, make_user
from tests.support.databases import DatabaseFactory
from tests.support.fakefed import FakeFediverse
from tests.support.instances import Instance, drain, instances
from tests.support.servers import RunningServer


# -- acceptance: the round trip between two instances ------------------------------------------------------

@pytest.fixture
async def pair(database_factory: DatabaseFactory, fediverse: FakeFediverse,
               tmp_path: Path) -> AsyncIterator[tuple[Instance, Instance]]:
    async with instances(["a.example", "b.example"], database_factory, fediverse, tmp_path) as (a, b):
        yield a, b


async def api_user(instance: Instance, name: str) -> ApiUser:
    account = await instance.user(name)
    with instance.db():
        user = await User.get(account_id=account.id)
        issued = await issue_token(None, user, ["read", "write", "follow"])
    return ApiUser(account=account, user=user, token=issued.access_token)


async def test_a_forwarded_report_round_trips_as_a_flag(pair: tuple[Instance, Instance],
                                                        fediverse: FakeFediverse) -> None:
    a, b = pair
    async with fediverse.session() as http:
        api_a, api_b = Api(http, "https://a.example"), Api(http, "https://b.example")
        mira, juno = await api_user(a, "mira"), await api_user(b, "juno")

        # Mira (a) follows Juno (b) and receives her post.
        found = await api_a.get("/api/v2/search", mira, params={"q": "@juno@b.example", "resolve": "true",
                                                                "type": "accounts"})
        remote_juno = found.body["accounts"][0]
        assert (await api_a.post(f"/api/v1/accounts/{remote_juno['id']}/follow", mira)).status == 200
        await drain(a, b)
        posted = await api_b.post("/api/v1/statuses", juno, json={"status": "Cheap commissions, DM me!!!"})
        assert posted.status == 200
        await drain(a, b)
        home = (await api_a.get("/api/v1/timelines/home", mira)).body
        [seen] = [s for s in home if s["account"]["acct"] == "juno@b.example"]

        # Mira reports it on a, asking for b to be told.
        filed = await api_a.post("/api/v1/reports", mira, json={
            "account_id": remote_juno["id"], "status_ids": [seen["id"]], "comment": "Scam commissions",
            "category": "spam", "forward": True})
        assert filed.status == 200, filed.body
        assert filed.body["forwarded"] is True
        await drain(a, b)

    with a.db():
        sent = await Report.get(id=int(filed.body["id"]))
    with b.db():
        [received] = await Report.all().select_related("account", "target_account")
        assert received.account.uri == "https://a.example/actor"  # a's instance actor, never mira
        assert received.account.domain == "a.example" and received.account.actor_type == "Application"
        assert received.target_account_id == juno.account.id
        assert received.status_ids == [int(posted.body["id"])]
        assert received.comment == "Scam commissions"
        assert received.uri == sent.uri and received.forwarded is False
        mira_on_b = await Account.get(username="mira", domain="a.example")  # known here as a follower...
        assert received.account_id != mira_on_b.id  # ...but the report does not name her
        queue = await report_queue.list_reports(ReportFilter(), Page(limit=20))
        assert [r.id for r in queue] == [received.id]
    assert await a.dead_jobs() == [] and await b.dead_jobs() == []


# -- incoming Flag ------------------------------------------------------------------------------------------

@pytest.fixture
def zoe(fediverse: FakeFediverse, rsa_keypair: KeyPair) -> Peer:
    """A remote moderator's instance actor (Mastodon sends reports from it)."""
    return Peer(fediverse, rsa_keypair, "zoe").serve()


def status_uri(account: Account, status: Status) -> str:
    return f"https://art.example/users/{account.username}/statuses/{status.id}"


async def local_post(account: Account, visibility: str = "public") -> Status:
    return await Status.create(account=account, local=True, visibility=visibility, content="<p>mine</p>")


@pytest.mark.usefixtures("database")
async def test_incoming_flags_as_mastodon(server: RunningServer, settings: Settings, fediverse: FakeFediverse,
                                          zoe: Peer) -> None:
    mira, juno, gone = await make_user("mira"), await make_user("juno"), await make_user("gone")
    public, private = await local_post(mira.account), await local_post(mira.account, "private")
    juno_post = await local_post(juno.account)
    await Account.filter(id=gone.account.id).update(suspended_at=mira.account.created_at)
    flag = zoe.activity("Flag", [f"https://art.example/users/mira", status_uri(mira.account, public),
                                 status_uri(mira.account, private), status_uri(juno.account, juno_post),
                                 "https://art.example/users/gone", "https://elsewhere.example/users/x"],
                        content="<p>Harassment &amp; spam</p>")
    assert await zoe.send(server, flag) == 202
    assert await zoe.send(server, flag) == 202  # delivered twice: stored once
    await run_jobs(settings, fediverse)
    reports = {r.target_account_id: r for r in await Report.all()}
    assert set(reports) == {mira.account.id, juno.account.id}  # one per account; the suspended one skipped
    # The private post is left out: nobody on remote.example follows mira (Mastodon's relaxed rule).
    assert reports[mira.account.id].status_ids == [public.id]
    assert reports[juno.account.id].status_ids == [juno_post.id]
    assert reports[mira.account.id].comment == "Harassment & spam"
    assert reports[mira.account.id].uri == flag["id"]
    reporter = await Account.get(uri=zoe.uri)
    assert all(r.account_id == reporter.id and r.category == "other" for r in reports.values())

    # A follower on the reporter's server makes the private post reportable.
    await Follow.create(account=reporter, target_account=mira.account)
    again = zoe.activity("Flag", [status_uri(mira.account, private)])
    assert await zoe.send(server, again) == 202
    await run_jobs(settings, fediverse)
    assert (await Report.get(uri=again["id"])).status_ids == [private.id]


@pytest.mark.usefixtures("database")
@pytest.mark.parametrize("severity", ["noop", "suspend"])
async def test_flags_from_a_domain_rejecting_reports_are_ignored(server: RunningServer, settings: Settings,
                                                                 fediverse: FakeFediverse, zoe: Peer,
                                                                 severity: str) -> None:
    mira = await make_user("mira")
    await remote_account(zoe)
    await DomainBlock.create(domain="remote.example", severity=severity, reject_reports=severity == "noop")
    assert await zoe.send(server, zoe.activity("Flag", ["https://art.example/users/mira"])) == 202
    await run_jobs(settings, fediverse)
    assert await Report.all().count() == 0
    assert mira.account.id  # (the account exists: only the domain policy refused the report)


# -- the queue ----------------------------------------------------------------------------------------------

@pytest.mark.usefixtures("database")
async def test_the_report_queue(fediverse: FakeFediverse, rsa_keypair: KeyPair) -> None:
    mod, mira, juno = await make_user("mod"), await make_user("mira"), await make_user("juno")
    remote = await remote_account(Peer(fediverse, rsa_keypair, "eve", host="spam.example"))
    first = await Report.create(account=mira.account, target_account=remote, comment="spam")
    second = await Report.create(account=juno.account, target_account=remote, comment="more spam")
    third = await Report.create(account=juno.account, target_account=mira.account, comment="rude")

    async def ids(**wanted: object) -> list[int]:
        wanted_filter = ReportFilter(**wanted)  # type: ignore[arg-type]
        found = await report_queue.list_reports(wanted_filter, Page(limit=10))
        return [r.id for r in found]

    assert await ids() == [third.id, second.id, first.id]
    assert await ids(target_account_id=remote.id) == [second.id, first.id]
    assert await ids(account_id=mira.account.id) == [first.id]
    assert await ids(target_domain="spam.example") == [second.id, first.id]
    older = await report_queue.list_reports(ReportFilter(), Page(limit=1, max_id=third.id))
    assert [r.id for r in older] == [second.id]

    assigned = await report_queue.assign_to_self(first.id, mod.account)
    assert assigned.assigned_account_id == mod.account.id and assigned.assigned_account.username == "mod"
    assert await ids(assigned_account_id=mod.account.id) == [first.id]
    assert (await report_queue.unassign(first.id)).assigned_account_id is None

    resolved = await report_queue.resolve(first.id, mod.account)
    assert resolved.action_taken_at is not None and resolved.action_taken_by_account_id == mod.account.id
    assert await ids() == [third.id, second.id]
    assert await ids(resolved=True) == [first.id]
    assert await report_queue.unresolved_count() == 2
    reopened = await report_queue.reopen(first.id)
    assert reopened.action_taken_at is None and reopened.action_taken_by_account_id is None

    note = await report_queue.add_note(second.id, mod.account, "  Checked their profile: bot.  ",
                                       resolve_report=True)
    assert note.content == "Checked their profile: bot."
    assert (await report_queue.get_report(second.id)).action_taken_at is not None
    await report_queue.add_note(second.id, mod.account, "Wrong call, reopening", resolve_report=False)
    assert (await report_queue.get_report(second.id)).action_taken_at is None
    assert [n.content for n in await report_queue.list_notes(second.id)] == [
        "Checked their profile: bot.", "Wrong call, reopening"]
    with pytest.raises(Exception, match="blank"):
        await report_queue.add_note(second.id, mod.account, "   ")
    await report_queue.delete_note(note.id)
    assert await ReportNote.all().count() == 1

    changed = await report_queue.recategorize(third.id, category="legal")
    assert changed.category == "legal"
    with pytest.raises(Exception, match="Category"):
        await report_queue.recategorize(third.id, category="nonsense")
    with pytest.raises(Exception, match="Record not found"):
        await report_queue.resolve(424242, mod.account)
