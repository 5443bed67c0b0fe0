"""Client-API test helpers: a local user with a real access token, and a small JSON client that sends it."""

from __future__ import annotations

import re
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


# Successful answers of these endpoints are checked against openapi.json as they arrive, so every entity a
# test receives through this client is validated (issue 4: "Every entity returned in the tests validates").
# (method, path pattern, schema name, is a list)
_ID = r"\d+"
_SHAPES: list[tuple[str, re.Pattern[str], str, bool]] = [(m, re.compile(p + r"\Z"), n, many) for m, p, n, many in [
    ("POST", r"/api/v1/statuses", "Status", False),
    ("GET|PUT|DELETE", rf"/api/v1/statuses/{_ID}", "Status", False),
    ("POST", rf"/api/v1/statuses/{_ID}/(un)?(favourite|reblog|bookmark|pin|mute)", "Status", False),
    ("GET", rf"/api/v1/statuses/{_ID}/context", "Context", False),
    ("GET", rf"/api/v1/statuses/{_ID}/history", "StatusEdit", True),
    ("GET", rf"/api/v1/statuses/{_ID}/source", "StatusSource", False),
    ("GET", rf"/api/v1/statuses/{_ID}/(favourited_by|reblogged_by)", "Account", True),
    ("GET", r"/api/v1/timelines/(home|public|tag/[^/]+)", "Status", True),
    ("GET", r"/api/v1/(favourites|bookmarks)", "Status", True),
    ("POST", r"/api/v[12]/media", "MediaAttachment", False),
    ("GET|PUT", rf"/api/v1/media/{_ID}", "MediaAttachment", False),
    ("GET", r"/api/v1/accounts/verify_credentials", "CredentialAccount", False),
    ("PATCH", r"/api/v1/accounts/update_credentials", "CredentialAccount", False),
    ("GET", rf"/api/v1/accounts/({_ID}|lookup)", "Account", False),
    ("GET", rf"/api/v1/accounts/{_ID}/statuses", "Status", True),
    ("GET", rf"/api/v1/accounts/{_ID}/(followers|following)", "Account", True),
    ("GET", r"/api/v1/accounts/relationships", "Relationship", True),
    ("POST", rf"/api/v1/accounts/{_ID}/(follow|unfollow|block|unblock|mute|unmute|remove_from_followers|note)",
     "Relationship", False),
    ("GET", r"/api/v1/notifications", "Notification", True),
    ("GET", rf"/api/v1/notifications/{_ID}", "Notification", False),
    ("GET", r"/api/v2/instance/?", "Instance", False),
    ("GET", r"/api/v1/instance/?", "V1Instance", False),
    ("GET", r"/api/v2/search", "Search", False),
    ("GET", r"/api/v1/tags/[^/]+", "Tag", False),
    ("GET", r"/api/v1/admin/accounts", "AdminAccount", True),
    ("GET|DELETE", rf"/api/v1/admin/accounts/{_ID}", "AdminAccount", False),
    ("POST", rf"/api/v1/admin/accounts/{_ID}/(approve|reject|unsilence|unsuspend|unsensitive)", "AdminAccount",
     False),
    ("GET", r"/api/v1/admin/reports", "AdminReport", True),
    ("GET|PUT", rf"/api/v1/admin/reports/{_ID}", "AdminReport", False),
    ("POST", rf"/api/v1/admin/reports/{_ID}/(assign_to_self|unassign|resolve|reopen)", "AdminReport", False),
    ("GET", r"/api/v1/admin/domain_blocks", "AdminDomainBlock", True),
    ("POST", r"/api/v1/admin/domain_blocks", "AdminDomainBlock", False),
    ("GET|PUT", rf"/api/v1/admin/domain_blocks/{_ID}", "AdminDomainBlock", False),
    ("GET", r"/api/v1/admin/domain_allows", "AdminDomainAllow", True),
    ("POST", r"/api/v1/admin/domain_allows", "AdminDomainAllow", False),
    ("GET", rf"/api/v1/admin/domain_allows/{_ID}", "AdminDomainAllow", False),
]]


def check_shape(method: str, path: str, status: int, body: Any) -> None:
    """Validate a successful answer against its openapi.json schema, when the endpoint has one here."""
    if status != 200:
        return
    route = path.split("?", 1)[0]
    for methods, pattern, name, many in _SHAPES:
        if method in methods.split("|") and pattern.match(route):
            from tests.support.openapi import assert_entities, assert_entity
            if many:
                assert_entities(name, body)
            else:
                assert_entity(name, body)
            return


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: Any


class Api:
    """Calls one server's API; ``as_`` picks whose token goes along (None: anonymous)."""

    def __init__(self, http: aiohttp.ClientSession, base_url: str, *, check_shapes: bool = True) -> None:
        self.http = http
        self.base_url = base_url
        self.check_shapes = check_shapes

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
            if self.check_shapes:
                check_shape(method, path, response.status, body)
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
