"""RFC 9421 HTTP Message Signatures (``Signature-Input`` + ``Signature``, body bound by RFC 9530
``Content-Digest``): verification of requests, which Fedify sends first (it falls back to draft-cavage on a
4xx), and signing for tests and peers that prefer it.

The headers are RFC 8941 structured fields, parsed by ``activitypub.structured_fields`` (strict: a repeated
key or parameter is refused); its names are re-exported here. The rules on top are security.md section B,
shared with ``activitypub.signatures`` through ``activitypub.sigbase`` (window, key-type algorithm, one
refetch). Unlike draft-cavage, no query-less fallback: the covered components are checked exactly.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.digests import DigestError, check_content_digest, check_digest_header, content_digest_header
from activitypub.keys import load_private_key
from activitypub.sigbase import (
    InsufficientCoverage, InvalidDigest, MalformedSignature, MissingSignature, PreparedSignature, PublicKey,
    ResolveKey, SigningError, UnsupportedAlgorithm, VerifiedSignature, authenticate, body_expected,
    check_time_window, format_http_date, key_verifies, now_timestamp, parse_http_date, split_url,
    validate_key_id,
)
from activitypub.structured_fields import (
    BareItem, InnerList, Item, Params, Token, parse_dictionary, serialize_bare_item, serialize_inner_list,
    serialize_params,
)

__all__ = [
    # re-exported from activitypub.structured_fields
    "BareItem", "InnerList", "Item", "Params", "Token", "parse_dictionary", "serialize_bare_item",
    "serialize_inner_list", "serialize_params",
    # defined here
    "DEFAULT_COMPONENTS", "REGISTERED_ALGORITHMS", "SUPPORTED_ALGORITHMS", "RequestParts", "algorithm_for",
    "component_value", "prepare_rfc9421", "sign_request_rfc9421", "signature_base", "verify_rfc9421",
]

# -- RFC 9421 signature base --------------------------------------------------------------------------------

# Registered algorithms (RFC 9421 section 6.2.2). We verify the two ActivityPub peers use; a registered name
# that disagrees with the key type is refused (section 3.2 step 6), an unregistered one is ignored: the key
# decides.
REGISTERED_ALGORITHMS = frozenset({"rsa-pss-sha512", "rsa-v1_5-sha256", "hmac-sha256", "ecdsa-p256-sha256",
                                   "ecdsa-p384-sha384", "ed25519"})
SUPPORTED_ALGORITHMS = frozenset({"rsa-v1_5-sha256", "ed25519"})
_DEFAULT_PORT_SUFFIX = {"http": ":80", "https": ":443"}


@dataclass(frozen=True)
class RequestParts:
    method: str
    scheme: str
    host: str  # the Host header as received
    path_and_query: str
    headers: Mapping[str, str]  # lowercased names

    @property
    def authority(self) -> str:
        """Section 2.2.3: lowercase, default port removed (RFC 9110 section 4.2.3)."""
        host = self.host.lower()
        suffix = _DEFAULT_PORT_SUFFIX.get(self.scheme, "")
        return host[: -len(suffix)] if suffix and host.endswith(suffix) else host


def component_value(name: str, parts: RequestParts) -> str:
    """The value of one covered component (section 2.1 for fields, 2.2 for derived components)."""
    path, _, query = parts.path_and_query.partition("?")
    derived = {
        "@method": lambda: parts.method,  # 2.2.1: case kept as received
        "@target-uri": lambda: f"{parts.scheme}://{parts.authority}{parts.path_and_query}",  # 2.2.2
        "@authority": lambda: parts.authority,  # 2.2.3
        "@scheme": lambda: parts.scheme,  # 2.2.4
        "@request-target": lambda: parts.path_and_query,  # 2.2.5
        "@path": lambda: path or "/",  # 2.2.6
        "@query": lambda: f"?{query}",  # 2.2.7: "?" alone when there is no query
    }
    if name.startswith("@"):
        if name not in derived:
            raise MalformedSignature(f"unsupported component {name[:30]!r}")
        value = derived[name]()
    elif name != name.lower() or not name:
        raise MalformedSignature("component names must be lowercase")  # 2.1
    else:
        found = parts.headers.get(name)
        if found is None:
            raise MalformedSignature(f"covered field {name[:30]!r} is absent")
        value = found
    if "\n" in value or "\r" in value:
        raise MalformedSignature("line break in a covered value")
    return value


def signature_base(params: InnerList, parts: RequestParts) -> bytes:
    """Section 2.5: one ``"name": value`` line per covered component, then ``"@signature-params"``."""
    lines: list[str] = []
    seen: set[str] = set()
    for component in params.items:
        name = component.value
        if not isinstance(name, str) or isinstance(name, Token):
            raise MalformedSignature("component identifiers are strings")
        if component.params:  # ;sf ;key ;bs ;req ;tr (2.1): not used by ActivityPub peers
            raise MalformedSignature("component parameters are not supported")
        if name in seen:
            raise MalformedSignature("component covered twice")  # 2.5 step 2.1
        seen.add(name)
        lines.append(f'"{name}": {component_value(name, parts)}')
    lines.append(f'"@signature-params": {serialize_inner_list(params)}')
    try:
        return "\n".join(lines).encode("latin-1")  # the bytes as received (see cavage_signing_string)
    except UnicodeEncodeError as exc:
        raise MalformedSignature("covered value is not representable as header bytes") from exc


# -- verifying ----------------------------------------------------------------------------------------------


def _integer_param(params: Mapping[str, BareItem], name: str) -> int | None:
    value = params.get(name)
    if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
        raise MalformedSignature(f"{name} must be an integer")
    return value


def _check_coverage(covered: set[str], parts: RequestParts, body: bytes, has_created: bool) -> None:
    """Our floor (security.md items 13 and 17): method, path, query (when there is one), authority, a time,
    and the body's digest must all be signed."""
    if "@method" not in covered:
        raise InsufficientCoverage("@method must be signed")
    if not covered & {"@target-uri", "@request-target", "@path"}:
        raise InsufficientCoverage("the path must be signed")
    if "?" in parts.path_and_query and not covered & {"@target-uri", "@request-target", "@query"}:
        raise InsufficientCoverage("the query must be signed")
    if not covered & {"@target-uri", "@authority", "host"}:
        raise InsufficientCoverage("the authority must be signed")
    if not has_created and "date" not in covered:
        raise InsufficientCoverage("created or date must be signed")
    if body_expected(parts.method, body) and not covered & {"content-digest", "digest"}:
        raise InsufficientCoverage("content-digest must be signed for a request with a body")


def _check_digests(covered: set[str], headers: Mapping[str, str], body: bytes) -> None:
    for name in covered & {"content-digest", "digest"}:
        if name not in headers:
            raise InvalidDigest(f"{name} is signed but absent")
    try:
        if "content-digest" in covered:
            members = parse_dictionary(headers["content-digest"])
            check_content_digest({k: v.value if isinstance(v, Item) else v for k, v in members.items()}, body)
        if "digest" in covered:  # a legacy Digest may be covered instead
            check_digest_header(headers["digest"], body)
    except (DigestError, MalformedSignature) as exc:
        raise InvalidDigest(str(exc)) from exc


async def verify_rfc9421(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes,
                         resolve_key: ResolveKey, now: float, *, scheme: str = "https") -> VerifiedSignature:
    """Verify the first signature label present in both headers (section 3.2 leaves the choice to the
    verifier; checking one bounds the key fetches an attacker can cause). ``headers`` are lowercased."""
    prepared = prepare_rfc9421(method, path_and_query, headers, body, now, scheme=scheme)
    return prepared.verified_by(await authenticate(prepared.key_id, resolve_key, prepared.accepts))


def prepare_rfc9421(method: str, path_and_query: str, headers: Mapping[str, str], body: bytes, now: float, *,
                    scheme: str = "https") -> PreparedSignature:
    """Every check of :func:`verify_rfc9421` but the cryptographic one, which needs the key."""
    inputs = parse_dictionary(headers.get("signature-input", ""))
    signatures = parse_dictionary(headers.get("signature", ""))
    label = next((name for name in inputs if name in signatures), None)
    if label is None:
        raise MissingSignature("no Signature for any Signature-Input label")
    params, signed = inputs[label], signatures[label]
    signature = signed.value if isinstance(signed, Item) else None
    if not isinstance(params, InnerList) or not isinstance(signature, bytes) or not signature:
        raise MalformedSignature("Signature-Input must be an inner list and Signature a byte sequence")
    named = dict(params.params)
    key_id, alg = named.get("keyid"), named.get("alg")
    if not isinstance(key_id, str) or (alg is not None and not isinstance(alg, str)):
        raise MalformedSignature("keyid (and alg) must be strings")
    if alg in REGISTERED_ALGORITHMS and alg not in SUPPORTED_ALGORITHMS:
        raise UnsupportedAlgorithm(f"algorithm {alg!r} refused")
    validate_key_id(key_id)
    created, expires = _integer_param(named, "created"), _integer_param(named, "expires")
    parts = RequestParts(method, scheme, headers.get("host", ""), path_and_query, headers)
    covered = {str(component.value) for component in params.items}
    _check_coverage(covered, parts, body, created is not None)
    if created is not None:
        check_time_window(created, now, expires)
    if "date" in covered:
        check_time_window(parse_http_date(headers.get("date", "")), now, expires)
    _check_digests(covered, headers, body)
    base = signature_base(params, parts)

    def accepts(key: PublicKey) -> bool:
        if alg in SUPPORTED_ALGORITHMS and alg != algorithm_for(key):
            return False
        return key_verifies(key, base, signature)

    return PreparedSignature(key_id=key_id, scheme="rfc9421",
                             covered=tuple(str(c.value) for c in params.items), accepts=accepts)


def algorithm_for(key: PublicKey | rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey) -> str:
    return "rsa-v1_5-sha256" if isinstance(key, (rsa.RSAPublicKey, rsa.RSAPrivateKey)) else "ed25519"


# -- signing ------------------------------------------------------------------------------------------------

# Fedify's default set (Fedify sig/http.ts, ``signRequestRfc9421``), content-digest added for a body
DEFAULT_COMPONENTS = ("@method", "@target-uri", "@authority", "host", "date")


@lru_cache(maxsize=256)
def _signing_key(private_key_pem: str) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    try:
        return load_private_key(private_key_pem)  # RSA: the process-wide cache shared with cavage signing
    except (ValueError, TypeError):
        pass
    try:
        key = serialization.load_pem_private_key(private_key_pem.encode("ascii"), password=None)
    except (ValueError, TypeError, UnicodeError) as exc:
        raise SigningError("unreadable private key") from exc
    if not isinstance(key, ed25519.Ed25519PrivateKey):
        raise SigningError("only RSA and Ed25519 keys can sign")
    return key


def sign_request_rfc9421(method: str, url: str, headers: Mapping[str, str] | None, body: bytes | None,
                         key_id: str, private_key_pem: str, now: datetime | None = None, *,
                         label: str = "sig1", components: tuple[str, ...] | None = None) -> dict[str, str]:
    """The headers to send: the caller's plus ``Host``, ``Date``, for a body ``Content-Digest: sha-256=``,
    ``Signature-Input`` (``created``, ``keyid``, ``alg`` from the key type) and ``Signature``."""
    scheme, authority, target = split_url(url)
    now = now or datetime.now(timezone.utc)  # one instant for both Date and created
    if not re.fullmatch(r"[a-z*][a-z0-9_.*-]{0,63}", label):
        raise SigningError("label must be an RFC 8941 key")
    if not (key_id.isascii() and key_id.isprintable()):
        raise SigningError("key id must be printable ASCII")
    dropped = {"host", "date", "content-digest", "signature", "signature-input"}
    out = {k: v for k, v in (headers or {}).items() if k.lower() not in dropped}
    out["Host"], out["Date"] = authority, format_http_date(now)
    if body is not None:
        out["Content-Digest"] = content_digest_header(body)
    if components is None:
        components = DEFAULT_COMPONENTS + (("content-digest",) if body is not None else ())
    key = _signing_key(private_key_pem)
    params = InnerList(tuple(Item(c) for c in components),
                       (("created", int(now_timestamp(now))), ("keyid", key_id), ("alg", algorithm_for(key))))
    parts = RequestParts(method, scheme, authority, target, {k.lower(): v for k, v in out.items()})
    try:
        base = signature_base(params, parts)
    except MalformedSignature as exc:
        raise SigningError(f"cannot sign: {exc}") from exc
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(base, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = key.sign(base)
    out["Signature-Input"] = f"{label}={serialize_inner_list(params)}"
    out["Signature"] = f"{label}=:{base64.b64encode(signature).decode('ascii')}:"
    return out
