"""The sign-up page (issue 7 point 1) in each registration mode, as a person in a browser uses it over real
HTTP: labels, errors next to their fields, the invite link, what the page says happens next; and the
services behind it (mode changes, invites, the approval queue) with their permission rules."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from cara_fed.errors import Forbidden, NotFound, ValidationFailed
from cara_fed.models import Account, Follow, FollowRequest, Invite, Notification, User
from cara_fed.services import invites, registrations, sign_up_approvals
from cara_fed.services.registrations import SignUpForm
from cara_fed.settings import Settings
from tests.support.api import make_user
from tests.support.oauth_flow import OAuthClient
from tests.support.servers import RunningServer
from tests.support.signups import PASSWORD, counts, inputs, open_page, set_mode, submit_form

pytestmark = pytest.mark.usefixtures("database")


@pytest.fixture
def base(server: RunningServer) -> str:
    return server.url


def error_of(text: str, field: str) -> str | None:
    """The error shown under ``field`` (the element the field's aria-describedby points to)."""
    marker = f'id="{field}-error">'
    if marker not in text:
        return None
    return text.split(marker, 1)[1].split("</p>", 1)[0]


# -- each mode ----------------------------------------------------------------------------------------


async def test_closed_mode_says_so_and_refuses_a_posted_form(http: aiohttp.ClientSession, base: str) -> None:
    page = await open_page(http, base)
    assert page.status == 200 and "Registrations are closed" in page.text
    assert "<form" not in page.text
    await set_mode("open")
    form_page = await open_page(http, base)  # a form opened while it was open...
    await set_mode("closed")
    before = await counts()
    answer = await submit_form(http, base, form_page)  # ...and posted after it closed
    assert answer.status == 403 and "Registrations are closed" in answer.text
    assert await counts() == before


async def test_open_mode_form_and_welcome(http: aiohttp.ClientSession, base: str,
                                          server: RunningServer) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    assert page.status == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    assert page.headers["Cache-Control"] == "no-store" and page.headers["Referrer-Policy"] == "no-referrer"
    robots = [v for k, v in page.headers.items() if k.lower() == "x-robots-tag"]
    assert any("noai" in v for v in robots), page.headers  # every page carries the AI reservation
    fields = inputs(page)
    assert set(fields.inputs) == {"authenticity_token", "username", "email", "password",
                                  "password_confirmation", "agreement"}
    assert fields.textareas == []  # no reason in open mode
    for name in ("username", "email", "password", "password_confirmation", "agreement"):
        assert f'for="{name}"' in page.text  # every field has its label
    answer = await submit_form(http, base, page, username="Mira", email="Mira@Example.org")
    assert answer.status == 200, answer.text
    assert "you can sign in now" in answer.text.lower() and "@Mira@art.example" in answer.text
    user = await User.get(account__username="Mira")
    assert user.approved and user.email == "mira@example.org"
    # The new account signs in with an app right away.
    oauth = OAuthClient(http, server.url)
    app = await oauth.register()
    login = await oauth.token({"grant_type": "password", "username": "Mira", "password": PASSWORD}, app=app)
    assert login.status == 200, login.body


async def test_approval_mode_asks_for_a_reason_and_says_the_account_is_pending(
        http: aiohttp.ClientSession, base: str, server: RunningServer) -> None:
    await set_mode("approval")
    page = await open_page(http, base)
    assert inputs(page).textareas == ["reason"] and 'for="reason"' in page.text
    assert "A moderator reviews every sign-up" in page.text
    before = await counts()
    missing = await submit_form(http, base, page)
    assert missing.status == 422
    assert error_of(missing.text, "reason") == "Reason can&#39;t be blank"
    assert 'aria-describedby="reason-error"' in missing.text and 'aria-invalid="true"' in missing.text
    assert 'value="mira"' in missing.text and 'value="mira@example.org"' in missing.text  # kept for the retry
    assert PASSWORD not in missing.text  # passwords are never sent back
    assert await counts() == before

    answer = await submit_form(http, base, missing, reason="I draw moths.")  # the re-shown form's token
    assert answer.status == 200 and "waiting for approval" in answer.text
    user = await User.get(account__username="mira")
    assert not user.approved and user.sign_up_reason == "I draw moths."
    oauth = OAuthClient(http, server.url)
    app = await oauth.register()
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 400 and "waiting for approval" in login.body["error_description"]
    await sign_up_approvals.approve(None, user.account_id)
    login = await oauth.token({"grant_type": "password", "username": "mira", "password": PASSWORD}, app=app)
    assert login.status == 200


async def test_invite_mode_needs_the_code_and_invite_links_fill_it_in(http: aiohttp.ClientSession,
                                                                      base: str) -> None:
    await set_mode("invite")
    invite = await invites.create_invite(None, max_uses=1)
    page = await open_page(http, base)
    assert "invitation only" in page.text and inputs(page).inputs["invite_code"].get("value") == ""
    before = await counts()
    without = await submit_form(http, base, page)
    assert without.status == 422 and error_of(without.text, "invite_code") is not None
    assert await counts() == before

    linked = await open_page(http, base, f"/invite/{invite.code}")
    assert linked.status == 200 and inputs(linked).inputs["invite_code"].get("value") == invite.code
    answer = await submit_form(http, base, linked, invite_code=invite.code)
    assert answer.status == 200 and "you can sign in now" in answer.text.lower()
    assert (await Invite.get(id=invite.id)).uses == 1

    used_up = await open_page(http, base, f"/invite/{invite.code}")
    assert "cannot be used any more" in used_up.text
    assert inputs(used_up).inputs["invite_code"].get("value") == ""
    again = await submit_form(http, base, used_up, username="zoe", email="zoe@example.org",
                              invite_code=invite.code)
    assert again.status == 422 and "not valid" in (error_of(again.text, "invite_code") or "")


async def test_an_invite_link_in_open_mode_shows_the_code(http: aiohttp.ClientSession, base: str) -> None:
    await set_mode("open")
    invite = await invites.create_invite(None)
    linked = await open_page(http, base, f"/invite/{invite.code}")
    assert inputs(linked).inputs["invite_code"].get("value") == invite.code
    assert (await submit_form(http, base, linked, invite_code=invite.code)).status == 200
    assert (await User.get(account__username="mira")).invite_code == invite.code


# -- errors next to their fields ------------------------------------------------------------------------


async def test_each_error_is_shown_next_to_its_field(http: aiohttp.ClientSession, base: str) -> None:
    await set_mode("open")
    await make_user("mira")
    page = await open_page(http, base)
    before = await counts()
    answer = await submit_form(http, base, page, username="MIRA", email="not-an-email", password="short",
                               password_confirmation="different", agreement=None)
    assert answer.status == 422
    assert error_of(answer.text, "username") == "Username has already been taken"
    assert error_of(answer.text, "email") == "Email is invalid"
    assert error_of(answer.text, "password") == "Password is too short (minimum is 8 characters)"
    assert error_of(answer.text, "password_confirmation") == "Confirmation does not match the password"
    assert error_of(answer.text, "agreement") == "Agreement must be accepted"
    assert await counts() == before


async def test_a_mismatched_confirmation_alone_stops_the_sign_up(http: aiohttp.ClientSession,
                                                                 base: str) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    before = await counts()
    answer = await submit_form(http, base, page, password_confirmation="correct horse batterY")
    assert answer.status == 422
    assert error_of(answer.text, "password_confirmation") is not None
    assert error_of(answer.text, "username") is None
    assert await counts() == before


async def test_reserved_names_are_refused_on_the_page_too(http: aiohttp.ClientSession, base: str) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    answer = await submit_form(http, base, page, username="Admin")
    assert answer.status == 422 and error_of(answer.text, "username") == "Username is reserved"
    assert not await Account.exists(username="Admin")


# -- the form's token and origin --------------------------------------------------------------------------


@pytest.mark.parametrize("token", ["", "garbage", "1.abc", "99999999999.abc"])
async def test_a_form_without_a_valid_token_is_refused(http: aiohttp.ClientSession, base: str,
                                                       token: str) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    page.text = page.text.replace(page.form()["authenticity_token"], token)
    before = await counts()
    answer = await submit_form(http, base, page)
    assert answer.status == 403 and "expired" in answer.text
    assert await counts() == before


async def test_an_old_form_is_refused(http: aiohttp.ClientSession, base: str,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    await set_mode("open")
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() - 2 * 3600)  # the page was opened two hours ago
    page = await open_page(http, base)
    monkeypatch.setattr(time, "time", real_time)
    before = await counts()
    answer = await submit_form(http, base, page)
    assert answer.status == 403 and await counts() == before


@pytest.mark.parametrize(("headers", "status"), [
    ({"Origin": "https://evil.example"}, 403),
    ({"Origin": "null"}, 403),
    ({"Sec-Fetch-Site": "cross-site"}, 403),
    ({"Origin": "https://art.example"}, 200),  # the configured domain (behind a proxy)
    ({"Sec-Fetch-Site": "same-origin"}, 200),
])
async def test_cross_site_posts_are_refused(http: aiohttp.ClientSession, base: str, headers: dict[str, str],
                                            status: int) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    before = await counts()
    answer = await submit_form(http, base, page, headers=headers)
    assert answer.status == status
    if status == 403:
        assert await counts() == before


async def test_an_origin_matching_the_addressed_host_passes(http: aiohttp.ClientSession, base: str) -> None:
    await set_mode("open")
    page = await open_page(http, base)
    answer = await submit_form(http, base, page, headers={"Origin": base})  # http://127.0.0.1:PORT
    assert answer.status == 200


# -- the services' rules ------------------------------------------------------------------------------------


async def test_only_admins_change_the_mode() -> None:
    moderator = await make_user("mod_ann")
    admin = await make_user("ada")
    await User.filter(id=moderator.user.id).update(role="moderator")
    await User.filter(id=admin.user.id).update(role="admin")
    with pytest.raises(Forbidden):
        await registrations.set_mode(await User.get(id=moderator.user.id), "open")
    with pytest.raises(ValidationFailed):
        await registrations.set_mode(None, "everyone")
    assert await registrations.set_mode(await User.get(id=admin.user.id), "approval") == "approval"


async def test_invites_are_created_listed_and_revoked_by_staff(settings: Settings) -> None:
    user = await make_user("zoe")
    moderator = await make_user("mod_ann")
    await User.filter(id=moderator.user.id).update(role="moderator")
    staff = await User.get(id=moderator.user.id)
    with pytest.raises(Forbidden):
        await invites.create_invite(user.user, max_uses=1)
    with pytest.raises(ValidationFailed):
        await invites.create_invite(staff, max_uses=0)
    with pytest.raises(ValidationFailed):
        await invites.create_invite(staff, expires_in=timedelta(seconds=-1))
    week = await invites.create_invite(staff, max_uses=5, expires_in=timedelta(days=7))
    forever = await invites.create_invite(staff)
    assert week.valid and forever.valid and week.code != forever.code and len(week.code) == 10
    assert week.expires_at is not None and week.created_by_id == staff.id
    assert invites.invite_url(settings, week.code) == f"https://art.example/invite/{week.code}"
    assert [i.id for i in await invites.list_invites(staff)] == [forever.id, week.id]
    revoked = await invites.revoke_invite(staff, week.id)
    assert revoked.revoked_at is not None and not revoked.valid
    assert [i.id for i in await invites.list_invites(staff)] == [forever.id]
    assert len(await invites.list_invites(staff, include_inactive=True)) == 2
    assert await invites.find_valid_invite(week.code) is None
    with pytest.raises(NotFound):
        await invites.revoke_invite(staff, 12345)


async def test_approval_queue_needs_staff() -> None:
    user = await make_user("zoe")
    with pytest.raises(Forbidden):
        await sign_up_approvals.pending_sign_ups(user.user)
    with pytest.raises(Forbidden):
        await sign_up_approvals.approve(user.user, user.account.id)


async def test_an_autofollow_invite_makes_the_new_account_follow_its_creator(settings: Settings) -> None:
    inviter = await make_user("ada")
    creator = await User.get(id=inviter.user.id)
    await User.filter(id=creator.id).update(role="moderator")
    creator = await User.get(id=creator.id)
    invite = await invites.create_invite(creator, autofollow=True)
    result = await registrations.sign_up(settings.replace(registrations={"mode": "invite"}), SignUpForm(
        username="mira", email="mira@example.org", password=PASSWORD, agreement=True,
        invite_code=invite.code))
    assert await Follow.exists(account_id=result.account.id, target_account_id=inviter.account.id)
    assert await Notification.exists(account_id=inviter.account.id, from_account_id=result.account.id,
                                     type="follow")
    await Account.filter(id=inviter.account.id).update(locked=True)
    second = await registrations.sign_up(settings.replace(registrations={"mode": "invite"}), SignUpForm(
        username="zoe", email="zoe@example.org", password=PASSWORD, agreement=True, invite_code=invite.code))
    assert await FollowRequest.exists(account_id=second.account.id, target_account_id=inviter.account.id)


async def test_expiry_is_checked_at_the_moment_of_use(settings: Settings) -> None:
    invite = await invites.create_invite(None, expires_in=timedelta(minutes=30))
    await Invite.filter(id=invite.id).update(expires_at=datetime.now(UTC) - timedelta(minutes=1))
    with pytest.raises(registrations.SignUpInvalid) as refused:
        await registrations.sign_up(settings.replace(registrations={"mode": "invite"}), SignUpForm(
            username="mira", email="mira@example.org", password=PASSWORD, agreement=True,
            invite_code=invite.code))
    assert list(refused.value.details) == ["invite_code"]
    assert not await Account.exists(username="mira")
