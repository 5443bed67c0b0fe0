"""RFC 9421 verification (and our signer): the RFC's own Ed25519 test vector (Appendix B.2.6), signature bases
assembled by hand in this file, round trips, and the attacks of security.md section B in RFC 9421 form."""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from activitypub.digests import check_content_digest
from activitypub.keys import KeyPair
from activitypub.rfc9421 import (
    InnerList, Item, RequestParts, Token, parse_dictionary, serialize_inner_list, sign_request_rfc9421,
    signature_base,
)
from activitypub.signatures import (
    BadSignature, ExpiredSignature, InsufficientCoverage, InvalidDigest, InvalidSignature, MalformedSignature,
    MissingSignature, UnsupportedAlgorithm, verify_request,
)
from tests.unit.activitypub.helpers import (
    ACTOR, BODY, INBOX_URL, KEY_ID, NOW, NOW_HTTP, Resolver, ago, raw_sign, record, sha256_b64,
)

PATH = "/users/alice/inbox"
CREATED = int(NOW.timestamp())

# -- RFC 9421 Appendix B.2.6 (Ed25519 keys of B.1.4, request of B.2) -----------------------------------------

RFC_PUBLIC = ("-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=\n"
              "-----END PUBLIC KEY-----\n")
RFC_PRIVATE = ("-----BEGIN PRIVATE KEY-----\n"
               "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n"
               "-----END PRIVATE KEY-----\n")
RFC_HEADERS = {
    "host": "example.com", "date": "Tue, 20 Apr 2021 02:07:55 GMT", "content-type": "application/json",
    "content-digest": "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNN"
                      "yealdVLvRwEmTHWXvJwew==:",
    "content-length": "18",
}
RFC_BODY = b'{"hello": "world"}'
RFC_INPUT = ('sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");'
             'created=1618884473;keyid="test-key-ed25519"')
RFC_SIGNATURE = ("sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WP"
                 "pBKRCw==:")
RFC_BASE = (
    '"date": Tue, 20 Apr 2021 02:07:55 GMT\n'
    '"@method": POST\n'
    '"@path": /foo\n'
    '"@authority": example.com\n'
    '"content-type": application/json\n'
    '"content-length": 18\n'
    '"@signature-params": ("date" "@method" "@path" "@authority" "content-type" "content-length")'
    ';created=1618884473;keyid="test-key-ed25519"'
)


def test_rfc_b26_signature_base_and_signature() -> None:
    params = parse_dictionary(RFC_INPUT)["sig-b26"]
    assert isinstance(params, InnerList)
    base = signature_base(params, RequestParts("POST", "https", "example.com", "/foo?param=Value&Pet=dog",
                                               RFC_HEADERS))
    assert base.decode() == RFC_BASE
    signature = parse_dictionary(RFC_SIGNATURE)["sig-b26"]
    assert isinstance(signature, Item) and isinstance(signature.value, bytes)
    public = serialization.load_pem_public_key(RFC_PUBLIC.encode())
    assert isinstance(public, ed25519.Ed25519PublicKey)
    public.verify(signature.value, base)  # raises if it does not verify
    private = serialization.load_pem_private_key(RFC_PRIVATE.encode(), password=None)
    assert isinstance(private, ed25519.Ed25519PrivateKey)
    assert private.sign(base) == signature.value  # Ed25519 is deterministic: byte-for-byte the RFC's value


def test_rfc_9530_content_digest_example() -> None:
    members = parse_dictionary(RFC_HEADERS["content-digest"])
    check_content_digest({k: v.value for k, v in members.items() if isinstance(v, Item)}, RFC_BODY)


async def test_rfc_b26_request_is_below_our_floor() -> None:
    """The vector is a valid signature, but it covers neither the query nor the body and its keyid is no URL:
    our rules (security.md items 13/17) refuse it."""
    headers = dict(RFC_HEADERS, **{"signature-input": RFC_INPUT, "signature": RFC_SIGNATURE})
    with pytest.raises(InvalidSignature):
        await verify_request("POST", "/foo?param=Value&Pet=dog", headers, RFC_BODY,
                             Resolver(record(RFC_PUBLIC, key_id="test-key-ed25519")), now=ago(days=0))


# -- structured fields ---------------------------------------------------------------------------------------


def test_dictionary_parsing_and_canonical_serialization() -> None:
    parsed = parse_dictionary('sig1=( "@method"  "x";sf ); created=5;keyid="a\\"b";alg=tok;f=?0;d=-1.50, '
                              "flag, b=:aGk=:")
    sig1 = parsed["sig1"]
    assert isinstance(sig1, InnerList)
    assert sig1.items == (Item("@method"), Item("x", (("sf", True),)))
    assert dict(sig1.params) == {"created": 5, "keyid": 'a"b', "alg": "tok", "f": False, "d": -1.5}
    assert isinstance(dict(sig1.params)["alg"], Token)
    assert parsed["flag"] == Item(True)
    assert parsed["b"] == Item(b"hi")
    assert serialize_inner_list(sig1) == '("@method" "x";sf);created=5;keyid="a\\"b";alg=tok;f=?0;d=-1.5'


@pytest.mark.parametrize("text", [
    "a=1, a=2", "a=(1);x=1;x=2", "a=1,", "a=1,,b=2", "A=1", "a=\"unterminated", 'a="\\x"',
    "a=1234567890123456",
    "a=1.2345", "a=:not base64!:", "a=?2", "a=(1 2", "a=(1\t2)", "a=@1", "a=1 b=2", "a=\"\u00e9\"", "1a=1",
    "a=1.", "a=-", "a=(1) ;x",
])
def test_malformed_dictionaries(text: str) -> None:
    with pytest.raises(MalformedSignature):
        parse_dictionary(text)


# -- independently assembled vectors -------------------------------------------------------------------------


def hand_9421(private_pem: str, headers: dict[str, str], components: list[str], params: str, *,
              method: str = "POST", target_uri: str = INBOX_URL, label: str = "sig1") -> dict[str, str]:
    """Signature base of RFC 9421 section 2.5 typed out by hand for the components these tests use."""
    url = urlsplit(target_uri)
    derived = {"@method": method, "@target-uri": target_uri, "@authority": url.netloc, "@path": url.path,
               "@query": f"?{url.query}", "@scheme": url.scheme,
               "@request-target": url.path + (f"?{url.query}" if url.query else "")}
    lower = {k.lower(): v for k, v in headers.items()}
    lines = [f'"{c}": {derived[c] if c.startswith("@") else lower[c]}' for c in components]
    signature_params = "(" + " ".join(f'"{c}"' for c in components) + ")" + params
    lines.append(f'"@signature-params": {signature_params}')
    signature = base64.b64encode(raw_sign(private_pem, "\n".join(lines).encode())).decode()
    return dict(headers, **{"Signature-Input": f"{label}={signature_params}",
                            "Signature": f"{label}=:{signature}:"})


def fedify_headers(body: bytes = BODY, host: str = "art.example") -> dict[str, str]:
    return {"Host": host, "Date": NOW_HTTP, "Content-Type": "application/activity+json",
            "Content-Digest": f"sha-256=:{sha256_b64(body)}:"}


FEDIFY_COMPONENTS = ["@method", "@target-uri", "@authority", "host", "date", "content-digest"]
FEDIFY_PARAMS = f';alg="rsa-v1_5-sha256";keyid="{KEY_ID}";created={CREATED}'


async def verify(headers: dict[str, str], keypair: KeyPair, *, method: str = "POST", path: str = PATH,
                 body: bytes = BODY, scheme: str = "https", resolver: Resolver | None = None) -> Resolver:
    resolver = resolver or Resolver(record(keypair.public_pem))
    result = await verify_request(method, path, headers, body, resolver, now=NOW, scheme=scheme)
    assert result.scheme == "rfc9421" and result.owner == ACTOR
    return resolver


async def rejected(exc: type[Exception], headers: dict[str, str], keypair: KeyPair, **kwargs: Any) -> None:
    with pytest.raises(exc):
        await verify(headers, keypair, **kwargs)  # type: ignore[arg-type]


async def test_hand_assembled_fedify_style_request_verifies(rsa_keypair: KeyPair) -> None:
    await verify(hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS, FEDIFY_PARAMS),
                 rsa_keypair)


async def test_hand_assembled_path_query_authority_request_verifies(ed25519_keypair: KeyPair) -> None:
    headers = hand_9421(ed25519_keypair.private_pem, fedify_headers(),
                        ["@method", "@path", "@query", "@authority", "content-digest"],
                        f';created={CREATED};keyid="{KEY_ID}";alg="ed25519"',
                        target_uri=INBOX_URL + "?a=b%20c")
    await verify(headers, ed25519_keypair, path=PATH + "?a=b%20c")


def test_our_signer_produces_the_hand_assembled_signature_input(rsa_keypair: KeyPair) -> None:
    ours = sign_request_rfc9421("POST", INBOX_URL, {"Content-Type": "application/activity+json"}, BODY,
                                KEY_ID, rsa_keypair.private_pem, now=NOW)
    assert ours["Signature-Input"] == (
        'sig1=("@method" "@target-uri" "@authority" "host" "date" "content-digest")'
        f';created={CREATED};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"')
    assert ours["Content-Digest"] == f"sha-256=:{sha256_b64(BODY)}:"
    expected = hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS,
                         f';created={CREATED};keyid="{KEY_ID}";alg="rsa-v1_5-sha256"')
    assert ours["Signature"] == expected["Signature"]  # RSASSA-PKCS1-v1_5 is deterministic too


# -- round trips with our signer -----------------------------------------------------------------------------


async def test_post_round_trip_rsa(rsa_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("POST", INBOX_URL, {}, BODY, KEY_ID, rsa_keypair.private_pem, now=NOW)
    resolver = await verify(headers, rsa_keypair)
    assert resolver.calls == [(KEY_ID, False)]


async def test_get_round_trip_with_query_over_http_and_port(rsa_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("GET", "http://127.0.0.1:8101/users/bob?page=1", {"Accept": "x"}, None,
                                   KEY_ID, rsa_keypair.private_pem, now=NOW)
    assert headers["Host"] == "127.0.0.1:8101"
    await verify(headers, rsa_keypair, method="GET", path="/users/bob?page=1", body=b"", scheme="http")


async def test_post_round_trip_ed25519(ed25519_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("POST", INBOX_URL, {}, BODY, KEY_ID, ed25519_keypair.private_pem, now=NOW)
    assert 'alg="ed25519"' in headers["Signature-Input"]
    await verify(headers, ed25519_keypair)


async def test_rotation_refreshes_once(rsa_keypair: KeyPair, other_rsa_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("POST", INBOX_URL, {}, BODY, KEY_ID, rsa_keypair.private_pem, now=NOW)
    resolver = Resolver(record(other_rsa_keypair.public_pem), refreshed=record(rsa_keypair.public_pem),
                        use_refreshed=True)
    await verify(headers, rsa_keypair, resolver=resolver)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]


# -- attacks -------------------------------------------------------------------------------------------------


def ours(keypair: KeyPair, url: str = INBOX_URL, body: bytes | None = BODY, **kwargs: Any) -> dict[str, str]:
    return sign_request_rfc9421("POST", url, {}, body, KEY_ID, keypair.private_pem, now=NOW, **kwargs)


async def test_tampered_body(rsa_keypair: KeyPair) -> None:
    await rejected(InvalidDigest, ours(rsa_keypair), rsa_keypair, body=BODY.replace(b"Follow", b"Block"))


async def test_tampered_body_with_a_matching_content_digest(rsa_keypair: KeyPair) -> None:
    other = BODY.replace(b"Follow", b"Block")
    headers = dict(ours(rsa_keypair), **{"Content-Digest": f"sha-256=:{sha256_b64(other)}:"})
    await rejected(BadSignature, headers, rsa_keypair, body=other)


async def test_body_not_covered(rsa_keypair: KeyPair) -> None:
    headers = ours(rsa_keypair, components=("@method", "@target-uri", "date"))
    await rejected(InsufficientCoverage, headers, rsa_keypair)


@pytest.mark.parametrize(("moment", "exc"), [
    (ago(hours=2), ExpiredSignature), (ago(hours=-2), ExpiredSignature), (ago(minutes=30), None),
])
async def test_created_window(rsa_keypair: KeyPair, moment: datetime, exc: type[Exception] | None) -> None:
    headers = sign_request_rfc9421("POST", INBOX_URL, {}, BODY, KEY_ID, rsa_keypair.private_pem, now=moment,
                                   components=("@method", "@target-uri", "content-digest"))
    if exc is None:
        await verify(headers, rsa_keypair)
    else:
        await rejected(exc, headers, rsa_keypair)


async def test_expired_expires_param(rsa_keypair: KeyPair) -> None:
    headers = hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS,
                        FEDIFY_PARAMS + f";expires={CREATED - 3700}")
    await rejected(ExpiredSignature, headers, rsa_keypair)


async def test_no_time_at_all(rsa_keypair: KeyPair) -> None:
    headers = hand_9421(rsa_keypair.private_pem, fedify_headers(),
                        ["@method", "@target-uri", "content-digest"], f';keyid="{KEY_ID}"')
    await rejected(InsufficientCoverage, headers, rsa_keypair)


@pytest.mark.parametrize(("method", "path", "host", "scheme"), [
    ("PUT", PATH, "art.example", "https"),
    ("post", PATH, "art.example", "https"),
    ("POST", "/users/mallory/inbox", "art.example", "https"),
    ("POST", PATH, "other.example", "https"),
    ("POST", PATH, "art.example:8443", "https"),
    ("POST", PATH, "art.example", "http"),
])
async def test_signature_for_another_request(rsa_keypair: KeyPair, method: str, path: str, host: str,
                                             scheme: str) -> None:
    headers = dict(ours(rsa_keypair), Host=host)
    await rejected(BadSignature, headers, rsa_keypair, method=method, path=path, scheme=scheme)


@pytest.mark.parametrize("component", ["@method", "@path", "@authority"])
async def test_each_of_method_path_authority_is_bound(rsa_keypair: KeyPair, component: str) -> None:
    components = ("@method", "@path", "@authority", "content-digest")
    headers = ours(rsa_keypair, components=components)
    await verify(headers, rsa_keypair)
    changed = {"@method": {"method": "PATCH"}, "@path": {"path": "/inbox"}}.get(component, {})
    if component == "@authority":
        headers = dict(headers, Host="evil.example")
    await rejected(BadSignature, headers, rsa_keypair, **changed)


async def test_an_unsigned_query_is_refused(rsa_keypair: KeyPair) -> None:
    headers = ours(rsa_keypair, components=("@method", "@path", "@authority", "content-digest"))
    await rejected(InsufficientCoverage, headers, rsa_keypair, path=PATH + "?evil=1")


@pytest.mark.parametrize("missing", ["@method", "@target-uri", "@authority+@target-uri"])
async def test_required_components(rsa_keypair: KeyPair, missing: str) -> None:
    components = [c for c in ("@method", "@target-uri", "@authority", "content-digest")
                  if c not in missing.split("+")]
    await rejected(InsufficientCoverage, ours(rsa_keypair, components=tuple(components)), rsa_keypair)


async def test_unknown_alg_is_ignored_in_favour_of_the_key_type(rsa_keypair: KeyPair) -> None:
    headers = hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS,
                        f';alg="x-made-up";keyid="{KEY_ID}";created={CREATED}')
    await verify(headers, rsa_keypair)


@pytest.mark.parametrize("alg", ["hmac-sha256", "rsa-pss-sha512", "ecdsa-p256-sha256"])
async def test_registered_algs_we_do_not_verify_are_refused(rsa_keypair: KeyPair, alg: str) -> None:
    headers = hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS,
                        f';alg="{alg}";keyid="{KEY_ID}";created={CREATED}')
    await rejected(UnsupportedAlgorithm, headers, rsa_keypair)


async def test_alg_contradicting_the_key_type(rsa_keypair: KeyPair) -> None:
    headers = hand_9421(rsa_keypair.private_pem, fedify_headers(), FEDIFY_COMPONENTS,
                        f';alg="ed25519";keyid="{KEY_ID}";created={CREATED}')
    await rejected(BadSignature, headers, rsa_keypair)


@pytest.mark.parametrize(("digest", "exc"), [
    ("sha-512=:" + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ":", None),
    ("md5=:" + base64.b64encode(hashlib.md5(BODY).digest()).decode() + ":", InvalidDigest),
    ("sha-256=:" + sha256_b64(b"x") + ":, sha-512=:"
     + base64.b64encode(hashlib.sha512(BODY).digest()).decode() + ":", InvalidDigest),
    ("sha-256=" + sha256_b64(BODY), InvalidDigest),  # legacy syntax in the RFC 9530 field
    ("sha-256=:" + sha256_b64(BODY) + ":, sha-256=:" + sha256_b64(BODY) + ":", InvalidDigest),
])
async def test_content_digest_variants(rsa_keypair: KeyPair, digest: str,
                                       exc: type[Exception] | None) -> None:
    headers = hand_9421(rsa_keypair.private_pem, dict(fedify_headers(), **{"Content-Digest": digest}),
                        FEDIFY_COMPONENTS, FEDIFY_PARAMS)
    if exc is None:
        await verify(headers, rsa_keypair)
    else:
        await rejected(exc, headers, rsa_keypair)


async def test_content_digest_covered_but_absent(rsa_keypair: KeyPair) -> None:
    headers = ours(rsa_keypair)
    del headers["Content-Digest"]
    await rejected(InvalidDigest, headers, rsa_keypair)


@pytest.mark.parametrize(("signature_input", "signature", "exc"), [
    ('sig1=("@method");created=1', "sig2=:AAAA:", MissingSignature),
    ('sig1=("@method");created=1, sig1=("@path")', "sig1=:AAAA:", MalformedSignature),
    (f'sig1=("@method" "@target-uri");created={CREATED}', "sig1=:AAAA:", MalformedSignature),  # no keyid
    (f'sig1=("@method" "@target-uri");created={CREATED};keyid=1', "sig1=:AAAA:", MalformedSignature),
    (f'sig1=("@method" "@target-uri");created={CREATED};keyid="acct:bob@remote.example"', "sig1=:AAAA:",
     MalformedSignature),
    (f'sig1="@method";created={CREATED};keyid="{KEY_ID}"', "sig1=:AAAA:", MalformedSignature),
    (f'sig1=("@method");created={CREATED};keyid="{KEY_ID}"', 'sig1=("x")', MalformedSignature),
    (f'sig1=("@method");created="{CREATED}";keyid="{KEY_ID}"', "sig1=:AAAA:", MalformedSignature),
    ("sig1=(", "sig1=:AAAA:", MalformedSignature),
])
async def test_malformed_signature_headers(rsa_keypair: KeyPair, signature_input: str, signature: str,
                                           exc: type[Exception]) -> None:
    headers = dict(fedify_headers(), **{"Signature-Input": signature_input, "Signature": signature})
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(exc):
        await verify(headers, rsa_keypair, resolver=resolver)
    assert resolver.calls == []


@pytest.mark.parametrize("components", [
    '("@method" "@target-uri" "@authority" "content-digest";sf)',
    '("@method" "@target-uri" "@method" "content-digest")',
    '("@method" "@target-uri" "@status" "content-digest")',
    '("@method" "@target-uri" "Content-Digest")',
    '("@method" "@target-uri" "x-absent" "content-digest")',
    '("@method" "@target-uri" content-digest)',
])
async def test_component_lists_we_refuse(rsa_keypair: KeyPair, components: str) -> None:
    signature_input = f'sig1={components};created={CREATED};keyid="{KEY_ID}"'
    headers = dict(fedify_headers(), **{"Signature-Input": signature_input, "Signature": "sig1=:AAAA:"})
    await rejected(InvalidSignature, headers, rsa_keypair)


async def test_signature_input_never_falls_back_to_cavage(rsa_keypair: KeyPair) -> None:
    from activitypub.signatures import sign_request
    headers = sign_request("POST", INBOX_URL, {}, BODY, KEY_ID, rsa_keypair.private_pem, now=NOW)
    headers["Signature-Input"] = 'sig1=("@method")'
    await rejected(InvalidSignature, headers, rsa_keypair)


async def test_first_label_present_in_both_is_the_one_checked(rsa_keypair: KeyPair) -> None:
    headers = ours(rsa_keypair)
    headers["Signature-Input"] = 'zzz=("@method");created=1, ' + headers["Signature-Input"]
    await verify(headers, rsa_keypair)  # zzz has no Signature entry: sig1 is checked
    headers["Signature"] = "zzz=:AAAA:, " + headers["Signature"]
    await rejected(InvalidSignature, headers, rsa_keypair)  # zzz now comes first and is below our floor
