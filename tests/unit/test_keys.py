"""Actor RSA keys: RSA-2048, PKCS#8 / SubjectPublicKeyInfo PEM, PKCS1v15+SHA256 signatures, parsed once."""

from __future__ import annotations

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.keys import RSA_KEY_BITS, KeyPair, load_private_key

MESSAGE = b"(request-target): post /users/alice/inbox\nhost: art.example\ndate: Tue, 07 Jun 2022 20:51:35 GMT"


def load_public(pem: str) -> rsa.RSAPublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    assert isinstance(key, rsa.RSAPublicKey)
    return key


def test_keypair_is_pem_text(rsa_keypair: KeyPair) -> None:
    assert isinstance(rsa_keypair.private_pem, str)
    assert isinstance(rsa_keypair.public_pem, str)
    # Unencrypted PKCS#8 and SubjectPublicKeyInfo, as Mastodon publishes publicKeyPem.
    assert rsa_keypair.private_pem.startswith("-----BEGIN PRIVATE KEY-----\n")
    assert rsa_keypair.private_pem.rstrip().endswith("-----END PRIVATE KEY-----")
    assert rsa_keypair.public_pem.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert rsa_keypair.public_pem.rstrip().endswith("-----END PUBLIC KEY-----")


def test_keypair_is_rsa_2048(rsa_keypair: KeyPair) -> None:
    private = load_private_key(rsa_keypair.private_pem)
    public = load_public(rsa_keypair.public_pem)
    assert RSA_KEY_BITS == 2048
    assert private.key_size == 2048
    assert public.key_size == 2048
    assert public.public_numbers().e == 65537


def test_public_pem_belongs_to_the_private_key(rsa_keypair: KeyPair) -> None:
    derived = load_private_key(rsa_keypair.private_pem).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    assert derived == rsa_keypair.public_pem


def test_private_pem_is_pkcs8_without_encryption(rsa_keypair: KeyPair) -> None:
    key = serialization.load_pem_private_key(rsa_keypair.private_pem.encode("ascii"), password=None)
    assert isinstance(key, rsa.RSAPrivateKey)
    reencoded = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                  serialization.NoEncryption()).decode("ascii")
    assert reencoded == rsa_keypair.private_pem


def test_signature_verifies_with_pkcs1v15_sha256(rsa_keypair: KeyPair) -> None:
    signature = load_private_key(rsa_keypair.private_pem).sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    assert len(signature) == 256
    load_public(rsa_keypair.public_pem).verify(signature, MESSAGE, padding.PKCS1v15(), hashes.SHA256())


def test_tampered_message_fails_verification(rsa_keypair: KeyPair) -> None:
    signature = load_private_key(rsa_keypair.private_pem).sign(MESSAGE, padding.PKCS1v15(), hashes.SHA256())
    with pytest.raises(InvalidSignature):
        load_public(rsa_keypair.public_pem).verify(signature, MESSAGE + b"!", padding.PKCS1v15(),
                                                   hashes.SHA256())


def test_load_private_key_returns_the_same_object_for_the_same_pem(rsa_keypair: KeyPair) -> None:
    first = load_private_key(rsa_keypair.private_pem)
    again = load_private_key(rsa_keypair.private_pem)
    # An equal string that is a different object (as read back from the database) hits the cache too.
    copy = "".join(list(rsa_keypair.private_pem))
    assert copy is not rsa_keypair.private_pem
    assert again is first
    assert load_private_key(copy) is first


def test_load_private_key_refuses_a_non_rsa_key() -> None:
    pem = ed25519.Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    with pytest.raises(ValueError):
        load_private_key(pem)


def test_load_private_key_refuses_garbage() -> None:
    with pytest.raises(ValueError):
        load_private_key("-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n")
