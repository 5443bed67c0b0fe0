"""Test-side helpers that do NOT use our signing code: signatures are assembled by hand from the specs and
made with ``cryptography`` directly, so a shared misunderstanding cannot make a bug pass both ways."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.signatures import PublicKeyRecord

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)
NOW_HTTP = "Wed, 01 May 2024 12:00:00 GMT"
ACTOR = "https://remote.example/users/bob"
KEY_ID = ACTOR + "#main-key"
INBOX_URL = "https://art.example/users/alice/inbox"
BODY = (b'{"type":"Follow","actor":"https://remote.example/users/bob",'
        b'"object":"https://art.example/users/alice"}')


def http_date(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%a, %d %b %Y %H:%M:%S GMT")


def ago(**delta: float) -> datetime:
    return NOW - timedelta(**delta)


def sha256_b64(body: bytes) -> str:
    return base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def raw_sign(private_pem: str, message: bytes) -> bytes:
    key = serialization.load_pem_private_key(private_pem.encode("ascii"), password=None)
    if isinstance(key, rsa.RSAPrivateKey):
        return key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(key, ed25519.Ed25519PrivateKey)
    return key.sign(message)


def hand_cavage(private_pem: str, method: str, path: str, headers: Mapping[str, str], names: list[str], *,
                key_id: str = KEY_ID, algorithm: str | None = "rsa-sha256", extra: str = "",
                created: int | None = None) -> str:
    """A draft-cavage Signature header value built from section 2.3 of the draft, by hand."""
    lower = {k.lower(): v for k, v in headers.items()}
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {path}")
        elif name == "(created)":
            lines.append(f"(created): {created}")
        else:
            lines.append(f"{name}: {lower[name]}")
    signature = base64.b64encode(raw_sign(private_pem, "\n".join(lines).encode())).decode()
    params = [f'keyId="{key_id}"']
    if algorithm is not None:
        params.append(f'algorithm="{algorithm}"')
    if created is not None:
        params.append(f"created={created}")
    params += [f'headers="{" ".join(names)}"', f'signature="{signature}"']
    return ",".join(params) + extra


def post_headers(body: bytes = BODY, *, host: str = "art.example", date: str = NOW_HTTP,
                 digest: str | None = None) -> dict[str, str]:
    return {"Host": host, "Date": date, "Digest": digest or f"SHA-256={sha256_b64(body)}",
            "Content-Type": "application/activity+json"}


@dataclass
class Resolver:
    """A ``resolve_key`` that records its calls; with ``use_refreshed`` a refresh answers ``refreshed``."""

    current: PublicKeyRecord | None
    refreshed: PublicKeyRecord | None = None
    calls: list[tuple[str, bool]] = field(default_factory=list)
    use_refreshed: bool = False

    async def __call__(self, key_id: str, refresh: bool) -> PublicKeyRecord | None:
        self.calls.append((key_id, refresh))
        if refresh and self.use_refreshed:
            return self.refreshed
        return self.current

    @property
    def refreshes(self) -> int:
        return sum(1 for _, refresh in self.calls if refresh)


def record(public_pem: str, key_id: str = KEY_ID, owner: str = ACTOR) -> PublicKeyRecord:
    return PublicKeyRecord(key_id=key_id, owner=owner, public_key_pem=public_pem)
