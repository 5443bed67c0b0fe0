"""Keys for the signature tests: the session RSA pair comes from tests/conftest.py; these add a second RSA
pair (key rotation) and an Ed25519 pair, generated once per test session."""

from __future__ import annotations

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.keys import KeyPair, generate_rsa_keypair


@pytest.fixture(scope="session")
def other_rsa_keypair() -> KeyPair:
    return generate_rsa_keypair()


@pytest.fixture(scope="session")
def ed25519_keypair() -> KeyPair:
    key = ed25519.Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return KeyPair(private_pem=private_pem, public_pem=public_pem)
