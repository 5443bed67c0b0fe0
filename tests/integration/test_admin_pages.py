"""The admin pages (issue 7 point 6) over HTTP: every page renders for an admin as strict HTML5 without inline
script; what moderators may open and do; other users get 403 and strangers the sign-in page; every action
through its form with the form token, and nothing stored when an action is refused (a missing or foreign
token, a role that may not, a wrong field, which comes back beside its field)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import html5lib
import pytest

from cara_fed.app import create_app
from cara_fed.models import (
    Account, DomainAllow, DomainBlock, InstanceSetting, Invite, Job, OAuthToken, Report, ReportNote, Rule,
    User,
)
from cara_fed.models.jobs import DEAD, QUEUED
from cara_fed.services import admin_instance, registrations
from cara_fed.settings import Settings
from cara_fed.web.admin.overrides import POLL_SECONDS, refresh
from tests.integration.admin_data import AdminWorld, pending_user, world
from tests.support.api import make_user
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.support.studio import Answer, WebClient


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.replace(instance={"contact_email": "admin@art.example"})


@pytest.fixture
async def w(settings: Settings, database: None) -> AdminWorld:
    return await world(settings)


async def signed_in(http: aiohttp.ClientSession, server: RunningServer, login: str) -> WebClient:
    web = WebClient(http, server)
    answer = await web.sign_in(login)
    assert answer.status == 303, answer.text
    return web


@pytest.fixture
async def admin(http: aiohttp.ClientSession, server: RunningServer,
                w: AdminWorld) -> AsyncIterator[WebClient]:
    yield await signed_in(http, server, "root_admin")


@pytest.fixture
async def moderator(http: aiohttp.ClientSession, server: RunningServer,
                    w: AdminWorld) -> AsyncIterator[WebClient]:
    yield await signed_in(http, server, "mod_mia")


def error_of(answer: Answer, field: str) -> str:
    """The message shown under ``field`` (its ``<p id="FIELD-error">``)."""
    found = re.search(rf'<p class="field-error" id="{re.escape(field)}-error">([^<]*)</p>', answer.text)
    assert found, f"no error under {field}: {answer.status} {answer.text[:2000]}"
    return found.group(1)


def page_paths(w: AdminWorld) -> list[str]:
    return ["/admin", "/admin/jobs", "/admin/accounts", "/admin/accounts?status=pending",
            "/admin/accounts?origin=remote&q=bad", f"/admin/accounts/{w.pending.account_id}",
            f"/admin/accounts/{w.remote.id}", f"/admin/accounts/{w.artist.account.id}", "/admin/reports",
            "/admin/reports?resolved=1", f"/admin/reports/{w.report.id}",
            f"/admin/reports/{w.report_on_artist.id}",
            "/admin/domains", f"/admin/domains/blocks/{w.block.id}", "/admin/settings", "/admin/rules",
            "/admin/invites", "/admin/invites?all=1"]


async def test_the_media_folder_is_counted_beside_the_requests(admin: WebClient, settings: Settings,
                                                              w: AdminWorld) -> None:
    first = await admin.get("/admin")
    assert "being counted: reload in a moment" in first.text  # the page does not wait for the count
    for _ in range(500):  # the count runs in a thread; poll for it (at most 10 s)
        page = await admin.get("/admin")
        if "being counted" not in page.text:
            break
        await asyncio.sleep(0.02)
    size = sum(p.stat().st_size for p in Path(settings.media.root).rglob("*") if p.is_file())
    assert "in 1 file</span>" in page.text and re.search(rf"\b{size} Bytes\b", page.text), page.text


# -- who may open what ---------------------------------------------------------------------------------------

async def test_every_page_renders_for_an_admin(admin: WebClient, w: AdminWorld) -> None:
    for path in page_paths(w):
        answer = await admin.get(path)
        assert answer.status == 200, (path, answer.text[:1000])
        html5lib.HTMLParser(strict=True).parse(answer.text)  # raises on any parse error
        assert "<script" not in answer.text, path  # the pages' CSP allows no script at all
        assert answer.headers["Cache-Control"] == "no-store" and answer.headers["X-Frame-Options"] == "DENY"
    dashboard = (await admin.get("/admin")).text
    for shown in ("down.example", "HTTP 503 from https://down.example/inbox", "HTTP 503 Service Unavailable",
                  "federation.deliver", "Deliveries queued", "Media storage used", "1 sign-up", "2 reports"):
        assert shown in dashboard, shown
    assert '<a href="/admin">Administration</a>' in (await admin.get("/studio")).text  # the way in
    report = (await admin.get(f"/admin/reports/{w.report.id}")).text
    assert "Buy cheap prints" in report and 'alt="A stolen painting"' in report
    assert "Selling my work" in report


async def test_moderators_see_what_their_role_opens(moderator: WebClient, w: AdminWorld) -> None:
    for path in ("/admin", "/admin/jobs", "/admin/accounts", f"/admin/accounts/{w.artist.account.id}",
                 "/admin/reports", f"/admin/reports/{w.report.id}", "/admin/invites"):
        assert (await moderator.get(path)).status == 200, path
    for path in ("/admin/domains", f"/admin/domains/blocks/{w.block.id}", "/admin/settings", "/admin/rules",
                 "/admin/domains/blocks.csv"):
        answer = await moderator.get(path)
        assert answer.status == 403 and "cannot open this page" in answer.text, path
    nav = (await moderator.get("/admin")).text
    assert 'href="/admin/domains"' not in nav and "/admin/jobs/" not in nav  # no retry buttons either
    assert 'name="role"' not in (await moderator.get(f"/admin/accounts/{w.artist.account.id}")).text
    token = await moderator.token_for("/admin")
    attempts: list[tuple[str, dict[str, str]]] = [
        (f"/admin/jobs/{w.dead_job.id}/retry", {}),
        ("/admin/domains/blocks", {"domain": "x.example", "severity": "suspend"}),
        ("/admin/settings", {"title": "Mine"}), ("/admin/rules", {"text": "No"}),
        (f"/admin/accounts/{w.artist.account.id}/role", {"role": "admin"})]
    for path, fields in attempts:
        answer = await moderator.post(path, {**fields, "csrf_token": token})
        assert answer.status == 403, path
    assert (await Job.get(id=w.dead_job.id)).state == DEAD
    assert not await DomainBlock.exists(domain="x.example") and not await Rule.exists(text="No")
    assert (await User.get(id=w.artist.user.id)).role == "user"
    assert not await InstanceSetting.exists(key="instance.title")


async def test_users_are_refused_and_strangers_sent_to_sign_in(http: aiohttp.ClientSession,
                                                              server: RunningServer, w: AdminWorld) -> None:
    artist = await signed_in(http, server, "ada")
    assert 'href="/admin"' not in (await artist.get("/studio")).text
    for path in ("/admin", "/admin/accounts", "/admin/reports", "/admin/invites"):
        answer = await artist.get(path)
        assert answer.status == 403 and "cannot open this page" in answer.text
    token = await artist.token_for("/studio")
    refused = await artist.post(f"/admin/accounts/{w.pending.account_id}/approve", {"csrf_token": token})
    assert refused.status == 403 and not (await User.get(id=w.pending.id)).approved
    stranger = WebClient(http, server)
    answer = await stranger.get("/admin/reports?resolved=1")
    assert answer.status == 303 and answer.location == "/auth/sign_in?next=/admin/reports%3Fresolved%3D1"
    posted = await stranger.post(f"/admin/accounts/{w.remote.id}/suspend", {})
    assert posted.status == 401 and (await Account.get(id=w.remote.id)).suspended_at is None


async def test_forms_without_this_sessions_token_store_nothing(admin: WebClient, moderator: WebClient,
                                                               w: AdminWorld) -> None:
    other_token = await moderator.token_for("/admin")
    own_token = await admin.token_for("/admin")
    for fields, headers in (({}, {}), ({"csrf_token": "forged"}, {}), ({"csrf_token": other_token}, {}),
                            ({"csrf_token": own_token}, {"Origin": "https://evil.example"})):
        answer = await admin.post(f"/admin/accounts/{w.remote.id}/suspend", fields, headers=headers)
        assert answer.status == 403, fields
        answer = await admin.post("/admin/domains/blocks", {**fields, "domain": "forged.example",
                                                            "severity": "suspend"}, headers=headers)
        assert answer.status == 403
    assert (await Account.get(id=w.remote.id)).suspended_at is None
    assert not await DomainBlock.exists(domain="forged.example")


# -- accounts ------------------------------------------------------------------------------------------------

async def test_account_actions(admin: WebClient, moderator: WebClient, w: AdminWorld) -> None:
    listing = await admin.get("/admin/accounts?status=pending")
    assert "@pem" in listing.text and "I paint harbours" in listing.text and "@ada" not in listing.text
    page = f"/admin/accounts/{w.pending.account_id}"
    approved = await moderator.submit(page, f"{page}/approve", {})
    assert approved.status == 303 and approved.location == f"{page}?done=approved"
    assert (await User.get(id=w.pending.id)).approved
    assert "can sign in now" in (await moderator.get(approved.location)).text
    late = await pending_user("late")
    rejected = await moderator.submit(f"/admin/accounts/{late.account_id}",
                                      f"/admin/accounts/{late.account_id}/reject", {})
    assert rejected.status == 303 and "rejected_late" in (rejected.location or "")
    assert not await User.exists(id=late.id) and not await Account.exists(id=late.account_id)
    assert "sign-up of @late was rejected" in (await moderator.get(rejected.location or "")).text
    artist = f"/admin/accounts/{w.artist.account.id}"
    for action, column in (("suspend", "suspended_at"), ("unsuspend", "suspended_at"),
                           ("silence", "silenced_at"), ("unsilence", "silenced_at"),
                           ("sensitize", "sensitized_at")):
        answer = await moderator.submit(artist, f"{artist}/{action}", {})
        assert answer.status == 303, (action, answer.text[:500])
        value = getattr(await Account.get(id=w.artist.account.id), column)
        assert (value is None) == action.startswith("un"), action
    reset = await moderator.submit(artist, f"{artist}/reset_password", {})
    assert reset.status == 303 and (await User.get(id=w.artist.user.id)).must_change_password
    assert not await OAuthToken.filter(user_id=w.artist.user.id, revoked_at=None).exists()
    role = await admin.submit(artist, f"{artist}/role", {"role": "moderator"})
    assert role.status == 303 and (await User.get(id=w.artist.user.id)).role == "moderator"
    bad_role = await admin.submit(artist, f"{artist}/role", {"role": "emperor"})
    assert bad_role.status == 422 and "role must be one of" in bad_role.text
    assert (await User.get(id=w.artist.user.id)).role == "moderator"


async def test_freezing_and_unfreezing_a_login(admin: WebClient, moderator: WebClient, w: AdminWorld) -> None:
    artist = f"/admin/accounts/{w.artist.account.id}"
    page = await moderator.get(artist)
    assert f'action="{artist}/disable"' in page.text and ">Freeze<" in page.text
    assert f'action="{artist}/enable"' not in page.text
    remote_page = await moderator.get(f"/admin/accounts/{w.remote.id}")
    assert "/disable" not in remote_page.text and ">Freeze<" not in remote_page.text  # no login to freeze
    frozen = await moderator.submit(artist, f"{artist}/disable", {})
    assert frozen.status == 303 and frozen.location == f"{artist}?done=disabled"
    assert (await User.get(id=w.artist.user.id)).disabled
    assert await OAuthToken.filter(user_id=w.artist.user.id, revoked_at=None).exists()  # tokens kept
    shown = await moderator.get(frozen.location or "")
    html5lib.HTMLParser(strict=True).parse(shown.text)
    assert "The login is frozen" in shown.text and '<span class="badge danger">frozen</span>' in shown.text
    assert f'action="{artist}/enable"' in shown.text and ">Unfreeze<" in shown.text
    listing = await admin.get("/admin/accounts?status=disabled")
    html5lib.HTMLParser(strict=True).parse(listing.text)
    assert "@ada" in listing.text and "@pem" not in listing.text and "1 account match" in listing.text
    assert '<option value="disabled" selected>' in listing.text
    unfrozen = await moderator.submit(artist, f"{artist}/enable", {})
    assert unfrozen.status == 303 and unfrozen.location == f"{artist}?done=enabled"
    assert not (await User.get(id=w.artist.user.id)).disabled
    assert "The login is unfrozen" in (await moderator.get(unfrozen.location or "")).text
    assert "@ada" not in (await admin.get("/admin/accounts?status=disabled")).text
    # Refused: a remote account (no login), a moderator on an admin, oneself, a form without the token.
    remote_refused = await admin.submit(f"/admin/accounts/{w.remote.id}", f"/admin/accounts/{w.remote.id}/disable",
                                        {})
    assert remote_refused.status == 422 and "only local accounts have a login" in remote_refused.text
    own = f"/admin/accounts/{w.admin.account.id}"
    assert (await moderator.submit(own, f"{own}/disable", {})).status == 403
    assert (await admin.submit(own, f"{own}/disable", {})).status == 403
    assert (await admin.post(f"{artist}/disable", {})).status == 403
    assert not await User.filter(disabled=True).exists()


async def test_a_report_about_a_local_account_offers_freezing_it(moderator: WebClient, w: AdminWorld) -> None:
    local = f"/admin/reports/{w.report_on_artist.id}"
    assert '<option value="disable"' in (await moderator.get(local)).text
    assert '<option value="disable"' not in (await moderator.get(f"/admin/reports/{w.report.id}")).text
    done = await moderator.submit(local, f"{local}/action", {"type": "disable", "text": "a break"})
    assert done.status == 303 and (await User.get(id=w.artist.user.id)).disabled
    assert (await Report.get(id=w.report_on_artist.id)).action_taken_at is not None
    assert (await Account.get(id=w.artist.account.id)).suspended_at is None  # frozen, not suspended


async def test_refused_account_actions_say_why_and_store_nothing(admin: WebClient, moderator: WebClient,
                                                               w: AdminWorld) -> None:
    own = f"/admin/accounts/{w.admin.account.id}"
    assert "your own account" in (await admin.get(own)).text
    answer = await admin.submit(own, f"{own}/suspend", {})
    assert answer.status == 403 and "cannot moderate your own account" in answer.text
    answer = await moderator.submit(own, f"{own}/silence", {})
    assert answer.status == 403 and "not allowed" in answer.text
    admin_row = await Account.get(id=w.admin.account.id)
    assert admin_row.suspended_at is None and admin_row.silenced_at is None
    approved = f"/admin/accounts/{w.artist.account.id}"
    answer = await moderator.submit(approved, f"{approved}/reject", {})
    assert answer.status == 422 and "not waiting for approval" in answer.text
    assert await Account.exists(id=w.artist.account.id)
    assert (await admin.submit(approved, f"{approved}/explode", {})).status == 404
    assert (await admin.get("/admin/accounts/12345")).status == 404
    assert (await admin.get("/admin/accounts/not-a-number")).status == 404


# -- reports -------------------------------------------------------------------------------------------------

async def test_working_a_report(moderator: WebClient, w: AdminWorld) -> None:
    page = f"/admin/reports/{w.report.id}"
    assert (await moderator.submit(page, f"{page}/assign", {})).status == 303
    assert (await Report.get(id=w.report.id)).assigned_account_id == w.moderator.account.id
    assert "Unassign" in (await moderator.get(page)).text
    mine = await moderator.get("/admin/reports?mine=1")
    assert f"Report {w.report.id}" in mine.text and f"Report {w.report_on_artist.id}" not in mine.text
    empty = await moderator.submit(page, f"{page}/note", {"content": "   ", "outcome": "resolve"})
    assert empty.status == 422 and "blank" in error_of(empty, "note")
    assert not await ReportNote.exists(report_id=w.report.id)
    assert (await Report.get(id=w.report.id)).action_taken_at is None
    noted = await moderator.submit(page, f"{page}/note", {"content": "Prints of Ada's work",
                                                          "outcome": "resolve"})
    assert noted.status == 303
    report = await Report.get(id=w.report.id)
    assert report.action_taken_at is not None and report.action_taken_by_account_id == w.moderator.account.id
    assert "Prints of Ada&#39;s work" in (await moderator.get(page)).text
    assert (await moderator.submit(page, f"{page}/reopen", {})).status == 303
    assert (await Report.get(id=w.report.id)).action_taken_at is None
    bad = await moderator.submit(page, f"{page}/category", {"category": "gossip"})
    assert bad.status == 422 and "not included" in error_of(bad, "category")
    assert (await moderator.submit(page, f"{page}/category", {"category": "legal"})).status == 303
    assert (await Report.get(id=w.report.id)).category == "legal"
    assert (await moderator.submit(page, f"{page}/unassign", {})).status == 303
    assert (await moderator.submit(page, f"{page}/resolve", {})).status == 303
    assert f"Report {w.report.id}" in (await moderator.get("/admin/reports?resolved=1")).text


async def test_acting_on_a_report_suspends_and_resolves_the_others(moderator: WebClient,
                                                                   w: AdminWorld) -> None:
    other = await Report.create(account=w.admin.account, target_account=w.remote, comment="more spam")
    page = f"/admin/reports/{w.report.id}"
    refused = await moderator.submit(page, f"{page}/action", {"type": "disable"})
    assert refused.status == 422 and "only local accounts" in error_of(refused, "action")  # a remote account
    assert (await Report.get(id=other.id)).action_taken_at is None
    done = await moderator.submit(page, f"{page}/action", {"type": "suspend", "text": "selling stolen art"})
    assert done.status == 303 and (await Account.get(id=w.remote.id)).suspended_at is not None
    for report_id in (w.report.id, other.id):
        assert (await Report.get(id=report_id)).action_taken_at is not None
    assert await ReportNote.exists(report_id=w.report.id, content="selling stolen art")
    # A moderator's action on a report about an admin is refused, and resolves nothing.
    about_admin = await Report.create(account=w.artist.account, target_account=w.admin.account)
    page = f"/admin/reports/{about_admin.id}"
    refused = await moderator.submit(page, f"{page}/action", {"type": "silence"})
    assert refused.status == 403 and (await Report.get(id=about_admin.id)).action_taken_at is None
    assert (await Account.get(id=w.admin.account.id)).silenced_at is None


# -- domains -------------------------------------------------------------------------------------------------

async def test_domain_blocks_through_the_pages(admin: WebClient, w: AdminWorld) -> None:
    bad = await admin.submit("/admin/domains", "/admin/domains/blocks", {"domain": "not a domain",
                                                                          "severity": "suspend"})
    assert bad.status == 422 and "domain name" in error_of(bad, "domain")
    assert 'value="not a domain"' in bad.text  # typed values come back
    taken = await admin.submit("/admin/domains", "/admin/domains/blocks", {"domain": "limited.example",
                                                                            "severity": "suspend"})
    assert taken.status == 422 and "already been taken" in error_of(taken, "domain")
    too_long = await admin.submit("/admin/domains", "/admin/domains/blocks", {
        "domain": "ok.example", "severity": "suspend", "public_comment": "x" * 1001})
    assert too_long.status == 422 and "1000" in error_of(too_long, "public_comment")
    assert not await DomainBlock.exists(domain="ok.example")
    made = await admin.submit("/admin/domains", "/admin/domains/blocks", {
        "domain": "Evil.Example", "severity": "suspend", "reject_reports": "1", "private_comment": "raids"})
    assert made.status == 303
    block = await DomainBlock.get(domain="evil.example")
    assert block.severity == "suspend" and block.reject_reports and not block.reject_media
    edit = f"/admin/domains/blocks/{block.id}"
    changed = await admin.submit(edit, edit, {"severity": "silence", "reject_media": "1",
                                              "private_comment": "raids", "public_comment": "harassment"})
    assert changed.status == 303
    block = await DomainBlock.get(id=block.id)
    assert (block.severity, block.reject_media, block.reject_reports) == ("silence", True, False)
    wrong = await admin.submit(edit, edit, {"severity": "nuke"})
    assert wrong.status == 422 and error_of(wrong, "severity")
    assert (await DomainBlock.get(id=block.id)).severity == "silence"
    assert (await admin.submit(edit, f"{edit}/delete", {})).status == 303
    assert not await DomainBlock.exists(id=block.id)


async def test_allow_list_and_csv(admin: WebClient, w: AdminWorld) -> None:
    on = await admin.submit("/admin/domains", "/admin/domains/allowlist", {"enabled": "1"})
    assert on.status == 303 and (await InstanceSetting.get(key="federation.allowlist_mode")).value is True
    assert (await admin.submit("/admin/domains", "/admin/domains/allowlist", {})).status == 303
    assert (await InstanceSetting.get(key="federation.allowlist_mode")).value is False
    bad = await admin.submit("/admin/domains", "/admin/domains/allows", {"allow_domain": "not valid!"})
    assert bad.status == 422 and error_of(bad, "allow_domain")
    allowed = await admin.submit("/admin/domains", "/admin/domains/allows", {"allow_domain": "Pals.Example"})
    assert allowed.status == 303
    allow = await DomainAllow.get(domain="pals.example")
    removed = await admin.submit("/admin/domains", f"/admin/domains/allows/{allow.id}/delete", {})
    assert removed.status == 303
    assert not await DomainAllow.exists(id=allow.id)
    # Import a Mastodon export by upload, then export.
    csv_text = ("#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate\n"
                "spam.example,suspend,TRUE,false,spam,false\nlimited.example,silence,false,false,,false\n"
                "bad domain!,suspend,false,false,,false\n")
    form = aiohttp.FormData()
    form.add_field("csv", csv_text.encode(), filename="blocks.csv", content_type="text/csv")
    imported = await admin.submit("/admin/domains", "/admin/domains/import", form)
    assert imported.status == 200 and "1 domain(s) blocked, 2 skipped" in imported.text
    assert "limited.example: already blocked" in imported.text
    block = await DomainBlock.get(domain="spam.example")
    assert block.severity == "suspend" and block.reject_media
    assert "Imported from blocks.csv" in block.private_comment
    empty = aiohttp.FormData()
    empty.add_field("csv", b"", filename="", content_type="application/octet-stream")
    refused = await admin.submit("/admin/domains", "/admin/domains/import", empty)
    assert refused.status == 422 and error_of(refused, "csv")
    binary = aiohttp.FormData()
    binary.add_field("csv", b"\xff\xfe\x00bad", filename="x.csv", content_type="text/csv")
    assert (await admin.submit("/admin/domains", "/admin/domains/import", binary)).status == 422
    exported = await admin.get("/admin/domains/blocks.csv")
    assert exported.status == 200 and exported.headers["Content-Type"].startswith("text/csv")
    assert "attachment" in exported.headers["Content-Disposition"]
    assert exported.text.splitlines()[0] == (
        "#domain,#severity,#reject_media,#reject_reports,#public_comment,#obfuscate")
    assert "spam.example,suspend,true,false,spam,false" in exported.text and "raids" not in exported.text


# -- instance settings, rules, invites -----------------------------------------------------------------------

async def test_instance_settings_reach_the_api_and_pages(admin: WebClient, http: aiohttp.ClientSession,
                                                         server: RunningServer, w: AdminWorld,
                                                         settings: Settings) -> None:
    fields = {"title": "Harbour Atelier", "description": "Painters of the sea.",
              "contact_email": "mods@art.example",
              "extended_description": "Be kind.\n\nCredit artists.", "registration_mode": "approval",
              "show_domain_blocks": "users", "show_domain_blocks_rationale": "disabled"}
    bad = await admin.submit("/admin/settings", "/admin/settings",
                             {**fields, "title": " ", "contact_email": "nope", "registration_mode": "party"})
    assert bad.status == 422
    assert error_of(bad, "title") and error_of(bad, "contact_email") and error_of(bad, "registration_mode")
    assert not await InstanceSetting.exists(key="instance.title")  # nothing half-saved
    assert not await InstanceSetting.exists(key="instance.extended_description")
    assert await registrations.effective_mode(settings) == "closed"
    saved = await admin.submit("/admin/settings", "/admin/settings", fields)
    assert saved.status == 303
    assert await registrations.effective_mode(settings) == "approval"
    async with http.get(server.url + "/api/v2/instance") as response:
        v2 = await response.json()
    assert v2["title"] == "Harbour Atelier" and v2["description"] == "Painters of the sea."
    assert v2["contact"]["email"] == "mods@art.example" and v2["registrations"]["approval_required"] is True
    async with http.get(server.url + "/api/v1/instance/extended_description") as response:
        assert (await response.json())["content"] == "<p>Be kind.</p><p>Credit artists.</p>"
    async with http.get(server.url + "/api/v1/instance/domain_blocks") as response:
        assert response.status == 401  # signed-in users only now
    async with http.get(server.url + "/") as response:
        assert "Harbour Atelier" in await response.text()
    async with http.get(server.url + "/ai-policy") as response:
        policy_page = await response.text()
    assert "Harbour Atelier" in policy_page and "mods@art.example" in policy_page
    form = (await admin.get("/admin/settings")).text
    assert 'value="Harbour Atelier"' in form and "Test Atelier" in form  # and what the file says
    # Back to the file's title: the override goes.
    await admin.submit("/admin/settings", "/admin/settings", {**fields, "title": "Test Atelier"})
    assert not await InstanceSetting.exists(key="instance.title")


async def test_rules(admin: WebClient, w: AdminWorld) -> None:
    too_long = await admin.submit("/admin/rules", "/admin/rules", {"text": "x" * 301, "hint": ""})
    assert too_long.status == 422 and "300" in error_of(too_long, "new_text")
    assert await Rule.all().count() == 1
    for text in ("No AI-generated images", "Tag sensitive work"):
        added = await admin.submit("/admin/rules", "/admin/rules", {"text": text, "hint": "why"})
        assert added.status == 303
    first, second, third = await Rule.all().order_by("position", "id")
    assert [r.text for r in (first, second, third)] == [
        "Credit the artists you share", "No AI-generated images", "Tag sensitive work"]
    moved = await admin.submit("/admin/rules", f"/admin/rules/{third.id}", {"move": "up", "text": third.text})
    assert moved.status == 303
    assert [r.id for r in await Rule.all().order_by("position", "id")] == [first.id, third.id, second.id]
    blank = await admin.submit("/admin/rules", f"/admin/rules/{second.id}", {"text": "", "hint": ""})
    assert blank.status == 422 and error_of(blank, f"rule_{second.id}_text")
    assert (await Rule.get(id=second.id)).text == "No AI-generated images"
    assert (await admin.submit("/admin/rules", f"/admin/rules/{second.id}",
                               {"text": "No generated images", "hint": ""})).status == 303
    assert (await Rule.get(id=second.id)).text == "No generated images"
    assert (await admin.submit("/admin/rules", f"/admin/rules/{first.id}/delete", {})).status == 303
    assert not await Rule.exists(id=first.id)


async def test_invites(moderator: WebClient, w: AdminWorld) -> None:
    before = await Invite.all().count()
    bad = await moderator.submit("/admin/invites", "/admin/invites", {"max_uses": "7", "expires_in": "86400"})
    assert bad.status == 422 and error_of(bad, "max_uses") and await Invite.all().count() == before
    made = await moderator.submit("/admin/invites", "/admin/invites", {"max_uses": "1", "expires_in": "86400",
                                                                       "autofollow": "1"})
    assert made.status == 303
    invite = await Invite.all().order_by("-id").first()
    assert invite is not None and invite.max_uses == 1 and invite.autofollow and invite.expires_at is not None
    assert invite.created_by_id == w.moderator.user.id
    listing = await moderator.get("/admin/invites")
    assert f"https://art.example/invite/{invite.code}" in listing.text
    assert (await moderator.submit("/admin/invites", f"/admin/invites/{invite.id}/revoke", {})).status == 303
    assert (await Invite.get(id=invite.id)).revoked_at is not None


# -- jobs ----------------------------------------------------------------------------------------------------

async def test_dead_jobs_are_retried_and_purged(admin: WebClient, w: AdminWorld) -> None:
    retried = await admin.submit("/admin", f"/admin/jobs/{w.dead_job.id}/retry", {})
    assert retried.status == 303
    job = await Job.get(id=w.dead_job.id)
    assert job.state == QUEUED and job.attempts == 0
    again = await admin.submit("/admin/jobs", f"/admin/jobs/{w.dead_job.id}/retry", {})
    assert again.status == 409 and "only dead jobs are retried" in again.text
    await Job.filter(id=w.dead_job.id).update(state=DEAD)
    assert (await admin.submit("/admin/jobs", "/admin/jobs/retry_all", {})).status == 303
    assert (await Job.get(id=w.dead_job.id)).state == QUEUED
    await Job.filter(id=w.dead_job.id).update(state=DEAD)
    purged = await admin.submit("/admin/jobs", "/admin/jobs/purge",
                                {"state": "dead", "older_than_hours": "0"})
    assert purged.status == 303 and not await Job.exists(id=w.dead_job.id)
    wrong = await admin.submit("/admin/jobs", "/admin/jobs/purge",
                               {"state": "queued", "older_than_hours": "0"})
    assert wrong.status == 422


async def test_a_user_who_signs_up_later_appears_waiting(admin: WebClient, w: AdminWorld) -> None:
    newcomer = await make_user("newcomer")
    await User.filter(id=newcomer.user.id).update(approved=False, sign_up_reason="Ceramics")
    listing = await admin.get("/admin/accounts?status=pending")
    assert "@newcomer" in listing.text and "Ceramics" in listing.text


async def test_texts_saved_by_another_process_reach_this_one(
        settings: Settings, fediverse: FakeFediverse, http: aiohttp.ClientSession, w: AdminWorld) -> None:
    """A server started after an admin saved the texts serves them from its first request; one that was
    running picks up a change made through another process at its next poll (what refresh does)."""
    form = await admin_instance.current_form(settings)
    assert await admin_instance.save_form(None, settings, replace(form, title="Night Atelier")) == {}
    app = create_app(settings, http_session_factory=fediverse.guarded_session, run_jobs=False)
    async with serve_asgi(app) as running:
        async with http.get(running.url + "/api/v1/instance") as response:
            assert (await response.json())["title"] == "Night Atelier"
        await admin_instance.save_form(None, settings, replace(form, title="Dawn Atelier",
                                                               contact_email="dawn@art.example"))
        async with http.get(running.url + "/nodeinfo/2.1") as response:
            assert (await response.json())["metadata"]["nodeName"] == "Night Atelier"  # not polled yet
        await refresh(app)  # the poll, every POLL_SECONDS
        async with http.get(running.url + "/nodeinfo/2.1") as response:
            assert (await response.json())["metadata"]["nodeName"] == "Dawn Atelier"
        async with http.get(running.url + "/api/v2/instance") as response:
            assert (await response.json())["contact"]["email"] == "dawn@art.example"
    assert POLL_SECONDS == 60.0


async def test_remote_links_are_only_http(admin: WebClient, w: AdminWorld) -> None:
    await Account.filter(id=w.remote.id).update(url="javascript:alert(1)", uri="https://bad.example/users/spammer")
    page = (await admin.get(f"/admin/accounts/{w.remote.id}")).text
    assert 'href="javascript:' not in page and "javascript:alert(1)" in page  # shown, not a link
    await Account.filter(id=w.remote.id).update(url="https://bad.example/@spammer")
    page = (await admin.get(f"/admin/accounts/{w.remote.id}")).text
    assert '<a href="https://bad.example/@spammer" rel="noopener noreferrer nofollow">' in page
