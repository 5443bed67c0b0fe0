"""Signing in with a login (email or username) and password, for the website, the OAuth authorize form and
the password grant (services/oauth.py): one place decides who may sign in, so a suspended, unapproved or
disabled ("frozen") login is refused the same way everywhere."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

from cara_fed.errors import CaraError
from cara_fed.models import User
from cara_fed.models.accounts import acct_key
from cara_fed.services.passwords import hash_password, verify_password
from cara_fed.services.tokens import DISABLED


class LoginFailed(CaraError):
    status = 401


class LoginBlocked(CaraError):
    status = 403


PASSWORD_CHANGE_REQUIRED = ("A moderator asked you to choose a new password: sign in on this server's "
                            "website (/auth/sign_in) to set it, then sign in here again.")


_dummy_hash: str | None = None


async def _spend_a_verification(password: str) -> None:
    """Verify against a throw-away hash, so an unknown login takes as long as a wrong password (no user
    enumeration by timing)."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = await hash_password(secrets.token_urlsafe(16))
    await verify_password(_dummy_hash, password)


async def find_login(login: str) -> User | None:
    """The local user whose email (as Mastodon: toot and Mastodon.py send the email) or username this is."""
    login = login.strip()
    if not login or len(login) > 320:
        return None
    if "@" in login.lstrip("@"):
        user = await User.filter(email=login.lower()).select_related("account").first()
        if user is not None:
            return user
    return await User.filter(account__acct_key=acct_key(login.lstrip("@"), None)).select_related(
        "account").first()


async def sign_in(login: str | None, password: str | None) -> User:
    """The user these credentials belong to. LoginFailed for unknown logins and wrong passwords alike;
    LoginBlocked (only after a correct password: the answer must not tell strangers which accounts are
    frozen) for suspended, not yet approved or disabled ("frozen" by a moderator) logins; nothing is
    written then (no ``last_sign_in_at``, and the callers make no code, token or session)."""
    password = password or ""
    user = await find_login(login or "")
    if user is None:
        await _spend_a_verification(password)
        raise LoginFailed("Invalid email, username or password.")
    if not await verify_password(user.password_hash, password):
        raise LoginFailed("Invalid email, username or password.")
    if user.account.suspended_at is not None:
        raise LoginBlocked("This account is suspended.")
    if not user.approved:
        raise LoginBlocked("This account is waiting for approval.")
    if user.disabled:  # services/moderation_accounts.disable_login
        raise LoginBlocked(DISABLED)
    if user.must_change_password:  # an admin forced a reset (services/moderation_accounts.py)
        raise LoginBlocked(PASSWORD_CHANGE_REQUIRED)
    await User.filter(id=user.id).update(last_sign_in_at=datetime.now(UTC))
    return user


def can_act(user: User) -> bool:
    """Whether this user may still use what a sign-in gave (an authorization code being exchanged)."""
    return user.account.suspended_at is None and user.approved and not user.disabled
