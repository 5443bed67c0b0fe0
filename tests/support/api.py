"""Client-API test helpers: a local user with a real access token, and a small JSON client that sends it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import aiohttp

from cara_fed.models import Account, User
from cara_fed.services import accounts
from cara_fed.services.tokens import issue_token, parse_scopes

ALL_CLIENT_SCOPES = "read write follow push"


@dataclass
class ApiUser:
    account: Account
    user: User
    token: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def make_user(username: str, scopes: str = ALL_CLIENT_SCOPES, **account_fields: Any) -> ApiUser:
    """A local account with a token of ``scopes`` (needs the ``database`` fixture: it writes directly)."""
    user = await accounts.create_local_account(username, f"{username}@example.org", "correct horse battery")
    account = await Account.get(id=user.account_id)
    if account_fields:
        await Account.filter(id=account.id).update(**account_fields)
        account = await Account.get(id=account.id)
    issued = await issue_token(None, user, parse_scopes(scopes))
    return ApiUser(account=account, user=user, token=issued.access_token)


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """Calls one server's API; ``as_`` picks whose token goes along (None: anonymous)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str) -> None:
        self.http = http
        self.base_url = base_url

    async def call(self, method: str, path: str, who: ApiUser | None = None, *, json: Any = None,
                   data: Any = None, params: Any = None, headers: dict[str, str] | None = None) -> ApiResponse:
        sent = {**(who.auth if who else {}), **(headers or {})}
        async with self.http.request(method, self.base_url + path, json=json, data=data, params=params,
                                     headers=sent, allow_redirects=False) as response:
            text = await response.text()
            try:
                import orjson
                body: Any = orjson.loads(text) if text else None
            except ValueError:
                body = text
            return ApiResponse(response.status, dict(response.headers), body)

    async def get(self, path: str, who: ApiUser | None = None, **kw: Any) -> ApiResponse:
        return await self.call("GET", path, who, **kw)

    async def post(self, path: str, who: ApiUser | None = None, **kw: Any) -> ApiResponse:
        return await self.call("POST", path, who, **kw)

    async def put(self, path: str, who: ApiUser | None = None, **kw: Any) -> ApiResponse:
        return await self.call("PUT", path, who, **kw)

    async def patch(self, path: str, who: ApiUser | None = None, **kw: Any) -> ApiResponse:
        return await self.call("PATCH", path, who, **kw)

    async def delete(self, path: str, who: ApiUser | None = None, **kw: Any) -> ApiResponse:
        return await self.call("DELETE", path, who, **kw)
