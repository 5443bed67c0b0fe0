"""What the admin endpoints share: the token's scope (``admin:read`` / ``admin:write`` or their granular
forms, 403 without it) and the acting user's role (403 ``This action is not allowed`` for anyone who is
not staff, as Mastodon's Api::BaseController#require_user! and the admin policies), paging by id."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from quart import Response

from cara_fed.api.accounts import path_id, urls
from cara_fed.api.auth import authorized, my_user
from cara_fed.errors import Forbidden
from cara_fed.models import User
from cara_fed.services.paging import Page
from cara_fed.services.staff import NOT_ALLOWED, is_admin, is_staff

F = TypeVar("F", bound=Callable[..., Awaitable[Any]])

__all__ = ["admin_endpoint", "acting_user", "page_of", "path_id", "urls"]


def admin_endpoint(scope: str, *, admins_only: bool = False) -> Callable[[F], F]:
    """A user token with ``scope`` (its parent scopes count, e.g. ``admin:read`` for
    ``admin:read:accounts``) of a moderator or admin (``admins_only``: an admin)."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        async def checked(*args: Any, **kwargs: Any) -> Any:
            user = my_user()
            if not (is_admin(user) if admins_only else is_staff(user)):
                raise Forbidden(NOT_ALLOWED)
            return await view(*args, **kwargs)

        return authorized(scope)(checked)  # type: ignore[return-value]

    return decorate


def acting_user() -> User:
    return my_user()


def page_of(rows: list[Any], page: Page, key: Callable[[Any], int]) -> list[Any]:
    """One page of an id-ordered list held in memory (domain blocks and allows: a few thousand rows at
    most), newest first, as Mastodon's to_a_paginated_by_id."""
    ordered = sorted(rows, key=key, reverse=not page.ascending)
    for bound, keep in ((page.max_id, lambda i, b: i < b), (page.since_id, lambda i, b: i > b),
                        (page.min_id, lambda i, b: i > b)):
        if bound is not None:
            ordered = [r for r in ordered if keep(key(r), bound)]
    return page.newest_first(ordered[:page.limit])


def no_content() -> Response:
    return Response("{}", content_type="application/json; charset=utf-8")
