"""Access tokens: issued as random strings, stored only as SHA-256 digests (models/oauth.py), looked up on
every API request in one query."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cara_fed.models import Account, OAuthApp, OAuthToken, User

# Mastodon's top-level scopes and the granular ones each covers (docs: api/oauth-scopes).
READ_SCOPES = ("accounts", "blocks", "bookmarks", "favourites", "filters", "follows", "lists", "mutes",
               "notifications", "search", "statuses")
WRITE_SCOPES = ("accounts", "blocks", "bookmarks", "conversations", "favourites", "filters", "follows",
                "lists", "media", "mutes", "notifications", "reports", "statuses")
ADMIN_OBJECTS = ("accounts", "reports", "domain_allows", "domain_blocks", "ip_blocks", "email_domain_blocks",
                 "canonical_email_blocks")
TOP_SCOPES = ("read", "write", "follow", "push", "profile", "admin:read", "admin:write")
ALL_SCOPES: frozenset[str] = frozenset(
    [*TOP_SCOPES, *(f"read:{s}" for s in READ_SCOPES), *(f"write:{s}" for s in WRITE_SCOPES),
     *(f"admin:read:{s}" for s in ADMIN_OBJECTS), *(f"admin:write:{s}" for s in ADMIN_OBJECTS)])
# The deprecated `follow` scope (Mastodon 3.5) still grants these; every client here still asks for it.
_FOLLOW_GRANTS = frozenset({"read:blocks", "write:blocks", "read:follows", "write:follows", "read:mutes",
                            "write:mutes"})
# How often a token's last_used_at is written (not on every request: that would be a write per read).
_LAST_USED_EVERY = timedelta(hours=1)


def parse_scopes(text: str | None, default: str = "read") -> list[str]:
    """Space- (or `+`-) separated scope names, de-duplicated in order; unknown names are kept for the
    caller to refuse."""
    words = (text or "").replace("+", " ").split()
    return list(dict.fromkeys(words)) or default.split()


def unknown_scopes(scopes: list[str]) -> list[str]:
    return [s for s in scopes if s not in ALL_SCOPES]


def scope_covers(granted: frozenset[str] | set[str], wanted: str) -> bool:
    """Whether ``granted`` includes ``wanted``: itself, its parent (`read` covers `read:statuses`,
    `admin:read` covers `admin:read:accounts`), or the legacy `follow` grant."""
    if wanted in granted:
        return True
    parts = wanted.split(":")
    for n in range(1, len(parts)):
        if ":".join(parts[:n]) in granted:
            return True
    return "follow" in granted and wanted in _FOLLOW_GRANTS


def scopes_subset(requested: list[str], allowed: frozenset[str] | set[str]) -> bool:
    return all(scope_covers(allowed, s) for s in requested)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedToken:
    access_token: str
    scopes: list[str]
    created_at: datetime


async def issue_token(app: OAuthApp | None, user: User | None, scopes: list[str]) -> IssuedToken:
    secret = secrets.token_urlsafe(32)
    row = await OAuthToken.create(token_digest=digest(secret), app=app, user=user, scopes=" ".join(scopes))
    return IssuedToken(access_token=secret, scopes=scopes, created_at=row.created_at)


# Mastodon's words for a person whose token is live but who may not act yet (Api::BaseController
# require_user!): clients show them, where a 401 would make them drop the token and sign out.
PENDING_APPROVAL = "Your login is currently pending approval"
# A moderator froze the login (users.disabled, Mastodon's User#disable!): the tokens are kept, and refused
# with these words until the login is enabled again.
DISABLED = "Your login is currently disabled"


@dataclass(frozen=True)
class TokenAuth:
    """Who a request acts as: the token's app, and its user and account (None for an app-only token).
    ``refusal``: why its user may not act (yet): a sign-up waiting for approval, a disabled login; None when
    it may."""
    token_id: int
    app_id: int | None
    scopes: frozenset[str]
    user: User | None
    account: Account | None
    refusal: str | None = None

    def allows(self, *any_of: str) -> bool:
        return any(scope_covers(self.scopes, s) for s in any_of)

    @property
    def acts(self) -> bool:
        """The token may act as its user (or is an app-only token)."""
        return self.refusal is None

    def app_only(self) -> TokenAuth:
        return TokenAuth(token_id=self.token_id, app_id=self.app_id, scopes=self.scopes, user=None, account=None)


async def authenticate(secret: str) -> TokenAuth | None:
    """The live token with this secret, or None (unknown, revoked, or its account suspended or locked out
    by a forced password reset). A pending sign-up's or a disabled login's token is returned with
    ``refusal`` set: Mastodon answers it 403 "pending approval" or "disabled" (in that order), not 401."""
    if not secret or len(secret) > 512:
        return None
    row = await OAuthToken.filter(token_digest=digest(secret), revoked_at=None).select_related(
        "user", "user__account").first()
    if row is None:
        return None
    user = row.user
    if user is not None and (user.account.suspended_at is not None or user.must_change_password):
        return None  # (a forced password reset: nothing works until the password is changed on the website)
    now = datetime.now(UTC)
    if row.last_used_at is None or now - row.last_used_at > _LAST_USED_EVERY:
        await OAuthToken.filter(id=row.id).update(last_used_at=now)
    return TokenAuth(token_id=row.id, app_id=row.app_id, scopes=frozenset(row.scopes.split()), user=user,
                     account=user.account if user is not None else None, refusal=refusal_of(user))


def refusal_of(user: User | None) -> str | None:
    """Why this user may not act yet, in Mastodon's order (Api::BaseController#require_user!)."""
    if user is None:
        return None
    if not user.approved:
        return PENDING_APPROVAL
    if user.disabled:
        return DISABLED
    return None


async def revoke_token(secret: str, app_id: int) -> bool:
    """Revoke the token if it belongs to ``app_id``; False if it exists but is another app's."""
    row = await OAuthToken.filter(token_digest=digest(secret)).first()
    if row is None:
        return True  # RFC 7009: unknown tokens are not an error
    if row.app_id != app_id:
        return False
    if row.revoked_at is None:
        await OAuthToken.filter(id=row.id).update(revoked_at=datetime.now(UTC))
    return True
