"""The queue of sign-ups waiting for a moderator (registrations mode ``approval``, services/registrations.py):
list them oldest first, approve one (it can sign in; an API sign-up's token starts working), or reject one
(its login and account are deleted, so the name and email become free again, as Mastodon's reject)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import Account, User
from cara_fed.services.moderation_accounts import ModerationResult, moderation_result
from cara_fed.services.staff import require_staff

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PendingSignUp:
    account_id: int
    username: str
    email: str
    reason: str
    locale: str
    created_at: datetime


async def pending_sign_ups(by: User | None) -> list[PendingSignUp]:
    """Accounts waiting for approval, oldest first (the order they should be answered in)."""
    require_staff(by)
    users = await User.filter(approved=False).select_related("account").order_by("id")
    return [PendingSignUp(account_id=u.account.id, username=u.account.username, email=u.email,
                          reason=u.sign_up_reason, locale=u.locale, created_at=u.account.created_at)
            for u in users]


async def _pending_user(account_id: int) -> User:
    user = await User.filter(account_id=account_id).select_related("account").first()
    if user is None:
        raise NotFound("Record not found")
    return user


async def approve(by: User | None, account_id: int) -> ModerationResult:
    """Let a pending account sign in (``noop`` if it was already approved). Its sign-up token, if it came
    through the API, starts working."""
    require_staff(by)
    user = await _pending_user(account_id)
    changed = bool(await User.filter(id=user.id, approved=False).update(approved=True))
    return moderation_result(user.account, "approve", by, {"approved": True} if changed else {},
                             datetime.now(UTC))


async def reject(by: User | None, account_id: int) -> PendingSignUp:
    """Refuse a pending sign-up: its login and account are deleted (the name and email become free again,
    as Mastodon's reject). An approved account is never deleted here: that is a suspension."""
    require_staff(by)
    user = await _pending_user(account_id)
    if user.approved:
        raise ValidationFailed("Validation failed: this account is not waiting for approval")
    gone = PendingSignUp(account_id=user.account.id, username=user.account.username, email=user.email,
                         reason=user.sign_up_reason, locale=user.locale, created_at=user.account.created_at)
    async with in_transaction() as conn:
        # Conditional, so an approval that won a race is not undone by a reject that lost it.
        if not await User.filter(id=user.id, approved=False).using_db(conn).delete():
            raise ValidationFailed("Validation failed: this account is not waiting for approval")
        await Account.filter(id=user.account.id).using_db(conn).delete()
    log.info("sign-up rejected", extra={"account_id": account_id, "by": by.account_id if by else None})
    return gone
