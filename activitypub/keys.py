"""RSA key pairs for actors: generated once (at account creation, never on a request path) and parsed once.

Mastodon and every peer we federate with sign with RSA-2048 keys published as SubjectPublicKeyInfo PEM
(``publicKey.publicKeyPem``); private keys are kept as unencrypted PKCS#8 PEM in the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

RSA_KEY_BITS = 2048


@dataclass(frozen=True)
class KeyPair:
    private_pem: str
    public_pem: str


def generate_rsa_keypair(bits: int = RSA_KEY_BITS) -> KeyPair:
    """A new RSA key pair as PEM text (about 50-100 ms of CPU for 2048 bits: keep it off request paths)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode("ascii")
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    return KeyPair(private_pem=private_pem, public_pem=public_pem)


@lru_cache(maxsize=1024)
def load_private_key(private_pem: str) -> rsa.RSAPrivateKey:
    """Parse a private key once per process; every later signature reuses the parsed key."""
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("not an RSA private key")
    return key
