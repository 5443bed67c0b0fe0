"""Body digests for signed requests: the legacy ``Digest`` header (RFC 3230, what draft-cavage peers send) and
``Content-Digest`` (RFC 9530, what RFC 9421 peers such as Fedify send).

This module knows nothing about signatures: it makes header values and checks them against the raw body
bytes, raising :class:`DigestError` (``activitypub.signatures`` turns that into ``InvalidDigest``, a 401).
It parses no structured fields either: ``rfc9421`` parses ``Content-Digest`` (an RFC 8941 dictionary) and
hands the members over as ``{algorithm: bytes}``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Callable, Mapping

# RFC 3230 / RFC 5843 algorithm tokens are case-insensitive ("SHA-256" is registered; bovine sends "sha-256",
# peers.md rule 1). We send uppercase like Mastodon (app/lib/request.rb: "SHA-256=#{...}").
LEGACY_SHA256 = "sha-256"

# RFC 9530 section 5 / IANA "Hash Algorithms for HTTP Digest Fields": sha-256 and sha-512 are the "Active"
# ones; the rest (md5, sha, unixsum, ...) are deprecated and never trusted.
CONTENT_DIGEST_ALGORITHMS: Mapping[str, Callable[[bytes], bytes]] = {
    "sha-256": lambda body: hashlib.sha256(body).digest(),
    "sha-512": lambda body: hashlib.sha512(body).digest(),
}
_DIGEST_SIZES = {"sha-256": 32, "sha-512": 64}

# A Digest header is a handful of short entries; anything larger is an attack on our parser, not a peer.
MAX_DIGEST_HEADER_LENGTH = 1024


class DigestError(Exception):
    """The digest header is missing a usable algorithm, malformed, or does not match the body."""


def sha256_digest_header(body: bytes) -> str:
    """``Digest`` value for ``body``: ``SHA-256=<base64>`` (uppercase, as Mastodon and GoToSocial send)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode("ascii")


def content_digest_header(body: bytes, algorithm: str = "sha-256") -> str:
    """``Content-Digest`` value for ``body``: ``sha-256=:<base64>:`` (RFC 9530 section 2, a byte sequence)."""
    compute = CONTENT_DIGEST_ALGORITHMS.get(algorithm)
    if compute is None:
        raise DigestError(f"unsupported digest algorithm {algorithm!r}")
    return f"{algorithm}=:" + base64.b64encode(compute(body)).decode("ascii") + ":"


def _strict_b64decode(text: str) -> bytes:
    try:
        # validate=True: characters outside the base64 alphabet are an error, not silently dropped
        return base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise DigestError("digest is not base64") from exc


def check_digest_header(value: str, body: bytes) -> None:
    """Check a legacy ``Digest`` header against the raw body; return quietly when a SHA-256 entry matches.

    The header is a comma-separated list of ``algorithm=base64`` (RFC 3230 section 4.3.2). Mastodon's rule
    (app/controllers/concerns/signature_verification.rb, ``verify_body_digest!``): a SHA-256 entry is required
    and must match; a header with only SHA-512 is refused (security.md item 14). Two SHA-256 entries are
    ambiguous and refused. The algorithm name is compared case-insensitively (bovine sends ``sha-256=``).
    """
    if len(value) > MAX_DIGEST_HEADER_LENGTH:
        raise DigestError("digest header too long")
    found: bytes | None = None
    for entry in value.split(","):
        name, sep, encoded = entry.strip().partition("=")  # partition: base64 padding also contains "="
        if not sep:
            raise DigestError("malformed digest entry")
        if name.strip().lower() != LEGACY_SHA256:
            continue  # other algorithms may be listed next to SHA-256; they are not trusted
        if found is not None:
            raise DigestError("duplicate SHA-256 digest")
        found = _strict_b64decode(encoded.strip())
    if found is None:
        raise DigestError("no SHA-256 digest")
    if len(found) != 32 or not hmac.compare_digest(found, hashlib.sha256(body).digest()):
        raise DigestError("digest does not match the body")


def check_content_digest(members: Mapping[str, object], body: bytes) -> None:
    """Check parsed ``Content-Digest`` members (``{algorithm: value}``) against the raw body.

    RFC 9530 section 2: the value of each member is a byte sequence. Unknown or deprecated algorithms are
    ignored (section 3: a recipient may ignore algorithms it does not support), but at least one of
    sha-256 / sha-512 must be present, and every supported one present must match.
    """
    checked = 0
    for algorithm, digest in members.items():
        compute = CONTENT_DIGEST_ALGORITHMS.get(algorithm)
        if compute is None:
            continue
        if not isinstance(digest, bytes):
            raise DigestError("content digest is not a byte sequence")
        if len(digest) != _DIGEST_SIZES[algorithm] or not hmac.compare_digest(digest, compute(body)):
            raise DigestError("content digest does not match the body")
        checked += 1
    if not checked:
        raise DigestError("no sha-256 or sha-512 content digest")
