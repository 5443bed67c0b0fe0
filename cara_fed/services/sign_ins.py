"""Signing in at every door (the website's sign-in, the OAuth authorize form, the password grant):
services/oauth.sign_in, plus the login a moderator disabled (users.disabled, Mastodon's "freeze",
services/moderation_accounts.disable_login), which must not sign in either.

A disabled login is refused before oauth.sign_in runs, so a refused sign-in writes nothing (no
``last_sign_in_at``, no code, no token, no session), and only after the right password: as for suspended
accounts, the answer must not tell strangers which accounts are frozen. Everyone else costs one more
indexed lookup of the login (no second password hash)."""

from __future__ import annotations

from cara_fed.models import User
from cara_fed.services import oauth
from cara_fed.services.passwords import verify_password
from cara_fed.services.tokens import DISABLED

__all__ = ["DISABLED", "sign_in"]


async def sign_in(login: str | None, password: str | None) -> User:
    """The user these credentials belong to, as oauth.sign_in (LoginFailed, LoginBlocked), and
    LoginBlocked(DISABLED) for a disabled login with the right password (its suspension, if any, is
    said first: it is the stronger refusal)."""
    user = await oauth.find_login(login or "")
    if user is None or not user.disabled:
        return await oauth.sign_in(login, password)
    if not await verify_password(user.password_hash, password or ""):
        raise oauth.LoginFailed("Invalid email, username or password.")
    if user.account.suspended_at is not None:
        raise oauth.LoginBlocked("This account is suspended.")
    raise oauth.LoginBlocked(DISABLED)
