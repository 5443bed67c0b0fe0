"""The web studio over real HTTP (issue 6 point 6): signing in and out, the session cookie, and the
studio's forms (uploading, editing, deleting and ordering works, the profile)."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from PIL import Image
from quart import Blueprint

from cara_fed.app import create_app
from cara_fed.models import Account, MediaAttachment, OAuthToken, Status, User
from cara_fed.services import portfolio, web_sessions
from cara_fed.settings import Settings
from cara_fed.web.sessions import current_web_user, signed_in
from tests.support.api import make_user
from tests.support.fakefed import FakeFediverse
from tests.support.servers import RunningServer, serve_asgi
from tests.support.studio import SESSION_COOKIE, WebClient


@pytest.fixture
async def web(server: RunningServer, http: aiohttp.ClientSession) -> AsyncIterator[WebClient]:
    yield WebClient(http, server)


async def test_sign_in_sets_a_session_cookie_and_opens_the_studio(web: WebClient, database: None) -> None:
    await make_user("ada")
    answer = await web.sign_in("ada")
    assert answer.status == 303, answer.text
    assert answer.location == "/studio"
    cookie = next(jar[SESSION_COOKIE] for jar in answer.set_cookies if SESSION_COOKIE in jar)
    assert cookie["httponly"] and cookie["secure"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    assert not cookie["domain"]
    assert int(cookie["max-age"]) == int(web_sessions.SESSION_LIFETIME.total_seconds())
    # Stored as a token of the built-in web app, only its digest.
    row = await OAuthToken.get(token_digest=web_sessions.digest(web.session or "")).prefetch_related("app")
    assert row.app.client_id == web_sessions.WEB_CLIENT_ID and row.scopes == "read write follow"
    assert await OAuthToken.filter(token_digest=web.session).count() == 0
    page = await web.get("/auth/password")
    assert page.status == 200 and "Sign out" in page.text and "@ada" in page.text


async def test_sign_in_by_email_and_sign_out(web: WebClient, database: None) -> None:
    await make_user("bea")
    answer = await web.sign_in("BEA@example.org")
    assert answer.status == 303 and web.session
    secret = web.session
    token = await web.token_for("/auth/password")
    out = await web.post("/auth/sign_out", {"csrf_token": token})
    assert out.status == 303 and out.location == "/"
    assert web.session is None
    row = await OAuthToken.get(token_digest=web_sessions.digest(secret))
    assert row.revoked_at is not None
    # The old cookie no longer works.
    web.cookies["__Host-cara_session"] = secret
    again = await web.get("/auth/password")
    assert again.status == 303 and again.location.startswith("/auth/sign_in?next=")


async def test_wrong_password_and_unknown_login(web: WebClient, database: None) -> None:
    await make_user("cy")
    wrong = await web.sign_in("cy", "not the password")
    assert wrong.status == 422 and "Invalid email, username or password." in wrong.text
    unknown = await web.sign_in("nobody", "not the password")
    assert unknown.status == 422 and "Invalid email, username or password." in unknown.text
    assert web.session is None
    assert await OAuthToken.all().count() == 1  # make_user's own token only


async def test_pending_and_suspended_users_are_refused(web: WebClient, database: None) -> None:
    pending = await make_user("dee")
    await User.filter(id=pending.user.id).update(approved=False)
    answer = await web.sign_in("dee")
    assert answer.status == 403 and "waiting for approval" in answer.text and web.session is None
    suspended = await make_user("eve")
    from datetime import UTC, datetime

    from cara_fed.models import Account
    await Account.filter(id=suspended.account.id).update(suspended_at=datetime.now(UTC))
    answer = await web.sign_in("eve")
    assert answer.status == 403 and "suspended" in answer.text and web.session is None
    # A wrong password says nothing about the account's state.
    answer = await web.sign_in("eve", "wrong password!")
    assert answer.status == 422 and "suspended" not in answer.text


async def test_next_goes_back_only_to_this_server(web: WebClient, database: None) -> None:
    await make_user("fay")
    page = await web.get("/auth/password")
    assert page.status == 303 and page.location == "/auth/sign_in?next=/auth/password"
    token = await web.token_for("/auth/sign_in?next=/auth/password")
    answer = await web.post("/auth/sign_in", {"login": "fay", "password": "correct horse battery",
                                               "next": "//evil.example/x", "csrf_token": token})
    assert answer.location == "/studio"


def png(width: int = 64, height: int = 48, colour: tuple[int, int, int] = (200, 40, 90)) -> bytes:
    image = Image.new("RGB", (width, height), colour)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def media_files(settings: Settings) -> set[str]:
    root = Path(settings.media.root)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def profile_form(**overrides: Any) -> aiohttp.FormData:
    values: dict[str, Any] = {"display_name": "Ada L.", "note": "Paints #gouache", "field_name_0": "Shop",
                              "field_value_0": "https://shop.example", "commissions": "open", "locked": "1",
                              "indexable": "1", "pixels_untouched": "1"}
    values.update(overrides)
    form = aiohttp.FormData()
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, bytes):
            form.add_field(name, value, filename=f"{name}.png", content_type="image/png")
        else:
            form.add_field(name, value)
    return form


async def test_profile_edit(web: WebClient, database: None, settings: Settings) -> None:
    artist = await make_user("gil")
    await web.sign_in("gil")
    page = await web.get("/studio/profile")
    assert page.status == 200 and 'name="display_name"' in page.text
    saved = await web.submit("/studio/profile", "/studio/profile", profile_form(avatar=png()))
    assert saved.status == 303 and saved.location == "/studio/profile?saved=1", saved.text
    account = await Account.get(id=artist.account.id)
    user = await User.get(id=artist.user.id)
    assert account.display_name == "Ada L." and "gouache" in account.note
    assert account.locked and account.indexable
    assert account.profile_fields[0]["name"] == "Shop"
    assert user.commissions == "open" and user.pixels_untouched
    assert account.avatar_path and account.avatar_path in media_files(settings)
    # Unticked boxes are off again; a new avatar replaces the old file.
    old_avatar = account.avatar_path
    saved = await web.submit("/studio/profile", "/studio/profile",
                             profile_form(locked=None, indexable=None, pixels_untouched=None,
                                          commissions="waitlist", avatar=png(colour=(1, 2, 3))))
    assert saved.status == 303
    account = await Account.get(id=artist.account.id)
    user = await User.get(id=artist.user.id)
    assert not account.locked and not account.indexable and not user.pixels_untouched
    assert user.commissions == "waitlist"
    assert account.avatar_path != old_avatar and old_avatar not in media_files(settings)


async def test_profile_errors_are_shown_beside_their_fields_and_nothing_is_kept(
        web: WebClient, database: None, settings: Settings) -> None:
    artist = await make_user("hal")
    await web.sign_in("hal")
    files_before = media_files(settings)
    refused = await web.submit("/studio/profile", "/studio/profile",
                               profile_form(display_name="x" * 31, commissions="sometimes", header=png()))
    assert refused.status == 422
    assert 'id="display_name-error"' in refused.text
    assert 'aria-describedby="display_name-hint display_name-error"' in refused.text
    assert 'id="commissions-error"' in refused.text
    assert "x" * 31 in refused.text  # what was typed is kept in the form
    account = await Account.get(id=artist.account.id)
    assert account.display_name == "" and account.header_path is None
    assert media_files(settings) == files_before
    # A broken image is refused beside its field; the other one processed with it is not kept.
    refused = await web.submit("/studio/profile", "/studio/profile",
                               profile_form(avatar=png(), header=b"not an image at all"))
    assert refused.status == 422 and 'id="header-error"' in refused.text
    account = await Account.get(id=artist.account.id)
    assert account.avatar_path is None and account.header_path is None and account.display_name == ""
    assert media_files(settings) == files_before


def work_form(images: list[tuple[bytes | None, str]], **overrides: Any) -> aiohttp.FormData:
    values: dict[str, Any] = {"title": "Harbour at dusk", "description": "Ink and wash.", "medium": "ink",
                              "year": "2024", "tags": "#harbour, sea", "licence": "cc-by-nc-4.0",
                              "series_id": ""}
    values.update(overrides)
    form = aiohttp.FormData()
    for data, alt in images:
        if data is None:
            form.add_field("files[]", b"", filename="", content_type="application/octet-stream")
        else:
            form.add_field("files[]", data, filename="image.png", content_type="image/png")
        form.add_field("alt[]", alt)
    for name, value in values.items():
        if value is not None:
            form.add_field(name, value)
    return form


async def test_upload_a_work_with_three_images(web: WebClient, database: None, settings: Settings) -> None:
    artist = await make_user("ida")
    await web.sign_in("ida")
    page = await web.get("/studio/works/new")
    assert page.status == 200 and 'name="files[]"' in page.text
    answer = await web.submit("/studio/works/new", "/studio/works/new",
                              work_form([(png(colour=(255, 0, 0)), "red"), (png(colour=(0, 255, 0)), "green"),
                                         (None, ""), (png(colour=(0, 0, 255)), "blue")]))
    assert answer.status == 303, answer.text
    work_id = int(answer.location.split("/")[3].split("?")[0])
    view = await portfolio.get_work(work_id, account_id=artist.account.id)
    assert [i.description for i in view.images] == ["red", "green", "blue"]
    assert view.title == "Harbour at dusk" and view.medium == "ink" and view.year == 2024
    assert view.licence == "cc-by-nc-4.0" and set(view.tags) == {"harbour", "sea"}
    listing = await web.get("/studio")
    assert listing.status == 200 and "Harbour at dusk" in listing.text
    edit = await web.get(answer.location)
    assert edit.status == 200 and "Your work was published" in edit.text


async def upload_work(web: WebClient, title: str, colours: list[tuple[int, int, int]]) -> int:
    answer = await web.submit("/studio/works/new", "/studio/works/new",
                              work_form([(png(colour=c), f"{title} {i}") for i, c in enumerate(colours)],
                                        title=title))
    assert answer.status == 303, answer.text
    assert answer.location is not None
    return int(answer.location.split("/")[3].split("?")[0])


async def titles(account_id: int, series_id: int | None = None) -> list[str]:
    view = await portfolio.list_portfolio(account_id, series_id=series_id)
    return [w.title for w in view.works]


async def test_a_refused_image_makes_no_work_and_leaves_no_file(web: WebClient, database: None,
                                                                 settings: Settings) -> None:
    artist = await make_user("jo")
    await web.sign_in("jo")
    before = media_files(settings)
    answer = await web.submit("/studio/works/new", "/studio/works/new",
                              work_form([(png(), "fine"), (b"GIF89a broken", "broken"), (png(), "")]))
    assert answer.status == 422
    assert 'id="alt_2-error"' in answer.text  # a missing description, beside its field (checked first:
    assert 'id="files_1-error"' not in answer.text  # no image is processed for a form that cannot be saved)
    assert await titles(artist.account.id) == []
    assert await MediaAttachment.filter(account_id=artist.account.id).count() == 0
    assert media_files(settings) == before
    # With every description given, the refused file alone stops it, and what was processed is deleted.
    answer = await web.submit("/studio/works/new", "/studio/works/new",
                              work_form([(png(), "fine"), (b"GIF89a broken", "broken")]))
    assert answer.status == 422
    assert 'id="files_1-error"' in answer.text and 'aria-invalid="true"' in answer.text
    assert await MediaAttachment.filter(account_id=artist.account.id).count() == 0
    assert await Status.filter(account_id=artist.account.id).count() == 0
    assert media_files(settings) == before
    # No image at all, a year that is not one, an unknown licence: each beside its field.
    answer = await web.submit("/studio/works/new", "/studio/works/new",
                              work_form([(None, "")], year="next year", licence="mine-all-mine", tags="#!!"))
    assert answer.status == 422
    for field in ("files_0", "year", "licence", "tags"):
        assert f'id="{field}-error"' in answer.text, field
    assert "next year" in answer.text


async def test_edit_a_work_alt_texts_images_and_fields(web: WebClient, database: None,
                                                       settings: Settings) -> None:
    artist = await make_user("kai")
    await web.sign_in("kai")
    work_id = await upload_work(web, "Tide", [(10, 10, 10), (20, 20, 20)])
    view = await portfolio.get_work(work_id, account_id=artist.account.id)
    first, second = view.images
    form = work_form([(png(colour=(30, 30, 30)), "third")], title="Tide (second state)", tags="#sea")
    form.add_field(f"alt_{first.id}", "first, described better")
    form.add_field(f"alt_{second.id}", second.description)
    form.add_field(f"remove_{second.id}", "1")
    answer = await web.submit(f"/studio/works/{work_id}", f"/studio/works/{work_id}", form)
    assert answer.status == 303, answer.text
    view = await portfolio.get_work(work_id, account_id=artist.account.id)
    assert view.title == "Tide (second state)" and view.tags == ("sea",)
    assert [i.description for i in view.images] == ["first, described better", "third"]
    # An emptied description is refused beside it, nothing changes.
    form = work_form([], title="Changed?")
    form.add_field(f"alt_{first.id}", "")
    form.add_field(f"alt_{view.images[1].id}", "third")
    answer = await web.submit(f"/studio/works/{work_id}", f"/studio/works/{work_id}", form)
    assert answer.status == 422 and f'id="alt_{first.id}-error"' in answer.text
    assert (await portfolio.get_work(work_id, account_id=artist.account.id)).title == "Tide (second state)"


async def test_delete_a_work(web: WebClient, database: None) -> None:
    artist = await make_user("lu")
    await web.sign_in("lu")
    keep = await upload_work(web, "Keep the post", [(1, 1, 1)])
    gone = await upload_work(web, "Gone", [(2, 2, 2)])
    page = await web.get(f"/studio/works/{gone}/delete")
    assert page.status == 200
    path = f"/studio/works/{gone}/delete"
    answer = await web.submit(path, path, {"keep_post": "0"})
    assert answer.status == 303 and answer.location == "/studio?done=deleted"
    path = f"/studio/works/{keep}/delete"
    answer = await web.submit(path, path, {"keep_post": "1"})
    assert answer.status == 303
    assert await titles(artist.account.id) == []
    statuses = await Status.filter(account_id=artist.account.id, deleted_at=None).count()
    assert statuses == 1  # the kept post


async def test_reorder_the_portfolio_and_a_series(web: WebClient, database: None) -> None:
    artist = await make_user("mo")
    await web.sign_in("mo")
    for title in ("A", "B", "C"):
        await upload_work(web, title, [(5, 5, 5)])
    assert await titles(artist.account.id) == ["C", "B", "A"]  # a new work goes to the top
    ids = {w.title: w.id for w in (await portfolio.list_portfolio(artist.account.id)).works}
    # Typed positions.
    answer = await web.submit("/studio/order", "/studio/order", {
        f"position_{ids['A']}": "1", f"position_{ids['B']}": "3", f"position_{ids['C']}": "2"})
    assert answer.status == 303, answer.text
    assert await titles(artist.account.id) == ["A", "C", "B"]
    # A move button: one place.
    answer = await web.submit("/studio/order", "/studio/order", {"move": f"{ids['B']}:up"})
    assert await titles(artist.account.id) == ["A", "B", "C"]
    # Not a number: beside its field, nothing changes.
    answer = await web.submit("/studio/order", "/studio/order", {f"position_{ids['C']}": "first"})
    assert answer.status == 422 and f'id="position_{ids["C"]}-error"' in answer.text
    assert await titles(artist.account.id) == ["A", "B", "C"]
    # A series, two works in it, reordered.
    answer = await web.submit("/studio/order", "/studio/series",
                              {"name": "Coast", "description": "By the sea"})
    assert answer.status == 303, answer.text
    series = (await portfolio.list_series(artist.account.id))[0]
    for title in ("A", "C"):
        form = work_form([], title=title, series_id=str(series.id))
        view = await portfolio.get_work(ids[title], account_id=artist.account.id)
        form.add_field(f"alt_{view.images[0].id}", view.images[0].description)
        answer = await web.submit(f"/studio/works/{ids[title]}", f"/studio/works/{ids[title]}", form)
        assert answer.status == 303, answer.text
    page = await web.get(f"/studio/series/{series.id}")
    assert page.status == 200 and "Coast" in page.text
    in_series = await titles(artist.account.id, series.id)
    answer = await web.submit(f"/studio/series/{series.id}", f"/studio/series/{series.id}/order",
                              {"move": f"{ids[in_series[1]]}:up"})
    assert answer.status == 303, answer.text
    assert await titles(artist.account.id, series.id) == list(reversed(in_series))
    # A duplicate name is refused beside the name field.
    answer = await web.submit("/studio/order", "/studio/series", {"name": "Coast"})
    assert answer.status == 422 and 'id="series_name-error"' in answer.text


@pytest.fixture
async def plain_http_site(settings: Settings, fediverse: FakeFediverse) -> AsyncIterator[RunningServer]:
    """An instance served over http (federation.allow_http), with a staff-only page as the admin pages
    will make them (web/sessions.signed_in(roles=...))."""
    staff_bp = Blueprint("staff_test", __name__)

    @staff_bp.get("/staff-only")
    @signed_in(roles=("moderator", "admin"))
    async def staff_only() -> str:
        session = await current_web_user()
        assert session is not None
        return f"hello {session.role}"

    app = create_app(settings.replace(federation={"allow_http": True}), run_jobs=False,
                     http_session_factory=fediverse.guarded_session)
    app.register_blueprint(staff_bp)
    async with serve_asgi(app) as running:
        yield running


async def test_roles_and_cookies_without_https(plain_http_site: RunningServer, http: aiohttp.ClientSession,
                                               database: None) -> None:
    web = WebClient(http, plain_http_site)
    await make_user("nia")
    await make_user("oto")
    await User.filter(account__username="oto").update(role="admin")
    answer = await web.sign_in("nia")
    cookie = next(jar["cara_session"] for jar in answer.set_cookies if "cara_session" in jar)
    assert cookie["httponly"] and not cookie["secure"] and cookie["samesite"] == "Lax"
    refused = await web.get("/staff-only")
    assert refused.status == 403 and "cannot open this page" in refused.text
    admin = WebClient(http, plain_http_site)
    await admin.sign_in("oto")
    allowed = await admin.get("/staff-only")
    assert allowed.status == 200 and allowed.text == "hello admin"
    with pytest.raises(ValueError):
        signed_in(roles=("superuser",))


async def test_studio_pages_are_well_formed_html(web: WebClient, database: None, settings: Settings) -> None:
    import html5lib

    await make_user("pia")
    sign_in_page = await web.get("/auth/sign_in")
    pages = {"/auth/sign_in": sign_in_page.text}
    await web.sign_in("pia")
    work_id = await upload_work(web, "Well formed", [(7, 7, 7), (8, 8, 8)])
    await web.submit("/studio/order", "/studio/series", {"name": "Forms"})
    series = (await portfolio.list_series((await Account.get(username="pia")).id))[0]
    for path in ("/studio", "/studio/works/new", f"/studio/works/{work_id}", f"/studio/works/{work_id}/delete",
                 "/studio/order", f"/studio/series/{series.id}", "/studio/profile", "/auth/password"):
        answer = await web.get(path)
        assert answer.status == 200, path
        pages[path] = answer.text
    pages["errors"] = (await web.submit("/studio/works/new", "/studio/works/new",
                                        work_form([(None, "orphan")], year="x"))).text
    for path, text in pages.items():
        html5lib.HTMLParser(strict=True).parse(text)  # raises on any parse error (unclosed tags...)
        assert "<script>" not in text, path  # no inline script (the CSP allows none)


async def test_an_upload_over_the_limit_is_a_page_not_json(web: WebClient, database: None,
                                                          settings: Settings) -> None:
    await make_user("quin")
    await web.sign_in("quin")
    too_big = b"\0" * (settings.media.max_upload_bytes + 2 * 1024 * 1024)
    for path in ("/studio/works/new", "/studio/profile"):
        form = aiohttp.FormData()
        form.add_field("csrf_token", await web.token_for(path))
        form.add_field("files[]" if path.endswith("new") else "avatar", too_big, filename="big.png",
                       content_type="image/png")
        answer = await web.post(path, form)
        assert answer.status == 413 and "larger than this server takes at once" in answer.text, path
    assert await MediaAttachment.all().count() == 0
