"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106's recommended profile).

Hashing costs tens of milliseconds of CPU on purpose, so it runs in a thread, never on the event loop.
"""

from __future__ import annotations

import asyncio

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from cara_fed.errors import ValidationFailed

_hasher = PasswordHasher()

MIN_LENGTH = 8  # Mastodon's minimum
MAX_LENGTH = 1024  # hashing is not free: refuse megabyte "passwords"


def check_password_rules(password: str) -> None:
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"password must be at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"password must be at most {MAX_LENGTH} characters")


async def hash_password(password: str) -> str:
    check_password_rules(password)
    return await asyncio.to_thread(_hasher.hash, password)


async def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False

    def verify() -> bool:
        try:
            return _hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    return await asyncio.to_thread(verify)


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash on next login)."""
    return _hasher.check_needs_rehash(password_hash)
