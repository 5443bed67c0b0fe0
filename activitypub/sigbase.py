"""What the draft-cavage (``activitypub.signatures``) and RFC 9421 (``activitypub.rfc9421``) verifiers share:
the error hierarchy, the key record and result values, the time window, public-key loading with the
algorithm taken from the key type, and the resolve / refetch-once flow (security.md section B, items 15,
16 and 18). Everything here is re-exported by ``activitypub.signatures``, the module callers import.

Every failure raises a :class:`SignatureError`: :class:`InvalidSignature` subclasses mean 401,
:class:`KeyUnavailable` means the signer's key could not be fetched right now (503, the sender retries).
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from email.utils import format_datetime, parsedate_to_datetime
from functools import lru_cache
from typing import Literal, Union
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature as _CryptoInvalidSignature
from cryptography.exceptions import UnsupportedAlgorithm as _CryptoUnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

# -- errors --------------------------------------------------------------------------------------------------


class SignatureError(Exception):
    """Any failure to sign or verify. ``str(exc)`` is a short reason, safe to log (never a secret)."""

    http_status = 401


class InvalidSignature(SignatureError):
    """The request is not authenticated: answer 401."""


class MissingSignature(InvalidSignature):
    """No ``Signature`` (or ``Signature-Input``) header."""


class MalformedSignature(InvalidSignature):
    """A signature header, a signed header or the request line cannot be parsed."""


class InsufficientCoverage(InvalidSignature):
    """A header or component we require is not covered by the signature."""


class UnsupportedAlgorithm(InvalidSignature):
    """The header names an algorithm we refuse (``hmac-*``, ``rsa-sha1`` ...)."""


class ExpiredSignature(InvalidSignature):
    """``Date`` / ``created`` / ``expires`` outside the accepted window."""


class InvalidDigest(InvalidSignature):
    """The ``Digest`` / ``Content-Digest`` header is missing, malformed, or not the body's."""


class UnknownKey(InvalidSignature):
    """The key resolver says the key does not exist (deleted actor, 404/410)."""


class UnsupportedKey(InvalidSignature):
    """The published key is unreadable, too small, or of a type we do not verify."""


class KeyMismatch(InvalidSignature):
    """The resolver returned a record for another key id than the one asked for."""


class BadSignature(InvalidSignature):
    """The cryptographic check failed with the current key (after the one refetch)."""


class KeyUnavailable(SignatureError):
    """The key could not be fetched now (remote down, timeout): answer 503 so the sender retries later
    (Mastodon 4.5.4 #37221: a transient failure must not become a permanent 401)."""

    http_status = 503


class SigningError(SignatureError):
    """An outgoing request cannot be signed (bad URL, key id or private key): a bug on our side."""

    http_status = 500


# -- values --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PublicKeyRecord:
    """A remote key as the application resolved it: ``owner`` is the actor URI the key belongs to."""

    key_id: str
    owner: str
    public_key_pem: str


Scheme = Literal["draft-cavage", "rfc9421"]


@dataclass(frozen=True)
class VerifiedSignature:
    key_id: str
    owner: str
    scheme: Scheme
    covered: tuple[str, ...] = ()  # the signed header / component names, for logs


ResolveKey = Callable[[str, bool], Awaitable[Union[PublicKeyRecord, None]]]
PublicKey = Union[rsa.RSAPublicKey, ed25519.Ed25519PublicKey]


@dataclass(frozen=True)
class PreparedSignature:
    """A request whose every check passed but the cryptographic one: the key it names, and ``accepts``,
    which runs that check with a candidate key (draft-cavage may try two signing strings there)."""

    key_id: str
    scheme: Scheme
    covered: tuple[str, ...]
    accepts: Callable[[PublicKey], bool]

    def verified_by(self, record: PublicKeyRecord) -> VerifiedSignature:
        return VerifiedSignature(key_id=record.key_id, owner=record.owner, scheme=self.scheme,
                                 covered=self.covered)


# -- constants -----------------------------------------------------------------------------------------------

# Mastodon app/controllers/concerns/signature_verification.rb: CLOCK_SKEW_MARGIN = 1.hour,
# EXPIRATION_WINDOW_LIMIT = 12.hours, default expiry created + 5.minutes. Accepted: created in
# [now - 65 min, now + 60 min] (security.md item 15).
CLOCK_SKEW_SECONDS = 3600
DEFAULT_EXPIRY_SECONDS = 300
MAX_EXPIRY_SECONDS = 12 * 3600
MIN_RSA_BITS = 2048  # Mastodon, GoToSocial and Pleroma generate 2048-bit keys; 1024 bits is breakable
MAX_HEADER_LENGTH = 8192  # a Signature header is ~600 bytes; larger is an attack on the parser
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_DEFAULT_PORTS = {"http": 80, "https": 443}

# -- helpers shared by both schemes ------------------------------------------------------------------------


def now_timestamp(now: datetime | None) -> float:
    if now is None:
        return time.time()
    return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp()


def format_http_date(now: datetime | None) -> str:
    """IMF-fixdate (RFC 9110 section 5.6.7), e.g. ``Tue, 07 Jun 2022 20:51:35 GMT``."""
    moment = datetime.fromtimestamp(now_timestamp(now), tz=timezone.utc)
    return format_datetime(moment, usegmt=True)


# IMF-fixdate, what every peer sends (RFC 9110 section 5.6.7 makes it the form senders must use): parsed
# directly; ``email.utils`` (three times slower, on every inbox request) only sees the obsolete forms.
_IMF_FIXDATE = re.compile(r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), ([0-9]{2}) "
                          r"(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                          r"([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) GMT\Z")
_MONTHS = {name: number for number, name in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


@lru_cache(maxsize=256)  # a busy sender's requests share their Date for a second; refusals are not cached
def parse_http_date(value: str) -> float:
    """Seconds since the epoch; IMF-fixdate and the obsolete forms ``email.utils`` knows. Unparsable -> 401,
    never a 500 (Mastodon spec "unparsable date")."""
    if len(value) > 64:
        raise MalformedSignature("unparsable Date header")
    fixdate = _IMF_FIXDATE.match(value)
    if fixdate is not None:
        day, month, year, hour, minute, second = fixdate.groups()
        try:  # datetime refuses what email.utils refuses too (31 Feb, hour 24, second 60)
            return datetime(int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second),
                            tzinfo=timezone.utc).timestamp()
        except (ValueError, OverflowError) as exc:
            raise MalformedSignature("unparsable Date header") from exc
    try:
        parsed = parsedate_to_datetime(value)
        if parsed.tzinfo is None:  # "-0000" means UTC with an unknown local zone (RFC 5322 section 3.3)
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError) as exc:
        raise MalformedSignature("unparsable Date header") from exc


def check_time_window(created: float, now: float, expires: float | None = None) -> None:
    """Mastodon's ``matches_time_window?``: not created more than the skew in the future, not past
    ``min(expires or created + 5 min, created + 12 h)`` plus the skew."""
    if created > now + CLOCK_SKEW_SECONDS:
        raise ExpiredSignature("signature created in the future")
    end = created + DEFAULT_EXPIRY_SECONDS if expires is None else expires
    if now > min(end, created + MAX_EXPIRY_SECONDS) + CLOCK_SKEW_SECONDS:
        raise ExpiredSignature("signature expired")


def body_expected(method: str, body: bytes) -> bool:
    """A digest must be signed for POST/PUT/PATCH and for any request that carries bytes."""
    return method.upper() in METHODS_WITH_BODY or len(body) > 0


@lru_cache(maxsize=4096)  # a pure check of the text; a sender uses the same keyId for every request
def validate_key_id(key_id: str) -> None:
    """keyId must be an absolute http(s) URL with a host and no userinfo: ``https://victim.example@evil.net/``
    and friends are refused before any fetch (security.md item 10, CVE-2023-42451). Refusals (exceptions) are
    not cached."""
    if not 0 < len(key_id) <= 2048 or not (key_id.isascii() and key_id.isprintable()) or " " in key_id:
        raise MalformedSignature("malformed keyId")
    try:
        parts = urlsplit(key_id)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise MalformedSignature("malformed keyId") from exc
    if parts.scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        raise MalformedSignature("keyId is not an http(s) URL")


def split_url(url: str) -> tuple[str, str, str]:
    """(scheme, authority as sent in Host, path and query) of an outgoing URL: host lowercased and
    IDNA-encoded, port only when not the scheme's default (what aiohttp/yarl put in Host)."""
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
        scheme = parts.scheme.lower()
        if scheme not in _DEFAULT_PORTS or not host:
            raise SigningError("only absolute http(s) URLs can be signed")
        if not host.isascii():
            host = host.encode("idna").decode("ascii")
    except (ValueError, UnicodeError) as exc:
        raise SigningError("invalid URL") from exc
    if ":" in host:
        host = f"[{host}]"
    authority = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, authority, target


@lru_cache(maxsize=4096)
def load_public_key(pem: str) -> PublicKey:
    """Parse a published key once per process (keys are verified far more often than they change)."""
    try:
        key = serialization.load_pem_public_key(pem.encode("utf-8"))
    except (ValueError, TypeError, UnicodeError, _CryptoUnsupportedAlgorithm) as exc:
        raise UnsupportedKey("unreadable public key") from exc
    if isinstance(key, rsa.RSAPublicKey):
        if key.key_size < MIN_RSA_BITS:
            raise UnsupportedKey("RSA key too small")
        return key
    if isinstance(key, ed25519.Ed25519PublicKey):
        return key
    raise UnsupportedKey("unsupported key type")


_PKCS1V15 = padding.PKCS1v15()  # stateless parameter objects: made once, not per verification
_SHA256 = hashes.SHA256()


def key_verifies(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """The algorithm comes from the key: RSA -> RSASSA-PKCS1-v1_5 with SHA-256 (draft-cavage ``rsa-sha256``,
    RFC 9421 ``rsa-v1_5-sha256``), Ed25519 -> Ed25519 (RFC 9421 section 3.3.6)."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, _PKCS1V15, _SHA256)
        else:
            key.verify(signature, message)
    except (_CryptoInvalidSignature, ValueError):
        return False
    return True


async def _resolve(resolve_key: ResolveKey, key_id: str, refresh: bool) -> PublicKeyRecord | None:
    try:
        record = await resolve_key(key_id, refresh)
    except SignatureError:
        raise
    except Exception as exc:  # CancelledError is a BaseException and passes through untouched
        raise KeyUnavailable("key lookup failed") from exc
    if record is not None and not isinstance(record, PublicKeyRecord):
        raise KeyUnavailable("key lookup returned something else than a key")
    if record is not None and record.key_id != key_id:
        raise KeyMismatch("resolver returned another key")  # security.md item 11: key <-> id binding
    return record


def record_accepts(record: PublicKeyRecord | None, accepts: Callable[[PublicKey], bool]) -> bool:
    """The cryptographic check with a resolved key record. Raises UnsupportedKey for a key we cannot use."""
    if record is None or not isinstance(record.public_key_pem, str):
        return False
    return accepts(load_public_key(record.public_key_pem))


async def authenticate(key_id: str, resolve_key: ResolveKey,
                       accepts: Callable[[PublicKey], bool]) -> PublicKeyRecord:
    """Mastodon's flow (signature_verification.rb, ``actor_refresh_key!``): verify with the known key; if that
    fails, ask for a fresh copy exactly once (the key may have rotated), verify again, else reject.
    ``accepts`` runs the cryptographic check for one candidate key (draft-cavage may try two signing strings
    there, which costs no fetch); the refetch budget is the resolver's business (``KeyCache`` allows one per
    key per cool-off, security.md item 18)."""
    unsupported: UnsupportedKey | None = None

    def attempt(record: PublicKeyRecord | None) -> bool:
        nonlocal unsupported
        try:
            return record_accepts(record, accepts)
        except UnsupportedKey as exc:
            unsupported = exc
            return False

    cached = await _resolve(resolve_key, key_id, refresh=False)
    if cached is not None and attempt(cached):
        return cached
    fresh = await _resolve(resolve_key, key_id, refresh=True)
    if fresh is None:
        raise UnknownKey("unknown key")
    if fresh != cached:  # the same record again would fail the same way: skip the second check
        unsupported = None
        if attempt(fresh):
            return fresh
    if unsupported is not None:
        raise unsupported
    raise BadSignature("signature does not verify")

