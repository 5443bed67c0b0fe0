"""HTTP signatures: draft-cavage-http-signatures-12 signing (as Mastodon sends) and verification of incoming
requests, dispatching to RFC 9421 (``activitypub.rfc9421``) when ``Signature-Input`` is present.

Verification enforces security.md section B: required signed headers (13), Digest over the raw body (14),
the Date window (15), the algorithm taken from the key type and never from the header (16), request-target
and Host exactly as received (17), one key refetch on failure (18). It never lets ``httpsig`` decide: that
package picks the algorithm from the header and accepts an HMAC keyed with the public PEM (security.md
item 16, [verified]).

Every failure raises a :class:`SignatureError`: :class:`InvalidSignature` subclasses mean 401,
:class:`KeyUnavailable` means the signer's key could not be fetched right now (503, the sender retries).
"""

from __future__ import annotations

import base64
import binascii
import re
import string
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
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

from activitypub.digests import DigestError, check_digest_header, sha256_digest_header
from activitypub.keys import load_private_key

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

# -- constants -----------------------------------------------------------------------------------------------

# Mastodon app/controllers/concerns/signature_verification.rb: CLOCK_SKEW_MARGIN = 1.hour,
# EXPIRATION_WINDOW_LIMIT = 12.hours, default expiry created + 5.minutes. Accepted: created in
# [now - 65 min, now + 60 min] (security.md item 15).
CLOCK_SKEW_SECONDS = 3600
DEFAULT_EXPIRY_SECONDS = 300
MAX_EXPIRY_SECONDS = 12 * 3600

# The only algorithm names we let through; the key type decides the real algorithm. GoToSocial sends hs2019
# (vendored httpsig signing.go), Mastodon rsa-sha256; a missing parameter counts as hs2019 (Mastodon:
# ``signature_params.fetch('algorithm', 'hs2019')``).
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
MIN_RSA_BITS = 2048  # Mastodon, GoToSocial and Pleroma generate 2048-bit keys; 1024 bits is breakable
MAX_HEADER_LENGTH = 8192  # a Signature header is ~600 bytes; larger is an attack on the parser
METHODS_WITH_BODY = frozenset({"POST", "PUT", "PATCH"})
_SINGLETON_HEADERS = frozenset({"host", "date"})  # a repeated Host/Date is ambiguous: refuse, never pick one
_TCHAR = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")  # RFC 9110 section 5.6.2
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")

# -- shared helpers (also used by activitypub.rfc9421) ------------------------------------------------------


def normalize_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercase names; repeated fields joined with ", " (RFC 9110 section 5.3, draft-cavage 2.3,
    RFC 9421 2.1); values trimmed. ``items()`` of a multidict (aiohttp, werkzeug/Quart) yields every
    repetition."""
    result: dict[str, str] = {}
    try:
        pairs = list(headers.items())
    except Exception as exc:  # a broken mapping must not escape as a 500
        raise MalformedSignature("unreadable headers") from exc
    for name, value in pairs:
        if not isinstance(name, str) or not isinstance(value, str):
            raise MalformedSignature("header names and values must be text")
        key, value = name.lower(), value.strip(" \t")
        if key in result:
            if key in _SINGLETON_HEADERS:
                raise MalformedSignature(f"repeated {key} header")
            result[key] = f"{result[key]}, {value}"
        else:
            result[key] = value
    return result


def now_timestamp(now: datetime | None) -> float:
    if now is None:
        return time.time()
    return (now if now.tzinfo else now.replace(tzinfo=timezone.utc)).timestamp()


def format_http_date(now: datetime | None) -> str:
    """IMF-fixdate (RFC 9110 section 5.6.7), e.g. ``Tue, 07 Jun 2022 20:51:35 GMT``."""
    moment = datetime.fromtimestamp(now_timestamp(now), tz=timezone.utc)
    return format_datetime(moment, usegmt=True)


def parse_http_date(value: str) -> float:
    """Seconds since the epoch; IMF-fixdate and the obsolete forms ``email.utils`` knows. Unparsable -> 401,
    never a 500 (Mastodon spec "unparsable date")."""
    if len(value) > 64:
        raise MalformedSignature("unparsable Date header")
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


def check_request_line(method: str, path_and_query: str) -> None:
    if not method or not set(method) <= _TCHAR:
        raise MalformedSignature("malformed method")
    if not path_and_query.startswith("/") or _CONTROL_OR_SPACE.search(path_and_query):
        raise MalformedSignature("malformed request target")


def body_expected(method: str, body: bytes) -> bool:
    """A digest must be signed for POST/PUT/PATCH and for any request that carries bytes."""
    return method.upper() in METHODS_WITH_BODY or len(body) > 0


def validate_key_id(key_id: str) -> None:
    """keyId must be an absolute http(s) URL with a host and no userinfo: ``https://victim.example@evil.net/``
    and friends are refused before any fetch (security.md item 10, CVE-2023-42451)."""
    if not 0 < len(key_id) <= 2048 or not (key_id.isascii() and key_id.isprintable()) or " " in key_id:
        raise MalformedSignature("malformed keyId")
    try:
        parts = urlsplit(key_id)
        host, _port = parts.hostname, parts.port
    except ValueError as exc:
        raise MalformedSignature("malformed keyId") from exc
    if parts.scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        raise MalformedSignature("keyId is not an http(s) URL")


def strict_b64decode(text: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedSignature(f"{what} is not base64") from exc
    if not decoded:
        raise MalformedSignature(f"empty {what}")
    return decoded


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


def key_verifies(key: PublicKey, message: bytes, signature: bytes) -> bool:
    """The algorithm comes from the key: RSA -> RSASSA-PKCS1-v1_5 with SHA-256 (draft-cavage ``rsa-sha256``,
    RFC 9421 ``rsa-v1_5-sha256``), Ed25519 -> Ed25519 (RFC 9421 section 3.3.6)."""
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
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


async def authenticate(key_id: str, resolve_key: ResolveKey,
                       accepts: Callable[[PublicKey], bool]) -> PublicKeyRecord:
    """Mastodon's flow (signature_verification.rb, ``actor_refresh_key!``): verify with the known key; if that
    fails, ask for a fresh copy exactly once (the key may have rotated), verify again, else reject.
    ``accepts`` runs the cryptographic check for one candidate key; the refetch budget is the resolver's
    business (``KeyCache`` allows one per key per cool-off, security.md item 18)."""
    unsupported: UnsupportedKey | None = None

    def attempt(record: PublicKeyRecord | None) -> bool:
        nonlocal unsupported
        if record is None or not isinstance(record.public_key_pem, str):
            return False
        try:
            return accepts(load_public_key(record.public_key_pem))
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


# -- draft-cavage: parsing -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CavageSignature:
    key_id: str
    algorithm: str  # lowercased; "hs2019" when the parameter is absent
    headers: tuple[str, ...]
    signature: bytes
    created: str | None  # kept as sent: the signing string uses the text
    expires: str | None


# auth-param (RFC 9110 section 11.2, draft-cavage 2.1): token "=" ( token / quoted-string ), comma-separated;
# quoted-string of printable ASCII with quoted-pairs. Possessive quantifiers (Python 3.11): no backtracking,
# so a hostile header costs linear time.
_TOKEN_RE = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]++"
_QUOTED_RE = r'"((?:[\t !#-\[\]-~]++|\\[\t -~])*+)"'
_PARAM_RE = re.compile(rf"[ \t]*+({_TOKEN_RE})[ \t]*+=[ \t]*+(?:{_QUOTED_RE}|({_TOKEN_RE}))[ \t]*+(,|\Z)")
_TIMESTAMP_RE = re.compile(r"[0-9]{1,12}(?:\.[0-9]{1,9})?\Z")  # draft-cavage 2.1.4/2.1.5: Unix time


def parse_signature_params(value: str) -> dict[str, str]:
    """The ``Signature`` header's parameters, names lowercased. A repeated name is refused (Mastodon 4.5.5
    #37375: duplicates let two parsers see two different signatures); so is anything not printable ASCII."""
    if len(value) > MAX_HEADER_LENGTH:
        raise MalformedSignature("Signature header too long")
    params: dict[str, str] = {}
    position = 0
    while True:
        match = _PARAM_RE.match(value, position)
        if match is None:
            raise MalformedSignature("malformed Signature header")
        name = match[1].lower()
        if name in params:
            raise MalformedSignature(f"duplicate {name} parameter")
        quoted = match[2]
        if quoted is not None and "\\" in quoted:
            quoted = re.sub(r"\\(.)", r"\1", quoted)  # quoted-pair
        params[name] = match[3] if quoted is None else quoted
        if not match[4]:
            return params
        position = match.end()


def _timestamp_param(text: str | None, name: str) -> str | None:
    if text is not None and not _TIMESTAMP_RE.match(text):
        raise MalformedSignature(f"malformed {name} parameter")
    return text


def parse_cavage_signature(value: str) -> CavageSignature:
    params = parse_signature_params(value)
    key_id, encoded = params.get("keyid"), params.get("signature")
    if not key_id or not encoded:
        raise MalformedSignature("keyId and signature are required")
    algorithm = params.get("algorithm", "hs2019").lower()
    if algorithm not in CAVAGE_ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {algorithm[:32]!r} refused")
    # draft-cavage-12 2.1.6: without ``headers`` only ``(created)`` is signed (which our rules then refuse)
    names = tuple(params.get("headers", "(created)").lower().split())
    if not names or len(set(names)) != len(names):
        raise MalformedSignature("empty or repeated entry in headers")
    return CavageSignature(key_id=key_id, algorithm=algorithm, headers=names,
                           signature=strict_b64decode(encoded, "signature"),
                           created=_timestamp_param(params.get("created"), "created"),
                           expires=_timestamp_param(params.get("expires"), "expires"))


def cavage_signing_string(names: Iterable[str], method: str, path_and_query: str, headers: Mapping[str, str],
                          created: str | None = None, expires: str | None = None) -> bytes:
    """draft-cavage-12 section 2.3: ``name: value`` lines joined by ``\\n``, in the listed order; header names
    lowercase, ``(request-target)`` is ``<lowercase method> <path?query>`` exactly as received."""
    lines: list[str] = []
    for name in names:
        if name == "(request-target)":
            value: str | None = f"{method.lower()} {path_and_query}"
        elif name == "(created)":
            value = created
        elif name == "(expires)":
            value = expires
        elif name.startswith("(") or not set(name) <= _TCHAR:
            raise MalformedSignature("unknown pseudo-header or bad header name")
        else:
            value = headers.get(name)
        if value is None:
            raise MalformedSignature(f"signed {name[:40]} is missing")
        if "\n" in value or "\r" in value:
            raise MalformedSignature("line break in a signed value")
        lines.append(f"{name}: {value}")
    try:
        # header bytes arrive latin-1 decoded (ASGI, aiohttp): encoding back gives the bytes that were signed
        return "\n".join(lines).encode("latin-1")
    except UnicodeEncodeError as exc:
        raise MalformedSignature("signed value is not representable as header bytes") from exc


# -- draft-cavage: verifying ---------------------------------------------------------------------------------


async def _verify_cavage(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                         resolve_key: ResolveKey, now: float) -> VerifiedSignature:
    raw = headers.get("signature")
    if raw is None:
        raise MissingSignature("no Signature header")
    sig = parse_cavage_signature(raw)
    validate_key_id(sig.key_id)
    names = set(sig.headers)
    # security.md item 13 (Mastodon ``verify_signature_strength!``, stricter: host and target always)
    for required in ("(request-target)", "host"):
        if required not in names:
            raise InsufficientCoverage(f"{required} must be signed")
    if "date" not in names and "(created)" not in names:
        raise InsufficientCoverage("date or (created) must be signed")
    if body_expected(method, body) and "digest" not in names:
        raise InsufficientCoverage("digest must be signed for a request with a body")
    if names & {"(created)", "(expires)"} and sig.algorithm != "hs2019":
        # draft-cavage-12 2.3 / Mastodon: the pseudo-headers exist only with hs2019
        raise MalformedSignature("(created)/(expires) need algorithm hs2019")
    expires = float(sig.expires) if sig.expires is not None and "(expires)" in names else None
    if "(created)" in names:
        if sig.created is None:
            raise MalformedSignature("(created) signed but no created parameter")
        check_time_window(float(sig.created), now, expires)
    if "date" in names:  # only signed values count: an unsigned created/expires could be a replay's
        check_time_window(parse_http_date(headers.get("date", "")), now, expires)
    if "digest" in names:
        digest = headers.get("digest")
        if digest is None:
            raise InvalidDigest("Digest is signed but absent")
        try:
            check_digest_header(digest, body)
        except DigestError as exc:
            raise InvalidDigest(str(exc)) from exc
    message = cavage_signing_string(sig.headers, method, path_and_query, headers, sig.created, sig.expires)

    def accepts(key: PublicKey) -> bool:
        if sig.algorithm == "rsa-sha256" and not isinstance(key, rsa.RSAPublicKey):
            return False  # the name contradicts the key: never switch algorithms on the sender's word
        return key_verifies(key, message, sig.signature)

    record = await authenticate(sig.key_id, resolve_key, accepts)
    return VerifiedSignature(key_id=record.key_id, owner=record.owner, scheme="draft-cavage",
                             covered=sig.headers)


async def verify_request(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                         resolve_key: ResolveKey, now: datetime | None = None, *, scheme: str = "https",
                         expected_host: str | None = None) -> VerifiedSignature:
    """Authenticate an incoming request: RFC 9421 when ``Signature-Input`` is present, draft-cavage otherwise.

    ``path_and_query`` is the request target exactly as received (raw, not re-encoded); ``body`` the raw
    bytes; ``headers`` any mapping (a multidict's repeated fields are joined). ``scheme`` is the scheme the
    client used (RFC 9421 ``@target-uri``/``@scheme``); ``expected_host``, if given, must equal the Host
    header. ``resolve_key(key_id, refresh)`` returns the key record or None when the key does not exist; it is
    called with ``refresh=False``, and once more with ``refresh=True`` if verification fails. Raises
    :class:`InvalidSignature` (401) or :class:`KeyUnavailable` (503); nothing else.
    """
    normalized = normalize_headers(headers)
    check_request_line(method, path_and_query)
    if not isinstance(body, bytes):
        raise MalformedSignature("body must be bytes")
    if "host" not in normalized:  # HTTP/1.1 requires it; for HTTP/2 pass :authority as Host
        raise MalformedSignature("no Host header")
    if expected_host is not None and normalized["host"] != expected_host:
        raise InvalidSignature("request addressed to another host")
    now_ts = now_timestamp(now)
    if "signature-input" in normalized:
        from activitypub import rfc9421  # deferred: rfc9421 builds on this module's helpers

        return await rfc9421.verify_rfc9421(method, path_and_query, normalized, body, resolve_key, now_ts,
                                            scheme=scheme.lower())
    return await _verify_cavage(method, path_and_query, normalized, body, resolve_key, now_ts)


# -- draft-cavage: signing -----------------------------------------------------------------------------------


def sign_request(method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None, key_id: str,
                 private_key_pem: str, now: datetime | None = None) -> dict[str, str]:
    """The headers to send for a draft-cavage ``rsa-sha256`` request, as Mastodon signs (app/lib/request.rb):
    the caller's headers plus ``Host``, ``Date``, for a body ``Digest: SHA-256=`` and ``Signature`` over
    ``(request-target) host date digest [content-type]``, or ``(request-target) host date [accept]`` without.

    Send ``body`` byte for byte and the URL unchanged (aiohttp: ``yarl.URL(url, encoded=True)``), or the
    receiver computes another digest / request target. The private key is parsed once per process.
    """
    _scheme, authority, target = split_url(url)
    if any(c in key_id for c in '"\\') or any(not " " <= c <= "~" for c in key_id):
        raise SigningError("key id must be printable ASCII without quotes")
    ours = ("host", "date", "digest", "signature")
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in ours}
    out["Host"] = authority
    out["Date"] = format_http_date(now)
    names = ["(request-target)", "host", "date"]
    if body is not None:
        out["Digest"] = sha256_digest_header(body)
        names.append("digest")
        optional = "content-type"
    else:
        optional = "accept"
    lowered = {k.lower(): v for k, v in out.items()}
    if optional in lowered:
        names.append(optional)
    try:
        message = cavage_signing_string(names, method, target, lowered)
        key = load_private_key(private_key_pem)
    except (MalformedSignature, ValueError, TypeError) as exc:
        raise SigningError(f"cannot sign: {exc}") from exc
    signature = base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode("ascii")
    out["Signature"] = (f'keyId="{key_id}",algorithm="rsa-sha256",headers="{" ".join(names)}",'
                        f'signature="{signature}"')
    return out
