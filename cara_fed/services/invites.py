"""Invite codes: created by staff with an expiry and a number of uses, listed, revoked, and claimed by a
sign-up (one use counted atomically, so concurrent sign-ups never use an invite more often than allowed).

As Mastodon's Invite (app/models/invite.rb): a code is valid while it is not revoked ("expired" there),
not past its expiry, and has uses left; the link is ``/invite/CODE``; ``autofollow`` makes the new account
follow the invite's creator."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import F, Q

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Invite, User
from cara_fed.services.staff import require_staff
from cara_fed.settings import Settings

# No 0/O, 1/l/I: codes are read aloud and typed from paper (Mastodon drops the same look-alikes).
_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 10  # 56**10 ~ 3e17: not guessable through a rate-limited sign-up endpoint
CODE_MAX = 64  # the column's size: longer input is not a code
MAX_USES_LIMIT = 1_000_000
MAX_LIFETIME = timedelta(days=3650)


@dataclass(frozen=True)
class InviteInfo:
    id: int
    code: str
    created_by_id: int | None
    max_uses: int | None
    uses: int
    expires_at: datetime | None
    revoked_at: datetime | None
    autofollow: bool
    created_at: datetime

    def valid_at(self, now: datetime) -> bool:
        return (self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
                and (self.max_uses is None or self.uses < self.max_uses))

    @property
    def valid(self) -> bool:
        return self.valid_at(datetime.now(UTC))


def _info(row: Invite) -> InviteInfo:
    return InviteInfo(id=row.id, code=row.code, created_by_id=row.created_by_id, max_uses=row.max_uses,
                      uses=row.uses, expires_at=row.expires_at, revoked_at=row.revoked_at,
                      autofollow=row.autofollow, created_at=row.created_at)


def invite_url(settings: Settings, code: str) -> str:
    return f"{settings.base_url}/invite/{code}"


def new_code() -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(CODE_LENGTH))


async def create_invite(by: User | None, *, max_uses: int | None = None, expires_in: timedelta | None = None,
                        autofollow: bool = False) -> InviteInfo:
    """A new invite (staff only). ``max_uses`` None: unlimited; ``expires_in`` None: never expires."""
    require_staff(by)
    if max_uses is not None and not 1 <= max_uses <= MAX_USES_LIMIT:
        raise ValidationFailed(f"Validation failed: max_uses must be between 1 and {MAX_USES_LIMIT}")
    if expires_in is not None and not timedelta(0) < expires_in <= MAX_LIFETIME:
        raise ValidationFailed("Validation failed: an invite must expire in the future, within ten years")
    expires_at = datetime.now(UTC) + expires_in if expires_in is not None else None
    row = await Invite.create(code=new_code(), created_by=by, max_uses=max_uses, expires_at=expires_at,
                              autofollow=autofollow)
    return _info(row)


async def list_invites(by: User | None, *, include_inactive: bool = False) -> list[InviteInfo]:
    """Newest first; only the usable ones unless ``include_inactive``."""
    require_staff(by)
    infos = [_info(row) for row in await Invite.all().order_by("-id")]
    if include_inactive:
        return infos
    now = datetime.now(UTC)
    return [info for info in infos if info.valid_at(now)]


async def revoke_invite(by: User | None, invite_id: int) -> InviteInfo:
    """Stop an invite from being used (idempotent). Accounts made with it stay."""
    require_staff(by)
    await Invite.filter(id=invite_id, revoked_at=None).update(revoked_at=datetime.now(UTC))
    row = await Invite.get_or_none(id=invite_id)
    if row is None:
        raise NotFound("Record not found")
    return _info(row)


async def find_valid_invite(code: str | None) -> InviteInfo | None:
    """The invite with this code if it can be used now (the sign-up page shows whether a link works)."""
    code = (code or "").strip()
    if not code or len(code) > CODE_MAX:
        return None
    row = await Invite.get_or_none(code=code)
    if row is None:
        return None
    info = _info(row)
    return info if info.valid else None


def _usable(now: datetime) -> Q:
    return (Q(revoked_at=None) & (Q(expires_at=None) | Q(expires_at__gt=now))
            & (Q(max_uses=None) | Q(uses__lt=F("max_uses"))))


async def claim(code: str, conn: BaseDBAsyncClient) -> Invite | None:
    """Count one use of the invite inside the caller's transaction, or None if it cannot be used.

    One conditional UPDATE: two sign-ups racing for an invite's last use cannot both win (on PostgreSQL
    the second waits for the first's row lock and re-checks the condition; on SQLite the transactions are
    BEGIN IMMEDIATE, so they run one after the other)."""
    code = code.strip()
    if not code or len(code) > CODE_MAX:
        return None
    now = datetime.now(UTC)
    updated = await Invite.filter(_usable(now), code=code).using_db(conn).update(uses=F("uses") + 1)
    if not updated:
        return None
    return await Invite.filter(code=code).using_db(conn).first()
