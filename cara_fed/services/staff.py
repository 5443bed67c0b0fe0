"""Who may run the instance: the roles (user, moderator, admin), their rank, and the permission checks every
admin use case makes before it changes anything.

Mastodon's defaults (app/models/user_role.rb, app/policies/account_policy.rb) are the model: moderators
handle users and reports; admins also change settings, roles and invites; a member of staff acts only on
accounts whose role is below their own (``role.overrides?``), so a moderator cannot suspend an admin.

``by=None`` everywhere means the operator at the command line (``cara-fed ...``): whoever can run the CLI
can already read the database, so the CLI is trusted and only the data rules (such as "the last admin
stays an admin") still apply to it."""

from __future__ import annotations

from cara_fed.errors import Forbidden
from cara_fed.models import User

ROLES = ("user", "moderator", "admin")  # also cara_fed.services.accounts.ROLES (kept in step)
_RANK = {"user": 0, "moderator": 1, "admin": 2}
NOT_ALLOWED = "This action is not allowed"


def rank(role: str) -> int:
    return _RANK.get(role, 0)


def is_staff(user: User | None) -> bool:
    return user is not None and rank(user.role) >= rank("moderator")


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == "admin"


def require_staff(by: User | None) -> None:
    """A moderator or an admin (or the CLI)."""
    if by is not None and not is_staff(by):
        raise Forbidden(NOT_ALLOWED)


def require_admin(by: User | None) -> None:
    """An admin (or the CLI): settings, roles, registration mode."""
    if by is not None and not is_admin(by):
        raise Forbidden(NOT_ALLOWED)


def require_over(by: User | None, target: User | None) -> None:
    """Staff acting on ``target`` (the login of a local account, None for a remote account): never on
    themselves, moderators only on users, admins on anyone else (Mastodon lets only its Owner role act on
    admins; cara_fed has no owner, and the last admin is protected by set_role)."""
    require_staff(by)
    if by is None or target is None:
        return
    if target.id == by.id:
        raise Forbidden("You cannot moderate your own account")
    if not is_admin(by) and rank(target.role) >= rank(by.role):
        raise Forbidden(NOT_ALLOWED)
