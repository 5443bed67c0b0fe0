"""HTTP signatures: draft-cavage-http-signatures-12 signing (as Mastodon sends) and verification of incoming
requests, dispatching to RFC 9421 (``activitypub.rfc9421``) when ``Signature-Input`` is present.

Verification enforces security.md section B: required signed headers (13), Digest over the raw body (14),
the Date window (15), the algorithm taken from the key type and never from the header (16), request-target
and Host exactly as received (17; draft-cavage also accepts Mastodon's query-less compatibility form, see
``_prepare_cavage``), one key refetch on failure (18). It never lets ``httpsig`` decide: that
package picks the algorithm from the header and accepts an HMAC keyed with the public PEM (security.md
item 16, [verified]).

Every failure raises a :class:`SignatureError`: :class:`InvalidSignature` subclasses mean 401,
:class:`KeyUnavailable` means the signer's key could not be fetched right now (503, the sender retries).

The pieces both schemes share (errors, values, window, key loading, the refetch-once flow) live in
``activitypub.sigbase`` and are re-exported here: import them from this module.
"""

from __future__ import annotations

import base64
import binascii
import re
import string
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from activitypub import rfc9421
from activitypub.digests import DigestError, check_digest_header, sha256_digest_header
from activitypub.keys import load_private_key
from activitypub.sigbase import (
    CLOCK_SKEW_SECONDS, DEFAULT_EXPIRY_SECONDS, MAX_EXPIRY_SECONDS, MAX_HEADER_LENGTH, METHODS_WITH_BODY,
    MIN_RSA_BITS, BadSignature, ExpiredSignature, InsufficientCoverage, InvalidDigest, InvalidSignature,
    KeyMismatch, KeyUnavailable, MalformedSignature, MissingSignature, PublicKey, PublicKeyRecord, ResolveKey,
    PreparedSignature, Scheme, SignatureError, SigningError, UnknownKey, UnsupportedAlgorithm, UnsupportedKey,
    VerifiedSignature, authenticate, body_expected, check_time_window, format_http_date, key_verifies,
    load_public_key, now_timestamp, parse_http_date, record_accepts, split_url, validate_key_id,
)

__all__ = [
    # re-exported from activitypub.sigbase
    "CLOCK_SKEW_SECONDS", "DEFAULT_EXPIRY_SECONDS", "MAX_EXPIRY_SECONDS", "MAX_HEADER_LENGTH",
    "METHODS_WITH_BODY", "MIN_RSA_BITS", "BadSignature", "ExpiredSignature", "InsufficientCoverage",
    "InvalidDigest", "InvalidSignature", "KeyMismatch", "KeyUnavailable", "MalformedSignature",
    "MissingSignature", "PreparedSignature", "PublicKey", "PublicKeyRecord", "ResolveKey", "Scheme",
    "SignatureError", "SigningError", "UnknownKey", "UnsupportedAlgorithm", "UnsupportedKey",
    "VerifiedSignature", "authenticate", "body_expected", "check_time_window", "format_http_date",
    "key_verifies", "load_public_key", "now_timestamp", "parse_http_date", "record_accepts", "split_url",
    "validate_key_id",
    # draft-cavage, defined here
    "CAVAGE_ALGORITHMS", "CavageSignature", "cavage_signing_string", "check_request_line",
    "normalize_headers", "parse_cavage_signature", "parse_signature_params", "prepare_request",
    "sign_request", "strict_b64decode", "verify_request", "verify_with_known_key",
]

# -- constants -----------------------------------------------------------------------------------------------

# The only algorithm names we let through; the key type decides the real algorithm. GoToSocial sends hs2019
# (vendored httpsig signing.go), Mastodon rsa-sha256; a missing parameter counts as hs2019 (Mastodon:
# ``signature_params.fetch('algorithm', 'hs2019')``).
CAVAGE_ALGORITHMS = frozenset({"rsa-sha256", "hs2019"})
_SINGLETON_HEADERS = frozenset({"host", "date"})  # a repeated Host/Date is ambiguous: refuse, never pick one
_TCHAR = frozenset(string.ascii_letters + string.digits + "!#$%&'*+-.^_`|~")  # RFC 9110 section 5.6.2
_CONTROL_OR_SPACE = re.compile(r"[\x00-\x20\x7f]")

# -- request checks and decoding ----------------------------------------------------------------------------


@lru_cache(maxsize=1024)  # a handful of names (host, date, digest...) on every request
def _is_token(name: str) -> bool:
    return set(name) <= _TCHAR


def normalize_headers(headers: Mapping[str, str]) -> dict[str, str]:
    """Lowercase names; repeated fields joined with ", " (RFC 9110 section 5.3, draft-cavage 2.3,
    RFC 9421 2.1); values trimmed. ``items()`` of a multidict (aiohttp, werkzeug/Quart) yields every
    repetition."""
    try:
        pairs = list(headers.items())
    except Exception as exc:  # a broken mapping must not escape as a 500
        raise MalformedSignature("unreadable headers") from exc
    try:  # the usual case, in one pass: text names and values, none repeated
        result = {name.lower(): value.strip(" \t") for name, value in pairs
                  if type(name) is str and type(value) is str}  # noqa: E721 - exactly str, as below
    except Exception:  # noqa: BLE001 - a str subclass whose methods fail: the careful loop says what
        result = {}
    if len(result) == len(pairs):
        return result
    result = {}
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


def check_request_line(method: str, path_and_query: str) -> None:
    if not method or not _is_token(method):
        raise MalformedSignature("malformed method")
    if not path_and_query.startswith("/") or _CONTROL_OR_SPACE.search(path_and_query):
        raise MalformedSignature("malformed request target")


def strict_b64decode(text: str, what: str) -> bytes:
    try:
        decoded = base64.b64decode(text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError) as exc:
        raise MalformedSignature(f"{what} is not base64") from exc
    if not decoded:
        raise MalformedSignature(f"empty {what}")
    return decoded


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
        elif name.startswith("(") or not _is_token(name):
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


def _prepare_cavage(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                    now: float) -> PreparedSignature:
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
    messages = [cavage_signing_string(sig.headers, method, path_and_query, headers, sig.created, sig.expires)]
    path, _, query = path_and_query.partition("?")
    if query:
        # Query-less (request-target) quirk (security.md item 17). Older Mastodon versions and Fedify's
        # draft-cavage signer sign "method path" without the query; Mastodon since 4.2 accepts that form as a
        # second try, with the same key and again after the refetch (app/controllers/concerns/
        # signature_verification.rb, ``build_signed_string(include_query_string: false)``, "Compatibility
        # quirk with older Mastodon versions"). ``accepts`` tries both strings on each candidate key, so the
        # second form costs one more verify, never a key fetch. The cost: a query-less signature does not
        # bind the query, so whoever holds one can replay it with ANY query (same method, path, Host, other
        # signed headers, within the Date window). RFC 9421 (activitypub.rfc9421) has no such fallback.
        messages.append(cavage_signing_string(sig.headers, method, path, headers, sig.created, sig.expires))

    def accepts(key: PublicKey) -> bool:
        if sig.algorithm == "rsa-sha256" and not isinstance(key, rsa.RSAPublicKey):
            return False  # the name contradicts the key: never switch algorithms on the sender's word
        return any(key_verifies(key, message, sig.signature) for message in messages)

    return PreparedSignature(key_id=sig.key_id, scheme="draft-cavage", covered=sig.headers, accepts=accepts)


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
    prepared = prepare_request(method, path_and_query, headers, body, now, scheme=scheme,
                               expected_host=expected_host)
    return prepared.verified_by(await authenticate(prepared.key_id, resolve_key, prepared.accepts))


def verify_with_known_key(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                          known_key: Callable[[str], PublicKeyRecord | None], now: datetime | None = None, *,
                          scheme: str = "https",
                          expected_host: str | None = None) -> VerifiedSignature | None:
    """:func:`verify_request` with a key already at hand, for a caller's fast path: the same checks, but
    ``known_key(key_id)`` is asked once and never waits. None whenever that does not settle it -- a check
    fails, the key is not known, or it does not verify (it may have rotated) -- so that the caller takes
    :func:`verify_request` for the real answer (and its one refetch)."""
    try:
        prepared = prepare_request(method, path_and_query, headers, body, now, scheme=scheme,
                                   expected_host=expected_host)
        record = known_key(prepared.key_id)
        if record is None or record.key_id != prepared.key_id or not record_accepts(record, prepared.accepts):
            return None
    except SignatureError:
        return None
    return prepared.verified_by(record)


def prepare_request(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                    now: datetime | None = None, *, scheme: str = "https",
                    expected_host: str | None = None) -> PreparedSignature:
    """Every check of :func:`verify_request` but the cryptographic one, which needs the key."""
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
        return rfc9421.prepare_rfc9421(method, path_and_query, normalized, body, now_ts,
                                       scheme=scheme.lower())
    return _prepare_cavage(method, path_and_query, normalized, body, now_ts)


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
