"""Who is calling: the bearer token (``Authorization: Bearer``, or Doorkeeper's ``access_token``
parameter, which Mastodon also accepts) and the scopes each endpoint needs.

Mastodon's rules (app/controllers/api/base_controller.rb): an unknown or revoked token is 401 "The access
token is invalid" wherever a token is required; a token without the scope is 403; an app-only token on an
endpoint that acts as a user is 422 "This method requires an authenticated user"; a live token of a person
who may not act (a sign-up waiting for approval, a login a moderator disabled) is 403 with the reason there
(require_user!: "Your login is currently pending approval" / "... disabled", services/tokens.py), and
only its app counts on app-level endpoints. Public endpoints treat a bad token as no token (Tusky sends
its token everywhere)."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from quart import g, request

from cara_fed.errors import CaraError
from cara_fed.models import Account, User
from cara_fed.services.tokens import TokenAuth, authenticate

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


class Unauthorized(CaraError):
    status = 401


class OutsideScopes(CaraError):
    status = 403


class UserRequired(CaraError):
    status = 422


class NotYet(CaraError):
    status = 403


INVALID_TOKEN = "The access token is invalid"


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return request.args.get("access_token") or None


async def current_auth() -> TokenAuth | None:
    """The request's token, looked up once per request."""
    if "auth" not in g:
        secret = bearer_token()
        g.auth = await authenticate(secret) if secret else None
        g.auth_given = secret is not None
    auth: TokenAuth | None = g.auth
    return auth


def authorized(*scopes: str, user: bool = True, optional: bool = False) -> Callable[[F], F]:
    """Require a live token with any one of ``scopes`` (none listed: any token). ``user``: it must act
    as a user. ``optional``: anonymous callers pass too (public endpoints); a token, if valid, is used."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            auth = await current_auth()
            if auth is None:
                if optional:
                    return await view(*args, **kwargs)
                raise Unauthorized(INVALID_TOKEN)
            if scopes and not auth.allows(*scopes):
                if optional:
                    g.auth = None  # a token without the scope reads a public endpoint as anyone would
                    return await view(*args, **kwargs)
                raise OutsideScopes("This action is outside the authorized scopes")
            if not auth.acts:
                if optional:
                    g.auth = None  # reads public endpoints as anyone would
                    return await view(*args, **kwargs)
                if user:
                    raise NotYet(auth.refusal or "")
                g.auth = auth.app_only()  # app-level endpoints: the app, not the person
            if user and auth.user is None and not optional:
                raise UserRequired("This method requires an authenticated user")
            return await view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorate


def viewer() -> Account | None:
    """The signed-in account of this request (after ``authorized``), or None."""
    auth: TokenAuth | None = g.get("auth")
    return auth.account if auth is not None else None


def me() -> Account:
    """The signed-in account; only inside endpoints decorated with ``authorized(user=True)``."""
    account = viewer()
    assert account is not None, "me() outside an authorized(user=True) endpoint"
    return account


def my_user() -> User:
    auth: TokenAuth | None = g.get("auth")
    assert auth is not None and auth.user is not None
    return auth.user


def token_auth() -> TokenAuth | None:
    return g.get("auth")
