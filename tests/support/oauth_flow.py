"""Drive cara_fed's OAuth2 over real HTTP as a client and a person in a browser would: register an app,
open the authorize page, read its form, post it back, follow the redirect's code to the token endpoint."""

from __future__ import annotations

import base64
import hashlib
import secrets
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import orjson

from cara_fed.models import OAuthCode, OAuthToken

PASSWORD = "correct horse battery"  # tests/support/api.py make_user's
TUSKY = "oauth2redirect://com.keylesspalace.tusky/"
CALLBACK = "https://app.example/callback"
OOB_URI = "urn:ietf:wg:oauth:2.0:oob"
ALL = "read write follow push"


def pkce_pair() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")

    def redirect_query(self) -> dict[str, str]:
        assert self.location is not None, f"no redirect: {self.status} {self.text[:300]}"
        return {k: v[0] for k, v in parse_qs(urlsplit(self.location).query).items()}

    def form(self) -> dict[str, str]:
        """The named inputs of the page's form (hidden fields and the token)."""
        parser = _FormParser()
        parser.feed(self.text)
        return parser.fields


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


@dataclass
class Json:
    status: int
    headers: dict[str, str]
    body: Any


@dataclass
class App:
    client_id: str
    client_secret: str
    redirect_uris: list[str]
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def redirect_uri(self) -> str:
        return self.redirect_uris[0]


class OAuthClient:
    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url

    async def request(self, method: str, path: str, **kw: Any) -> Json:
        async with self.http.request(method, self.base_url + path, allow_redirects=False, **kw) as response:
            text = await response.text()
            try:
                body: Any = orjson.loads(text) if text else None
            except ValueError:
                body = text
            return Json(response.status, dict(response.headers), body)

    async def register(self, name: str = "Test client", redirect_uris: Any = CALLBACK, scopes: str = ALL,
                       *, as_json: bool = False, **extra: Any) -> App:
        data = {"client_name": name, "redirect_uris": redirect_uris, "scopes": scopes, **extra}
        got = await (self.request("POST", "/api/v1/apps", json=data) if as_json
                     else self.request("POST", "/api/v1/apps", data=data))
        assert got.status == 200, got.body
        return App(got.body["client_id"], got.body["client_secret"], got.body["redirect_uris"], got.body)

    async def page(self, method: str, path: str, **kw: Any) -> Page:
        async with self.http.request(method, self.base_url + path, allow_redirects=False, **kw) as response:
            return Page(response.status, dict(response.headers), await response.text())

    async def open_authorize(self, query: dict[str, str] | str, *, slash: bool = False) -> Page:
        text = query if isinstance(query, str) else urlencode(query)
        return await self.page("GET", f"/oauth/authorize{'/' if slash else ''}?{text}")

    async def submit(self, form: dict[str, str], login: str | None, password: str | None = PASSWORD,
                     decision: str = "approve") -> Page:
        data = {**form, "decision": decision}
        if login is not None:
            data["login"] = login
        if password is not None:
            data["password"] = password
        return await self.page("POST", "/oauth/authorize", data=data)

    @staticmethod
    def query(app: App, *, redirect_uri: str | None = None, scope: str | None = ALL, state: str | None = None,
              challenge: str | None = None, method: str | None = "S256") -> dict[str, str]:
        query = {"response_type": "code", "client_id": app.client_id,
                 "redirect_uri": redirect_uri if redirect_uri is not None else app.redirect_uri}
        if scope is not None:
            query["scope"] = scope
        if state is not None:
            query["state"] = state
        if challenge is not None:
            query["code_challenge"] = challenge
            if method is not None:
                query["code_challenge_method"] = method
        return query

    async def authorize(self, app: App, login: str, **query: Any) -> Page:
        """Open the page, sign in and approve: the redirect (or the out-of-band page)."""
        page = await self.open_authorize(self.query(app, **query))
        assert page.status == 200, page.text[:500]
        return await self.submit(page.form(), login)

    async def code(self, app: App, login: str, **query: Any) -> str:
        answer = await self.authorize(app, login, **query)
        assert answer.status == 302, answer.text[:500]
        return answer.redirect_query()["code"]

    async def token(self, data: dict[str, Any], *, app: App | None = None, basic: bool = False,
                    as_json: bool = False) -> Json:
        data = dict(data)
        headers = {}
        if app is not None and basic:
            raw = f"{app.client_id}:{app.client_secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
        elif app is not None:
            data.setdefault("client_id", app.client_id)
            data.setdefault("client_secret", app.client_secret)
        kw: dict[str, Any] = {"json": data} if as_json else {"data": data}
        return await self.request("POST", "/oauth/token", headers=headers, **kw)

    async def exchange(self, app: App, code: str, *, redirect_uri: str | None = None,
                       verifier: str | None = None, **extra: Any) -> Json:
        data = {"grant_type": "authorization_code", "code": code,
                "redirect_uri": redirect_uri if redirect_uri is not None else app.redirect_uri, **extra}
        if verifier is not None:
            data["code_verifier"] = verifier
        return await self.token(data, app=app)

    async def revoke(self, app: App, token: str, **extra: Any) -> Json:
        data = {"client_id": app.client_id, "client_secret": app.client_secret, "token": token, **extra}
        return await self.request("POST", "/oauth/revoke", data=data)

    async def whoami(self, token: str, path: str = "/api/v1/accounts/verify_credentials") -> Json:
        return await self.request("GET", path, headers={"Authorization": f"Bearer {token}"})


async def stored() -> tuple[int, int, int]:
    """(codes, tokens, live tokens) in the database: what a refused request must leave unchanged."""
    return (await OAuthCode.all().count(), await OAuthToken.all().count(),
            await OAuthToken.filter(revoked_at=None).count())
