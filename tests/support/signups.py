"""Signing up as a client app and as a person in a browser would (issue 7 point 1): an app token from the
client-credentials grant, ``POST /api/v1/accounts``, the sign-up page's form, and the counts of every table
a refused sign-up must leave unchanged."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import aiohttp

from cara_fed.models import Account, Follow, Invite, Notification, OAuthCode, OAuthToken, User
from cara_fed.services import registrations
from tests.support.oauth_flow import App, Json, OAuthClient, Page

PASSWORD = "correct horse battery"


async def app_token(oauth: OAuthClient, scopes: str = "read write follow push",
                    token_scope: str = "write:accounts") -> tuple[App, str]:
    """A registered app and its client-credentials token (what Mastodon clients sign up with)."""
    app = await oauth.register(scopes=scopes)
    got = await oauth.token({"grant_type": "client_credentials", "scope": token_scope}, app=app)
    assert got.status == 200, got.body
    return app, got.body["access_token"]


async def api_sign_up(oauth: OAuthClient, token: str | None, *, as_json: bool = True, **fields: Any) -> Json:
    data: dict[str, Any] = {"username": "mira", "email": "mira@example.org", "password": PASSWORD,
                            "agreement": True, "locale": "en", **fields}
    data = {k: v for k, v in data.items() if v is not None}
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    if as_json:
        return await oauth.request("POST", "/api/v1/accounts", json=data, headers=headers)
    form = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in data.items()}
    return await oauth.request("POST", "/api/v1/accounts", data=form, headers=headers)


async def set_mode(mode: str) -> None:
    """The admin's run-time choice (an InstanceSetting), as the admin pages and CLI will make it."""
    await registrations.set_mode(None, mode)


async def counts() -> dict[str, int]:
    """What a refused sign-up must leave exactly as it was."""
    return {"accounts": await Account.all().count(), "users": await User.all().count(),
            "tokens": await OAuthToken.all().count(), "codes": await OAuthCode.all().count(),
            "invite_uses": sum(await Invite.all().values_list("uses", flat=True)),
            "follows": await Follow.all().count(), "notifications": await Notification.all().count()}


class _Inputs(HTMLParser):
    """Every named input, textarea and the form's action, from a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inputs: dict[str, dict[str, str | None]] = {}
        self.textareas: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name"):
            self.inputs[values["name"] or ""] = values
        if tag == "textarea" and values.get("name"):
            self.textareas.append(values["name"] or "")


def inputs(page: Page) -> _Inputs:
    parser = _Inputs()
    parser.feed(page.text)
    return parser


async def open_page(http: aiohttp.ClientSession, base: str, path: str = "/auth/sign_up",
                    **kw: Any) -> Page:
    async with http.get(base + path, allow_redirects=False, **kw) as response:
        return Page(response.status, dict(response.headers), await response.text())


async def submit_form(http: aiohttp.ClientSession, base: str, page: Page, *,
                      headers: dict[str, str] | None = None, **fields: Any) -> Page:
    """Post the sign-up form as a browser fills it in: the page's hidden token, then the person's fields."""
    data: dict[str, str] = {"authenticity_token": page.form().get("authenticity_token", "")}
    defaults = {"username": "mira", "email": "mira@example.org", "password": PASSWORD,
                "password_confirmation": fields.get("password", PASSWORD), "agreement": "1"}
    for name, value in {**defaults, **fields}.items():
        if value is not None:
            data[name] = str(value)
    async with http.post(base + "/auth/sign_up", data=data, headers=headers or {},
                         allow_redirects=False) as response:
        return Page(response.status, dict(response.headers), await response.text())
