"""Local accounts: create (with their RSA key pair), list, change password, suspend and unsuspend."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.keys import generate_rsa_keypair
from cara_fed.errors import Conflict, Gone, NotFound, ValidationFailed
from cara_fed.models import Account, OAuthToken, User
from cara_fed.models.accounts import acct_key
from cara_fed.services.passwords import hash_password

# Mastodon's local username rule (app/models/account.rb USERNAME_RE), 30 characters at most.
USERNAME_RE = re.compile(r"[a-z0-9_]+([a-z0-9_.-]+[a-z0-9_]+)?", re.IGNORECASE)  # used with fullmatch
USERNAME_MAX = 30
EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+")  # used with fullmatch
ROLES = ("user", "moderator", "admin")


@dataclass(frozen=True)
class LocalAccountInfo:
    id: int
    username: str
    email: str
    role: str
    suspended: bool
    created_at: datetime


def check_username(username: str) -> None:
    if not username or len(username) > USERNAME_MAX or not USERNAME_RE.fullmatch(username):
        raise ValidationFailed(
            f"username must be 1-{USERNAME_MAX} letters, digits or underscores "
            "(dots and dashes allowed inside)")


def normalise_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 320 or not EMAIL_RE.fullmatch(email):
        raise ValidationFailed("email address is not valid")
    return email


async def create_local_account(username: str, email: str, password: str, *, role: str = "user") -> User:
    """A local account with its login and a fresh RSA-2048 key pair, stored in one transaction."""
    check_username(username)
    email = normalise_email(email)
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}")
    if await Account.exists(acct_key=acct_key(username, None)):
        raise Conflict(f"username {username!r} is already taken")
    if await User.exists(email=email):
        raise Conflict(f"email {email!r} is already in use")
    password_hash = await hash_password(password)
    keys = await asyncio.to_thread(generate_rsa_keypair)  # ~0.1 s of CPU: keep it off the event loop
    try:
        async with in_transaction() as conn:
            account = await Account.create(
                username=username, domain=None, public_key_pem=keys.public_pem,
                private_key_pem=keys.private_pem, using_db=conn)
            user = await User.create(account=account, email=email, password_hash=password_hash, role=role,
                                     using_db=conn)
    except IntegrityError:  # lost a race with a concurrent create of the same name or email
        raise Conflict(f"username {username!r} or email {email!r} is already taken") from None
    return user


async def get_local_user(username: str) -> User:
    user = await User.filter(account__acct_key=acct_key(username, None)).select_related("account").first()
    if user is None:
        raise NotFound(f"no local account named {username!r}")
    return user


async def get_public_local_account(username: str) -> Account:
    """A local account for public documents (actor, WebFinger): 404 unknown or waiting for approval (as
    Mastodon's AccountOwnedConcern), 410 suspended."""
    account = await Account.filter(acct_key=acct_key(username, None), user__approved=True).first()
    if account is None:
        raise NotFound("Record not found")
    if account.suspended_at is not None:
        raise Gone("This account has been suspended")
    return account


async def check_inbox_owner(username: str) -> str:
    """The canonical username of an active local account, for its inbox: 404 unknown, 410 suspended.
    One raw query, because it runs on every personal-inbox request (bench/inbox.py)."""
    conn = Account._meta.db
    mark = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(
        "SELECT a.username, a.suspended_at FROM accounts a JOIN users u ON u.account_id = a.id "
        f"WHERE a.acct_key = {mark}", [acct_key(username, None)])
    if not rows:
        raise NotFound("Record not found")
    if rows[0]["suspended_at"] is not None:
        raise Gone("This account has been suspended")
    return str(rows[0]["username"])


async def list_local_accounts() -> list[LocalAccountInfo]:
    users = await User.all().select_related("account").order_by("account__username")
    return [
        LocalAccountInfo(id=u.account.id, username=u.account.username, email=u.email, role=u.role,
                         suspended=u.account.suspended_at is not None, created_at=u.account.created_at)
        for u in users
    ]


async def set_password(username: str, password: str) -> None:
    """A new password; every access token issued before stops working (a reset usually means a leak)."""
    user = await get_local_user(username)
    password_hash = await hash_password(password)
    async with in_transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(password_hash=password_hash)
        await OAuthToken.filter(user_id=user.id, revoked_at=None).using_db(conn).update(revoked_at=datetime.now(UTC))


async def suspend(username: str) -> None:
    """Suspend a local account as the operator (the CLI): services/moderation_accounts.suspend_account
    (tokens revoked, content hidden, the actor's Delete federated)."""
    from cara_fed.services import moderation_accounts  # it builds on this module

    user = await get_local_user(username)
    await moderation_accounts.suspend_account(None, user.account.id)


async def unsuspend(username: str) -> None:
    from cara_fed.services import moderation_accounts

    user = await get_local_user(username)
    await moderation_accounts.unsuspend_account(None, user.account.id)
