"""RFC 9421 HTTP Message Signatures (``Signature-Input`` + ``Signature``, body bound by RFC 9530
``Content-Digest``): verification of requests, which Fedify sends first (it falls back to draft-cavage on a
4xx), and signing for tests and peers that prefer it.

The structured-field parsing is the RFC 8941 subset these headers use (dictionaries, inner lists, items with
parameters; integers, decimals, strings, tokens, byte sequences, booleans), strict where RFC 8941 is lenient:
a repeated dictionary key or parameter is refused instead of "last one wins", since two parsers disagreeing
on which one counts is how signature bypasses happen. The rules on top are security.md section B, shared with
``activitypub.signatures`` (window, key-type algorithm, one refetch).
"""

from __future__ import annotations

import base64
import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import NoReturn, Union

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from activitypub.digests import DigestError, check_content_digest, check_digest_header, content_digest_header
from activitypub.keys import load_private_key
from activitypub.signatures import (
    MAX_HEADER_LENGTH, InsufficientCoverage, InvalidDigest, MalformedSignature,
    MissingSignature, PublicKey, ResolveKey, SigningError, UnsupportedAlgorithm, VerifiedSignature,
    authenticate, body_expected, check_time_window, format_http_date, key_verifies, now_timestamp,
    parse_http_date, split_url, validate_key_id,
)

# -- RFC 8941 structured fields (the subset RFC 9421 and RFC 9530 use) --------------------------------------


class Token(str):
    """An sf-token: serialized bare, where an sf-string is quoted (the difference matters when re-serializing
    ``@signature-params``)."""


BareItem = Union[int, float, str, bytes, bool]
Params = tuple[tuple[str, BareItem], ...]


@dataclass(frozen=True)
class Item:
    value: BareItem
    params: Params = ()


@dataclass(frozen=True)
class InnerList:
    items: tuple[Item, ...]
    params: Params = ()


# RFC 8941 grammar pieces; possessive quantifiers (Python 3.11) keep hostile input linear
_KEY = re.compile(r"[a-z*][a-z0-9_.*-]*+")  # 3.1.2
_TOKEN = re.compile(r"[A-Za-z*][!#$%&'*+\-.^_`|~0-9A-Za-z:/]*+")  # 3.3.4
_STRING = re.compile(r'"((?:[ !#-\[\]-~]++|\\["\\])*+)"')  # 3.3.3: printable ASCII, escapes \" and \\ only
_NUMBER = re.compile(r"-?([0-9]{1,15})(\.[0-9]{1,3})?")  # 3.3.1/3.3.2: 15 integer digits; decimals 12 + 3
_BASE64_CHARS = frozenset(string.ascii_letters + string.digits + "+/=")


class _Parser:
    """A cursor over one field value; each method follows the algorithm of the RFC 8941 section named."""

    def __init__(self, text: str) -> None:
        if len(text) > MAX_HEADER_LENGTH:
            raise MalformedSignature("structured field too long")
        self.text, self.pos = text, 0

    def fail(self, why: str) -> NoReturn:
        raise MalformedSignature(f"structured field: {why}")

    def peek(self) -> str:
        return self.text[self.pos:self.pos + 1]

    def skip(self, chars: str) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos] in chars:
            pos += 1
        self.pos = pos

    def take(self, pattern: re.Pattern[str], what: str) -> re.Match[str]:
        match = pattern.match(self.text, self.pos)
        if match is None:
            self.fail(f"expected {what}")
        self.pos = match.end()
        return match

    def dictionary(self) -> dict[str, Item | InnerList]:  # 4.2.2 (plus 4.2 steps 2 and 5)
        result: dict[str, Item | InnerList] = {}
        self.skip(" ")
        while self.peek():
            key = self.key()
            if self.peek() == "=":
                self.pos += 1
                member: Item | InnerList = self.inner_list() if self.peek() == "(" else self.item()
            else:
                member = Item(True, self.params())
            if key in result:
                self.fail(f"repeated key {key[:20]!r}")
            result[key] = member
            self.skip(" \t")
            if not self.peek():
                break
            if self.peek() != ",":
                self.fail("expected a comma")
            self.pos += 1
            self.skip(" \t")
            if not self.peek():
                self.fail("trailing comma")
        return result

    def inner_list(self) -> InnerList:  # 4.2.1.2
        self.pos += 1  # "("
        items: list[Item] = []
        while True:
            self.skip(" ")
            if self.peek() == ")":
                self.pos += 1
                return InnerList(tuple(items), self.params())
            items.append(self.item())
            if self.peek() not in (" ", ")"):
                self.fail("inner list items must be separated by a space")

    def item(self) -> Item:  # 4.2.3
        value = self.bare_item()
        return Item(value, self.params())

    def params(self) -> Params:  # 4.2.3.2
        found: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip(" ")
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            if key in found:
                self.fail(f"repeated parameter {key[:20]!r}")
            found[key] = value
        return tuple(found.items())

    def key(self) -> str:  # 4.2.3.3
        return self.take(_KEY, "a key")[0]

    def bare_item(self) -> BareItem:  # 4.2.3.1
        c = self.peek()
        if c == "-" or c.isascii() and c.isdigit():
            return self.number()
        if c == '"':
            return self.string()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            flag = self.text[self.pos + 1:self.pos + 2]
            if flag not in ("0", "1"):
                self.fail("bad boolean")
            self.pos += 2
            return flag == "1"
        return Token(self.take(_TOKEN, "an item")[0])

    def number(self) -> int | float:  # 4.2.4
        match = _NUMBER.match(self.text, self.pos)
        if match is None or (match[2] and len(match[1]) > 12):
            self.fail("bad number")
        following = self.text[match.end():match.end() + 1]
        if following.isascii() and following.isdigit() or following == ".":
            self.fail("number too long")
        self.pos = match.end()
        return float(match[0]) if match[2] else int(match[0])

    def string(self) -> str:  # 4.2.5
        content = self.take(_STRING, "a valid string")[1]
        return re.sub(r"\\(.)", r"\1", content) if "\\" in content else content

    def byte_sequence(self) -> bytes:  # 4.2.7
        end = self.text.find(":", self.pos + 1)
        if end < 0:
            self.fail("unterminated byte sequence")
        encoded = self.text[self.pos + 1:end]
        if not set(encoded) <= _BASE64_CHARS:
            self.fail("bad byte sequence")
        self.pos = end + 1
        try:
            return base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:
            self.fail("bad byte sequence")


def parse_dictionary(text: str) -> dict[str, Item | InnerList]:
    """An RFC 8941 dictionary; any syntax error is a :class:`MalformedSignature`."""
    return _Parser(text).dictionary()


def serialize_bare_item(value: BareItem) -> str:  # RFC 8941 section 4.1.3
    if isinstance(value, bool):
        return "?1" if value else "?0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):  # 4.1.5: at most three fractional digits, at least one
        if not math.isfinite(value):
            raise MalformedSignature("non-finite decimal")
        text = f"{value:.3f}".rstrip("0")
        return text + "0" if text.endswith(".") else text
    if isinstance(value, Token):
        return str(value)
    if isinstance(value, bytes):
        return ":" + base64.b64encode(value).decode("ascii") + ":"
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def serialize_params(params: Params) -> str:
    return "".join(f";{key}" if value is True else f";{key}={serialize_bare_item(value)}"
                   for key, value in params)


def serialize_inner_list(members: InnerList) -> str:
    inner = " ".join(serialize_bare_item(i.value) + serialize_params(i.params) for i in members.items)
    return f"({inner}){serialize_params(members.params)}"


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

    record = await authenticate(key_id, resolve_key, accepts)
    return VerifiedSignature(key_id=record.key_id, owner=record.owner, scheme="rfc9421",
                             covered=tuple(str(c.value) for c in params.items))


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
