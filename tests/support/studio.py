"""A browser-like HTTP client for the studio's server-rendered pages: it keeps cookies by hand (the test
instance is https://art.example served on plain loopback http, so a real cookie jar would drop the
``Secure`` ``__Host-`` cookies), reads form tokens from pages, and signs in."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import aiohttp

from tests.support.servers import RunningServer

PASSWORD = "correct horse battery"  # tests/support/api.make_user's
SESSION_COOKIE = "__Host-cara_session"
ANONYMOUS_COOKIE = "__Host-cara_csrf"


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has a form token"
    return found.group(1)


@dataclass
class Answer:
    status: int
    headers: Any
    text: str
    set_cookies: list[SimpleCookie] = field(default_factory=list)

    @property
    def location(self) -> str | None:
        value = self.headers.get("Location")
        return str(value) if value is not None else None


@dataclass
class WebClient:
    http: aiohttp.ClientSession
    server: RunningServer
    cookies: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, path: str, *, data: Any = None,
                      headers: dict[str, str] | None = None, keep_cookies: bool = True) -> Answer:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        async with self.http.request(method, self.server.url + path, data=data, headers=sent,
                                     allow_redirects=False) as response:
            text = await response.text()
            jars = []
            for header in response.headers.getall("Set-Cookie", []):
                jar: SimpleCookie = SimpleCookie()
                jar.load(header)
                jars.append(jar)
                if keep_cookies:
                    for name, morsel in jar.items():
                        if morsel["max-age"] == "0" or morsel.value == "":
                            self.cookies.pop(name, None)
                        else:
                            self.cookies[name] = morsel.value
            return Answer(response.status, response.headers, text, jars)

    async def get(self, path: str, **kwargs: Any) -> Answer:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, data: Any = None, **kwargs: Any) -> Answer:
        return await self.request("POST", path, data=data, **kwargs)

    async def token_for(self, path: str) -> str:
        page = await self.get(path)
        assert page.status == 200, (path, page.status, page.text[:500])
        return csrf_of(page.text)

    async def submit(self, page_path: str, action: str, fields: dict[str, Any] | aiohttp.FormData,
                     **kwargs: Any) -> Answer:
        """GET ``page_path`` for its form token, then POST ``fields`` (with the token) to ``action``."""
        token = await self.token_for(page_path)
        if isinstance(fields, aiohttp.FormData):
            fields.add_field("csrf_token", token)
            return await self.post(action, fields, **kwargs)
        return await self.post(action, {**fields, "csrf_token": token}, **kwargs)

    async def sign_in(self, login: str, password: str = PASSWORD) -> Answer:
        return await self.submit("/auth/sign_in", "/auth/sign_in", {"login": login, "password": password})

    @property
    def session(self) -> str | None:
        return self.cookies.get(SESSION_COOKIE)
