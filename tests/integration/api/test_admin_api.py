"""The Mastodon admin API subset (issue 7 point 6) over HTTP: scopes and roles, accounts (filters, actions,
approve/reject, undo, delete), reports (queue, update, assign, resolve, reopen), domain blocks and allows.
Every answer is checked against openapi.json: automatically by tests.support.api.Api for local accounts,
by :func:`assert_admin` where remote accounts appear (Mastodon answers null for their login's fields)."""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from cara_fed.models import (
    Account, DomainAllow, DomainBlock, OAuthToken, Report, ReportNote, Rule, Status, User,
)
from cara_fed.services.tokens import issue_token
from cara_fed.settings import Settings
from tests.integration.admin_data import AdminWorld, remote, staff, world
from tests.support.api import Api, ApiUser, make_user
from tests.support.openapi import entity_errors
from tests.support.servers import RunningServer

# A remote account has no login: Mastodon answers null for these, which openapi.json types as strings.
_LOGIN_FIELDS = {"email", "locale", "role"}


def _parent(body: Any, path: list[str]) -> Any:
    for part in path:
        body = body[int(part)] if isinstance(body, list) else body[part]
    return body


def assert_admin(name: str, body: Any) -> None:
    """``body`` is a valid ``name`` (AdminAccount or AdminReport), except for the nulls Mastodon answers
    for a remote account's login fields."""
    errors = []
    for error in entity_errors(name, body):
        where, _, problem = error.partition(": ")
        path = [] if where == "(root)" else where.split("/")
        if path and path[-1] in _LOGIN_FIELDS and problem.startswith("None is not"):
            owner = _parent(body, path[:-1])
            if isinstance(owner, dict) and owner.get("domain"):
                continue
        errors.append(error)
    assert errors == [], errors


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(instance={"contact_email": "admin@art.example"})


@pytest.fixture
def api(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    return Api(http, server.url)


@pytest.fixture
def loose(http: aiohttp.ClientSession, server: RunningServer) -> Api:
    """For answers with remote accounts in them (checked with assert_admin)."""
    return Api(http, server.url, check_shapes=False)


@pytest.fixture
async def w(settings: Settings, database: None) -> AdminWorld:
    return await world(settings)


# -- who may call --------------------------------------------------------------------------------------------

async def test_scopes_and_roles(api: Api, loose: Api, w: AdminWorld) -> None:
    assert (await api.get("/api/v1/admin/accounts")).status == 401
    user_with_scopes = await staff("plain", "user")
    refused = await api.get("/api/v1/admin/accounts", user_with_scopes)
    assert refused.status == 403 and refused.body == {"error": "This action is not allowed"}
    read_only = await staff("reader", "moderator", scopes="read write")
    assert (await api.get("/api/v1/admin/accounts", read_only)).status == 403  # outside the scopes
    granular = await staff("granular", "moderator", scopes="admin:read:accounts")
    assert (await api.get("/api/v1/admin/accounts?local=true", granular)).status == 200
    assert (await loose.get("/api/v1/admin/reports", granular)).status == 403  # admin:read:reports missing
    reading = await staff("reading", "admin", scopes="admin:read")
    before = (await User.get(id=w.pending.id)).approved
    assert (await api.post(f"/api/v1/admin/accounts/{w.pending.account_id}/approve", reading)).status == 403
    assert (await User.get(id=w.pending.id)).approved == before
    # Moderators: accounts and reports, not domain policy (Mastodon's "Manage Federation").
    assert (await loose.get("/api/v1/admin/reports", w.moderator)).status == 200
    for path in ("/api/v1/admin/domain_blocks", "/api/v1/admin/domain_allows"):
        assert (await api.get(path, w.moderator)).status == 403
        assert (await api.get(path, w.admin)).status == 200
    denied = await api.post("/api/v1/admin/domain_blocks", w.moderator, json={"domain": "x.example"})
    assert denied.status == 403 and not await DomainBlock.exists(domain="x.example")
    # A token without a user (an app's own token) acts as nobody.
    app_token = await issue_token(None, None, ["admin:read", "admin:write"])
    answer = await api.get("/api/v1/admin/accounts",
                           headers={"Authorization": f"Bearer {app_token.access_token}"})
    assert answer.status == 422


# -- accounts -----------------------------------------------------------------------------------------------

async def ids_of(api: Api, who: ApiUser, query: str) -> set[str]:
    answer = await api.get(f"/api/v1/admin/accounts?{query}", who)
    assert answer.status == 200, (query, answer.body)
    for entity in answer.body:
        assert_admin("AdminAccount", entity)
    return {entity["account"]["acct"] for entity in answer.body}


async def test_account_filters(loose: Api, api: Api, w: AdminWorld) -> None:
    await Account.filter(id=w.friend.id).update(silenced_at=w.post.created_at)
    await Account.filter(id=w.artist.account.id).update(sensitized_at=w.post.created_at)
    everyone = await ids_of(loose, w.admin, "")
    assert {"root_admin", "mod_mia", "ada", "pem", "spammer@bad.example", "pal@good.example"} <= everyone
    assert "art.example" not in everyone  # the instance actor is nobody's to moderate
    assert await ids_of(api, w.admin, "local=true") == {"root_admin", "mod_mia", "ada", "pem"}
    assert await ids_of(loose, w.admin, "remote=true") == {"spammer@bad.example", "pal@good.example"}
    assert await ids_of(api, w.admin, "pending=true") == {"pem"}
    assert await ids_of(loose, w.admin, "silenced=true") == {"pal@good.example"}
    assert await ids_of(api, w.admin, "sensitized=true") == {"ada"}
    assert await ids_of(api, w.admin, "staff=true") == {"root_admin", "mod_mia"}
    assert await ids_of(api, w.admin, "username=AD") == {"ada"}
    assert await ids_of(api, w.admin, "display_name=painter") == {"ada"}
    assert await ids_of(loose, w.admin, "by_domain=BAD.example") == {"spammer@bad.example"}
    assert await ids_of(api, w.admin, "email=pem@") == {"pem"}
    assert await ids_of(api, w.admin, "ip=127.0.0.1") == set()  # sign-in addresses are not kept
    assert await ids_of(api, w.admin, "disabled=true") == set()
    # Paging by id, newest first, with a Link header.
    first = await loose.get("/api/v1/admin/accounts?limit=2", w.admin)
    assert len(first.body) == 2 and 'rel="next"' in first.headers["Link"]
    older = await loose.get(f"/api/v1/admin/accounts?limit=2&max_id={first.body[-1]['id']}", w.admin)
    assert int(older.body[0]["id"]) < int(first.body[-1]["id"])


async def test_one_account_as_mastodon_shows_it(api: Api, loose: Api, w: AdminWorld) -> None:
    pem = await api.get(f"/api/v1/admin/accounts/{w.pending.account_id}", w.moderator)
    assert pem.status == 200
    assert pem.body["approved"] is False and pem.body["invite_request"].startswith("I paint harbours")
    assert pem.body["email"] == "pem@example.org" and pem.body["role"]["id"] == "-99"
    assert pem.body["ips"] == [] and pem.body["disabled"] is False
    mod = await api.get(f"/api/v1/admin/accounts/{w.moderator.account.id}", w.admin)
    assert mod.body["role"]["name"] == "Moderator" and mod.body["role"]["highlighted"] is True
    spammer = await loose.get(f"/api/v1/admin/accounts/{w.remote.id}", w.admin)
    assert_admin("AdminAccount", spammer.body)
    assert spammer.body["domain"] == "bad.example" and spammer.body["email"] is None
    assert spammer.body["role"] is None
    actor = await Account.get(domain=None, actor_type="Application")
    for missing in (str(actor.id), "999", "nope"):
        assert (await api.get(f"/api/v1/admin/accounts/{missing}", w.admin)).status == 404


async def test_actions_resolve_reports_as_mastodon(api: Api, loose: Api, w: AdminWorld) -> None:
    second = await Report.create(account=w.moderator.account, target_account=w.remote, comment="again")
    # "none" with a report resolves only that report, keeping the text as its note.
    done = await api.post(f"/api/v1/admin/accounts/{w.remote.id}/action", w.moderator,
                          data={"type": "none", "report_id": str(w.report.id), "text": "looked, fine"})
    assert done.status == 200 and done.body == {}
    assert (await Report.get(id=w.report.id)).action_taken_at is not None
    assert (await Report.get(id=second.id)).action_taken_at is None
    assert await ReportNote.filter(report_id=w.report.id, content="looked, fine").exists()
    await Report.filter(id=w.report.id).update(action_taken_at=None)
    # Any other action resolves every open report about the account.
    silenced = await api.post(f"/api/v1/admin/accounts/{w.remote.id}/action", w.moderator,
                              json={"type": "silence"})
    assert silenced.status == 200
    remote_row = await Account.get(id=w.remote.id)
    assert remote_row.silenced_at is not None
    assert not await Report.filter(target_account_id=w.remote.id, action_taken_at__isnull=True).exists()
    resolved = await Report.get(id=second.id)
    assert resolved.action_taken_by_account_id == w.moderator.account.id
    undone = await loose.post(f"/api/v1/admin/accounts/{w.remote.id}/unsilence", w.moderator)
    assert undone.status == 200 and undone.body["silenced"] is False
    assert_admin("AdminAccount", undone.body)
    # sensitive / unsensitive, suspend / unsuspend of a local account (its token stops working at once).
    sens = await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/action", w.admin,
                          json={"type": "sensitive"})
    assert sens.status == 200 and (await Account.get(id=w.artist.account.id)).sensitized_at is not None
    unsens = await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/unsensitive", w.admin)
    assert unsens.body["sensitized"] is False
    assert (await api.get("/api/v1/accounts/verify_credentials", w.artist)).status == 200
    assert (await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/action", w.admin,
                           json={"type": "suspend"})).status == 200
    assert (await api.get("/api/v1/accounts/verify_credentials", w.artist)).status == 401
    assert not await Report.filter(target_account_id=w.artist.account.id,
                                   action_taken_at__isnull=True).exists()
    back = await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/unsuspend", w.admin)
    assert back.status == 200 and back.body["suspended"] is False


async def test_refused_actions_store_nothing(api: Api, w: AdminWorld) -> None:
    await Report.filter(id=w.report_on_artist.id).update(action_taken_at=None)
    for body, status in (({"type": "explode"}, 422), ({}, 422), ({"type": "suspend", "report_id": "999"}, 404),
                         ({"type": "disable", "report_id": "999"}, 404)):
        answer = await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/action", w.admin, json=body)
        assert answer.status == status, (body, answer.body)
    assert not (await User.get(id=w.artist.user.id)).disabled
    # A remote account has no login to disable; its report stays open.
    remote_login = await api.post(f"/api/v1/admin/accounts/{w.remote.id}/action", w.admin,
                                  json={"type": "disable", "report_id": str(w.report.id)})
    assert remote_login.status == 422 and "only local accounts" in remote_login.body["error"]
    assert (await Report.get(id=w.report.id)).action_taken_at is None
    artist = await Account.get(id=w.artist.account.id)
    assert artist.suspended_at is None and artist.silenced_at is None
    assert (await Report.get(id=w.report_on_artist.id)).action_taken_at is None
    # A moderator cannot act on an admin, nobody on themselves.
    assert (await api.post(f"/api/v1/admin/accounts/{w.admin.account.id}/action", w.moderator,
                           json={"type": "suspend"})).status == 403
    assert (await api.post(f"/api/v1/admin/accounts/{w.admin.account.id}/action", w.admin,
                           json={"type": "silence"})).status == 403
    admin_row = await Account.get(id=w.admin.account.id)
    assert admin_row.suspended_at is None and admin_row.silenced_at is None


async def test_disable_freezes_the_login_and_enable_lifts_it(api: Api, loose: Api, w: AdminWorld) -> None:
    """Mastodon's disable ("freeze"): the person's tokens answer 403 "Your login is currently disabled" but are
    not revoked, the account stays visible, the report is resolved; enable makes the same token work again."""
    artist_id = w.artist.account.id
    done = await api.post(f"/api/v1/admin/accounts/{artist_id}/action", w.moderator,
                          data={"type": "disable", "report_id": str(w.report_on_artist.id), "text": "cool off"})
    assert done.status == 200 and done.body == {}
    assert (await User.get(id=w.artist.user.id)).disabled
    assert (await Report.get(id=w.report_on_artist.id)).action_taken_at is not None
    assert await ReportNote.exists(report_id=w.report_on_artist.id, content="cool off")
    shown = await api.get(f"/api/v1/admin/accounts/{artist_id}", w.admin)
    assert shown.status == 200 and shown.body["disabled"] is True and shown.body["suspended"] is False
    assert await ids_of(api, w.admin, "disabled=true") == {"ada"}
    assert "ada" in await ids_of(api, w.admin, "local=true&active=true")  # Mastodon: active = not suspended
    refused = await api.get("/api/v1/accounts/verify_credentials", w.artist)
    assert refused.status == 403 and refused.body == {"error": "Your login is currently disabled"}
    assert await OAuthToken.filter(user_id=w.artist.user.id, revoked_at=None).exists()  # kept, not revoked
    public = await api.get(f"/api/v1/accounts/{artist_id}")  # still visible to everyone
    assert public.status == 200 and public.body["username"] == "ada"
    assert (await api.get(f"/api/v1/accounts/{artist_id}/statuses")).body[0]["id"] == str(w.post.id)
    again = await api.post(f"/api/v1/admin/accounts/{artist_id}/action", w.admin, json={"type": "disable"})
    assert again.status == 200 and (await User.get(id=w.artist.user.id)).disabled
    enabled = await api.post(f"/api/v1/admin/accounts/{artist_id}/enable", w.moderator)
    assert enabled.status == 200 and enabled.body["disabled"] is False and enabled.body["username"] == "ada"
    assert_admin("AdminAccount", enabled.body)
    assert not (await User.get(id=w.artist.user.id)).disabled
    assert (await api.get("/api/v1/accounts/verify_credentials", w.artist)).status == 200
    assert await ids_of(api, w.admin, "disabled=true") == set()
    repeated = await api.post(f"/api/v1/admin/accounts/{artist_id}/enable", w.moderator)
    assert repeated.status == 200 and repeated.body["disabled"] is False


async def test_who_may_disable_and_enable(api: Api, loose: Api, w: AdminWorld) -> None:
    # A moderator cannot freeze an admin, nobody themselves, a plain user nobody.
    for who, target in ((w.moderator, w.admin), (w.admin, w.admin), (w.artist, w.moderator)):
        answer = await api.post(f"/api/v1/admin/accounts/{target.account.id}/action", who,
                                json={"type": "disable"})
        assert answer.status == 403, (who.account.username, target.account.username, answer.body)
    assert not await User.filter(disabled=True).exists()
    await User.filter(id=w.admin.user.id).update(disabled=True)  # (as the command line could)
    assert (await api.post(f"/api/v1/admin/accounts/{w.admin.account.id}/enable", w.moderator)).status == 403
    assert (await User.get(id=w.admin.user.id)).disabled
    # A frozen admin's token is refused too, on the admin API as everywhere.
    frozen = await api.post(f"/api/v1/admin/accounts/{w.admin.account.id}/enable", w.admin)
    assert frozen.status == 403 and frozen.body == {"error": "Your login is currently disabled"}
    assert (await User.get(id=w.admin.user.id)).disabled
    await User.filter(id=w.admin.user.id).update(disabled=False)
    # Enable is for local accounts (Mastodon's require_local_account!); unknown ids are 404.
    remote_one = await loose.post(f"/api/v1/admin/accounts/{w.remote.id}/enable", w.admin)
    assert remote_one.status == 403 and remote_one.body == {"error": "This action is not allowed"}
    assert (await api.post("/api/v1/admin/accounts/999/enable", w.moderator)).status == 404
    reader = await staff("reader", "moderator", scopes="admin:read")
    await User.filter(id=w.artist.user.id).update(disabled=True)
    assert (await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/enable", reader)).status == 403
    assert (await User.get(id=w.artist.user.id)).disabled


async def test_approve_and_reject(api: Api, w: AdminWorld) -> None:
    approved = await api.post(f"/api/v1/admin/accounts/{w.pending.account_id}/approve", w.moderator)
    assert approved.status == 200 and approved.body["approved"] is True
    assert (await User.get(id=w.pending.id)).approved
    again = await api.post(f"/api/v1/admin/accounts/{w.pending.account_id}/approve", w.moderator)
    assert again.status == 403  # no longer pending
    late = await make_user("late")
    await User.filter(id=late.user.id).update(approved=False, sign_up_reason="hello")
    rejected = await api.post(f"/api/v1/admin/accounts/{late.account.id}/reject", w.moderator)
    assert rejected.status == 200 and rejected.body["username"] == "late"
    assert rejected.body["approved"] is False
    assert not await Account.exists(id=late.account.id) and not await User.exists(id=late.user.id)
    assert (await api.post(f"/api/v1/admin/accounts/{w.artist.account.id}/reject", w.moderator)).status == 403
    assert await Account.exists(id=w.artist.account.id)


async def test_delete_the_data_of_a_suspended_account(api: Api, settings: Settings, w: AdminWorld) -> None:
    refused = await api.delete(f"/api/v1/admin/accounts/{w.remote.id}", w.admin)
    assert refused.status == 403 and await Status.exists(account_id=w.remote.id)  # not suspended yet
    await api.post(f"/api/v1/admin/accounts/{w.remote.id}/action", w.admin, json={"type": "suspend"})
    assert (await api.delete(f"/api/v1/admin/accounts/{w.remote.id}", w.moderator)).status == 403
    assert await Status.exists(account_id=w.remote.id)
    file = settings.media.root + "/" + w.cached_media.file_path  # type: ignore[operator]
    loose = Api(api.http, api.base_url, check_shapes=False)
    deleted = await loose.delete(f"/api/v1/admin/accounts/{w.remote.id}", w.admin)
    assert deleted.status == 200 and deleted.body["suspended"] is True
    assert_admin("AdminAccount", deleted.body)
    assert not await Status.exists(account_id=w.remote.id)
    from pathlib import Path
    assert not Path(file).exists()
    assert await Account.exists(id=w.remote.id)  # the name stays taken


# -- reports -------------------------------------------------------------------------------------------------

async def test_the_report_queue(loose: Api, w: AdminWorld) -> None:
    rule = await Rule.get(text="Credit the artists you share")
    listed = await loose.get("/api/v1/admin/reports", w.moderator)
    assert listed.status == 200
    assert {r["id"] for r in listed.body} == {str(w.report.id), str(w.report_on_artist.id)}
    for entity in listed.body:
        assert_admin("AdminReport", entity)
    by_target = await loose.get(f"/api/v1/admin/reports?target_account_id={w.remote.id}", w.moderator)
    assert [r["id"] for r in by_target.body] == [str(w.report.id)]
    by_reporter = await loose.get(f"/api/v1/admin/reports?account_id={w.moderator.account.id}", w.moderator)
    assert [r["id"] for r in by_reporter.body] == [str(w.report_on_artist.id)]
    one = await loose.get(f"/api/v1/admin/reports/{w.report.id}", w.moderator)
    assert one.body["statuses"][0]["id"] == str(w.remote_post.id) and one.body["category"] == "spam"
    assert one.body["target_account"]["domain"] == "bad.example" and one.body["assigned_account"] is None
    updated = await loose.put(f"/api/v1/admin/reports/{w.report.id}", w.moderator,
                              json={"rule_ids": [str(rule.id)]})
    assert updated.status == 200 and updated.body["category"] == "violation"
    assert updated.body["rules"] == [{"id": str(rule.id), "text": rule.text, "hint": ""}]
    assert (await loose.put(f"/api/v1/admin/reports/{w.report.id}", w.moderator,
                            json={"category": "nonsense"})).status == 422
    assert (await loose.put(f"/api/v1/admin/reports/{w.report.id}", w.moderator,
                            json={"rule_ids": ["999"]})).status == 422
    assert (await Report.get(id=w.report.id)).category == "violation"
    mine = await loose.post(f"/api/v1/admin/reports/{w.report.id}/assign_to_self", w.moderator)
    assert mine.body["assigned_account"]["id"] == str(w.moderator.account.id)
    assert_admin("AdminReport", mine.body)
    assert (await loose.post(f"/api/v1/admin/reports/{w.report.id}/unassign", w.moderator)).body[
        "assigned_account"] is None
    resolved = await loose.post(f"/api/v1/admin/reports/{w.report.id}/resolve", w.moderator)
    assert resolved.body["action_taken"] is True
    assert resolved.body["action_taken_by_account"]["id"] == str(w.moderator.account.id)
    closed = await loose.get("/api/v1/admin/reports?resolved=true", w.moderator)
    assert [r["id"] for r in closed.body] == [str(w.report.id)]
    reopened = await loose.post(f"/api/v1/admin/reports/{w.report.id}/reopen", w.moderator)
    assert reopened.body["action_taken"] is False and reopened.body["action_taken_at"] is None
    assert (await loose.get("/api/v1/admin/reports/999", w.moderator)).status == 404
    assert (await loose.post(f"/api/v1/admin/reports/{w.report.id}/explode", w.moderator)).status == 404


async def test_a_report_between_local_accounts_validates_as_is(api: Api, w: AdminWorld) -> None:
    shown = await api.get(f"/api/v1/admin/reports/{w.report_on_artist.id}", w.admin)  # checked by Api itself
    assert shown.status == 200 and shown.body["account"]["username"] == "mod_mia"


# -- domain policy -------------------------------------------------------------------------------------------

async def test_domain_blocks(api: Api, w: AdminWorld) -> None:
    created = await api.post("/api/v1/admin/domain_blocks", w.admin, json={
        "domain": "Evil.Example", "severity": "suspend", "reject_media": True, "public_comment": "harassment",
        "private_comment": "see report 3", "obfuscate": True})
    assert created.status == 200, created.body
    assert created.body["domain"] == "evil.example" and created.body["severity"] == "suspend"
    assert created.body["reject_media"] is True and created.body["obfuscate"] is True
    block_id = created.body["id"]
    dup = await loose_post(api, "/api/v1/admin/domain_blocks", w.admin, {"domain": "evil.example"})
    assert dup.status == 422 and dup.body["existing_domain_block"]["id"] == block_id
    sub = await loose_post(api, "/api/v1/admin/domain_blocks", w.admin, {"domain": "a.evil.example"})
    assert sub.status == 422  # a parent's block is already stricter
    stricter = await api.post("/api/v1/admin/domain_blocks", w.admin,
                              json={"domain": "x.limited.example", "severity": "suspend"})
    assert stricter.status == 200
    default = await api.post("/api/v1/admin/domain_blocks", w.admin, json={"domain": "meh.example"})
    assert default.body["severity"] == "silence"  # Mastodon's default
    for bad in ({"domain": "not a domain"}, {"domain": ""}, {"domain": "ok.example", "severity": "nuke"}):
        answer = await loose_post(api, "/api/v1/admin/domain_blocks", w.admin, bad)
        assert answer.status == 422, bad
    assert not await DomainBlock.exists(domain="ok.example")
    listed = await api.get("/api/v1/admin/domain_blocks", w.admin)
    assert {b["domain"] for b in listed.body} == {"evil.example", "x.limited.example", "meh.example",
                                                  "limited.example"}
    shown = await api.get(f"/api/v1/admin/domain_blocks/{block_id}", w.admin)
    assert shown.body["private_comment"] == "see report 3"
    changed = await api.put(f"/api/v1/admin/domain_blocks/{block_id}", w.admin,
                            json={"severity": "silence", "reject_reports": True})
    assert changed.body["severity"] == "silence" and changed.body["reject_reports"] is True
    assert changed.body["reject_media"] is True  # untouched options stay
    assert (await api.put(f"/api/v1/admin/domain_blocks/{block_id}", w.admin,
                          json={"severity": "nuke"})).status == 422
    assert (await DomainBlock.get(id=int(block_id))).severity == "silence"
    gone = await api.delete(f"/api/v1/admin/domain_blocks/{block_id}", w.admin)
    assert gone.status == 200 and gone.body == {}
    assert (await api.get(f"/api/v1/admin/domain_blocks/{block_id}", w.admin)).status == 404
    assert (await api.delete(f"/api/v1/admin/domain_blocks/{block_id}", w.admin)).status == 404


async def loose_post(api: Api, path: str, who: ApiUser, body: dict[str, Any]) -> Any:
    return await Api(api.http, api.base_url, check_shapes=False).post(path, who, json=body)


async def test_domain_allows(api: Api, w: AdminWorld) -> None:
    created = await api.post("/api/v1/admin/domain_allows", w.admin, data={"domain": "Pals.Example"})
    assert created.status == 200 and created.body["domain"] == "pals.example"
    again = await api.post("/api/v1/admin/domain_allows", w.admin, json={"domain": "pals.example"})
    assert again.body["id"] == created.body["id"]
    assert (await loose_post(api, "/api/v1/admin/domain_allows", w.admin, {"domain": "no way"})).status == 422
    listed = await api.get("/api/v1/admin/domain_allows", w.admin)
    assert {a["domain"] for a in listed.body} == {"pals.example", "friends.example"}
    assert (await api.get(f"/api/v1/admin/domain_allows/{created.body['id']}", w.admin)).status == 200
    assert (await api.delete(f"/api/v1/admin/domain_allows/{created.body['id']}", w.admin)).status == 200
    assert not await DomainAllow.exists(domain="pals.example")
    assert (await api.get(f"/api/v1/admin/domain_allows/{created.body['id']}", w.admin)).status == 404


async def test_unknown_remote_accounts_added_later_are_listed(loose: Api, w: AdminWorld) -> None:
    later = await remote("newcomer", "later.example")
    listed = await loose.get("/api/v1/admin/accounts?remote=true&limit=1", w.admin)
    assert [a["id"] for a in listed.body] == [str(later.id)]
    assert await OAuthToken.filter(user_id=w.admin.user.id, revoked_at=None).exists()
