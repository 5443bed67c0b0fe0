"""How often the web sign-in form may be tried: per client address and per account, in fixed windows
counted in the database (models/admin.py RateLimitBucket), so every process of the instance shares them.

The figures are Mastodon's (config/initializers/rack_attack.rb: ``throttle_login_attempts/ip`` 25 per
5 minutes, ``throttle_login_attempts/email`` 25 per hour). Every attempt counts, as there: a correct
password after 25 wrong ones is refused too until the window ends."""

from __future__ import annotations

import time
from dataclasses import dataclass

from tortoise.exceptions import IntegrityError
from tortoise.expressions import F

from cara_fed.models import RateLimitBucket

PER_ADDRESS = (25, 5 * 60)  # attempts, window seconds
PER_ACCOUNT = (25, 60 * 60)
_KEEP_EXPIRED_MS = 24 * 3600 * 1000  # old windows are deleted when a new one starts


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after: int  # seconds until the window ends (when refused)


async def hit(key: str, limit: int, window_seconds: int, *, now_ms: int | None = None) -> Verdict:
    """Count one attempt in ``key``'s window; refused once the window holds more than ``limit``."""
    now = now_ms if now_ms is not None else time.time_ns() // 1_000_000
    window_ms = window_seconds * 1000
    for _ in range(3):  # a lost race to create the row is retried as an update
        if await RateLimitBucket.filter(key=key, reset_at_ms__gt=now).update(count=F("count") + 1):
            break
        if await RateLimitBucket.filter(key=key, reset_at_ms__lte=now).update(count=1,
                                                                               reset_at_ms=now + window_ms):
            break
        try:
            await RateLimitBucket.filter(reset_at_ms__lt=now - _KEEP_EXPIRED_MS).delete()
            await RateLimitBucket.create(key=key, count=1, reset_at_ms=now + window_ms)
            break
        except IntegrityError:
            continue
    row = await RateLimitBucket.filter(key=key).first()
    if row is None or row.count <= limit:
        return Verdict(allowed=True, retry_after=0)
    return Verdict(allowed=False, retry_after=max(1, -(-(row.reset_at_ms - now) // 1000)))


async def login_attempt(address: str, account_key: str) -> Verdict:
    """One sign-in attempt from ``address`` (an IP, IPv6 by /64) for ``account_key`` (the user's id when
    the login names one, else the login as typed, lower-cased). Both windows are counted."""
    by_address = await hit(f"web_login/ip:{address}", *PER_ADDRESS)
    by_account = await hit(f"web_login/account:{account_key[:200]}", *PER_ACCOUNT)
    if by_address.allowed and by_account.allowed:
        return Verdict(allowed=True, retry_after=0)
    return Verdict(allowed=False, retry_after=max(by_address.retry_after, by_account.retry_after))
