"""Local accounts through the service layer, on the real database of the pass (SQLite or PostgreSQL)."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from cara_fed.errors import Conflict, NotFound, ValidationFailed
from cara_fed.models import Account, OAuthToken, User
from cara_fed.services import accounts
from cara_fed.services.passwords import verify_password

pytestmark = pytest.mark.usefixtures("database")


async def test_create_stores_account_login_and_a_2048_bit_key_pair() -> None:
    user = await accounts.create_local_account("Mira", "Mira@Example.org", "correct horse battery")
    account = await Account.get(id=user.account_id)
    assert account.username == "Mira" and account.domain is None and account.is_local
    assert account.indexable is False  # artists are not full-text indexed unless they opt in
    assert user.email == "mira@example.org"
    key = serialization.load_pem_private_key(account.private_key_pem.encode(), password=None)
    assert isinstance(key, rsa.RSAPrivateKey) and key.key_size == 2048
    public = serialization.load_pem_public_key(account.public_key_pem.encode())
    assert public.public_numbers() == key.public_key().public_numbers()


async def test_passwords_are_stored_only_as_argon2id_hashes() -> None:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    stored = await User.get(id=user.id)
    assert stored.password_hash.startswith("$argon2id$")
    assert "correct horse battery" not in stored.password_hash
    assert await verify_password(stored.password_hash, "correct horse battery")
    assert not await verify_password(stored.password_hash, "wrong horse battery")


async def test_usernames_are_unique_case_insensitively_and_nothing_is_stored_twice() -> None:
    await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    with pytest.raises(Conflict, match="already taken"):
        await accounts.create_local_account("MIRA", "other@example.org", "correct horse battery")
    with pytest.raises(Conflict, match="already in use"):
        await accounts.create_local_account("juno", "MIRA@example.org", "correct horse battery")
    assert await Account.all().count() == 1 and await User.all().count() == 1


@pytest.mark.parametrize(("username", "email", "password", "message"), [
    ("", "a@example.org", "long enough pw", "username"),
    ("has space", "a@example.org", "long enough pw", "username"),
    ("x" * 31, "a@example.org", "long enough pw", "username"),
    ("mira\n", "a@example.org", "long enough pw", "username"),  # $ would match before a final newline
    ("ok_name", "not-an-email", "long enough pw", "email"),
    ("ok_name", "a@example.org", "short", "at least 8"),
])
async def test_bad_input_is_refused_and_nothing_stored(username: str, email: str, password: str,
                                                      message: str) -> None:
    with pytest.raises(ValidationFailed, match=message):
        await accounts.create_local_account(username, email, password)
    assert await Account.all().count() == 0 and await User.all().count() == 0


async def test_suspend_revokes_tokens_and_unsuspend_restores_the_account() -> None:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    await OAuthToken.create(token_digest="a" * 64, user=user, scopes="read")
    await accounts.suspend("MIRA")
    account = await Account.get(id=user.account_id)
    assert account.suspended_at is not None
    assert (await OAuthToken.get(token_digest="a" * 64)).revoked_at is not None
    await accounts.unsuspend("mira")
    assert (await Account.get(id=user.account_id)).suspended_at is None
    with pytest.raises(NotFound):
        await accounts.suspend("nobody")


async def test_set_password_replaces_the_hash_and_revokes_every_token() -> None:
    user = await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    await OAuthToken.create(token_digest="b" * 64, user=user, scopes="read write")
    await accounts.set_password("mira", "a brand new passphrase")
    assert (await OAuthToken.get(token_digest="b" * 64)).revoked_at is not None
    stored = await User.get(email="mira@example.org")
    assert await verify_password(stored.password_hash, "a brand new passphrase")
    assert not await verify_password(stored.password_hash, "correct horse battery")
