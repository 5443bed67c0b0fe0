"""Web sessions (the studio, the admin pages): who a browser is signed in as, kept on the server.

There is no session table: a session is an access token of a built-in OAuth app (``cara_fed web``), the
cookie holding the token and the database only its SHA-256 digest (models/oauth.py). So everything that
ends an account's tokens ends its web sessions at the same moment: suspending it
(services/accounts.suspend), a new password (services/accounts.set_password), a moderator's revocation.
The app registers no redirect URI and its secret is never shown, so no one can run an OAuth flow with it.

The anti-forgery (CSRF) tokens of the forms are HMACs keyed from the instance actor's private key: of the
session's digest once signed in, of a random per-browser value before (the sign-in form itself)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from cara_fed.errors import ValidationFailed
from cara_fed.models import Account, OAuthApp, OAuthToken, User
from cara_fed.services import instance
from cara_fed.services.passwords import check_password_rules, hash_password, verify_password
from cara_fed.services.tokens import digest, issue_token

WEB_CLIENT_ID = "cara_fed-web-sessions"  # not a random id: every process must find the same row
WEB_APP_NAME = "cara_fed web"
SESSION_SCOPES = ["read", "write", "follow"]
# A session lasts this long from sign-in (Mastodon's Devise `remember_for` is two weeks; an artist's studio
# is used less often than a timeline, so a month), then the artist signs in again.
SESSION_LIFETIME = timedelta(days=30)
_LAST_USED_EVERY = timedelta(hours=1)  # as services/tokens.py: not a write per page view
ROLES = ("user", "moderator", "admin")


@dataclass(frozen=True)
class WebSession:
    """A live session: its token row, the user (with ``user.account`` loaded) and when it ends."""
    token_id: int
    token_digest: str
    user: User
    account: Account
    expires_at: datetime

    @property
    def role(self) -> str:
        return self.user.role

    @property
    def must_change_password(self) -> bool:
        return bool(self.user.must_change_password)


async def web_app() -> OAuthApp:
    """The built-in app whose tokens are web sessions, created on first use (by any process: a lost race
    for the unique client id finds the winner's row)."""
    app = await OAuthApp.filter(client_id=WEB_CLIENT_ID).first()
    if app is not None:
        return app
    try:
        return await OAuthApp.create(name=WEB_APP_NAME, website=None, redirect_uris="",
                                     scopes=" ".join(SESSION_SCOPES), client_id=WEB_CLIENT_ID,
                                     client_secret=secrets.token_urlsafe(32))
    except IntegrityError:
        return await OAuthApp.get(client_id=WEB_CLIENT_ID)


async def start_session(user: User) -> str:
    """A new session for ``user`` (already authenticated); returns the secret for the cookie."""
    issued = await issue_token(await web_app(), user, SESSION_SCOPES)
    return issued.access_token


async def find_session(secret: str | None) -> WebSession | None:
    """The live session whose cookie this is, or None: unknown, signed out, revoked, expired, another
    app's token, or an account that is suspended, not (or no longer) approved, or whose login a moderator
    disabled (the token is kept: the same cookie works again once the login is enabled, as the apps'
    tokens do, services/tokens.py)."""
    if not secret or len(secret) > 128:
        return None
    key = digest(secret)
    row = await OAuthToken.filter(token_digest=key, revoked_at=None, app__client_id=WEB_CLIENT_ID
                                  ).select_related("user", "user__account").first()
    if row is None or row.user is None:
        return None
    user = row.user
    if user.account.suspended_at is not None or not user.approved or user.disabled:
        return None
    now = datetime.now(UTC)
    expires_at = row.created_at + SESSION_LIFETIME
    if expires_at <= now:
        await OAuthToken.filter(id=row.id).update(revoked_at=now)
        return None
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_EVERY:
        await OAuthToken.filter(id=row.id).update(last_used_at=now)
    return WebSession(token_id=row.id, token_digest=key, user=user, account=user.account,
                      expires_at=expires_at)


async def end_session(secret: str | None) -> None:
    """Sign out: the session's token is revoked (a no-op for unknown secrets)."""
    if not secret or len(secret) > 128:
        return
    await OAuthToken.filter(token_digest=digest(secret), revoked_at=None, app__client_id=WEB_CLIENT_ID
                            ).update(revoked_at=datetime.now(UTC))


async def change_password(session: WebSession, current: str, new: str, confirmation: str) -> dict[str, str]:
    """Change the signed-in user's password. Returns the errors per form field (empty: changed). Every
    other token of the user (other browsers, apps) is revoked, as services/accounts.set_password does: a
    forced change usually means the old password leaked. This session stays."""
    errors: dict[str, str] = {}
    user = session.user
    if not await verify_password(user.password_hash, current):
        errors["current_password"] = "This is not your current password."
    if new != confirmation:
        errors["password_confirmation"] = "The two new passwords are not the same."
    if new and new == current:
        errors["password"] = "Choose a password other than the current one."
    try:
        check_password_rules(new)
    except ValidationFailed as exc:
        errors["password"] = exc.message[:1].upper() + exc.message[1:] + "."
    if errors:
        return errors
    password_hash = await hash_password(new)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(password_hash=password_hash,
                                                            must_change_password=False)
        await OAuthToken.filter(user_id=user.id, revoked_at=None).exclude(id=session.token_id).using_db(
            conn).update(revoked_at=now)
    user.password_hash, user.must_change_password = password_hash, False
    return {}


# -- anti-forgery tokens ----------------------------------------------------------------------------------


async def csrf_key() -> bytes:
    """The HMAC key of the forms' anti-forgery tokens: derived from the instance actor's private key, so it
    is secret, the same in every process and survives restarts (as services/oauth.form_signing_key)."""
    actor = await instance.instance_actor()
    if actor is None or not actor.private_key_pem:
        raise RuntimeError("the instance actor has no private key yet")
    return hmac.new(actor.private_key_pem.encode(), b"cara_fed web forms csrf v1", hashlib.sha256).digest()


def csrf_token(key: bytes, kind: str, value: str) -> str:
    """The form token of a session (``kind`` "session", ``value`` its digest) or of a browser not signed
    in yet (``kind`` "anonymous", ``value`` its random cookie)."""
    return hmac.new(key, f"{kind}\0{value}".encode(), hashlib.sha256).hexdigest()


def csrf_matches(key: bytes, kind: str, value: str, submitted: str | None) -> bool:
    if not submitted or len(submitted) > 128 or not value:
        return False
    return hmac.compare_digest(csrf_token(key, kind, value).encode(), submitted.encode())
