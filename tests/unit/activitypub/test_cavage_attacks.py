"""security.md section B items 13-17 (and A-10/11 where they touch keyIds): every forgery is refused with a
SignatureError subclass, most before the key resolver is even asked."""

from __future__ import annotations

import base64
from typing import Any
import hashlib

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from httpsig.sign import HeaderSigner
from httpsig.verify import HeaderVerifier
from multidict import CIMultiDict

from activitypub.keys import KeyPair
from activitypub.signatures import (
    BadSignature, ExpiredSignature, InsufficientCoverage, InvalidDigest, InvalidSignature, KeyMismatch,
    KeyUnavailable, MalformedSignature, MissingSignature, SignatureError, UnknownKey, UnsupportedAlgorithm,
    UnsupportedKey, sign_request, verify_request,
)
from tests.unit.activitypub.helpers import (
    BODY, INBOX_URL, KEY_ID, NOW, NOW_HTTP, Resolver, ago, hand_cavage, http_date, post_headers, record,
    sha256_b64,
)

PATH = "/users/alice/inbox"
FULL = ["(request-target)", "host", "date", "digest"]


async def verify(headers: object, keypair: KeyPair, *, method: str = "POST", path: str = PATH,
                 body: bytes = BODY, resolver: Resolver | None = None, **kwargs: Any) -> Resolver:
    resolver = resolver or Resolver(record(keypair.public_pem))
    await verify_request(method, path, headers, body, resolver, now=NOW, **kwargs)  # type: ignore[arg-type]
    return resolver


def signed(keypair: KeyPair, names: list[str] = FULL, **overrides: object) -> dict[str, str]:
    headers = post_headers(**overrides)  # type: ignore[arg-type]
    headers["Signature"] = hand_cavage(keypair.private_pem, "POST", PATH, headers, names)
    return headers


async def rejected(exc: type[SignatureError], headers: object, keypair: KeyPair, **kwargs: Any) -> Resolver:
    resolver = Resolver(record(keypair.public_pem))
    with pytest.raises(exc):
        await verify(headers, keypair, resolver=resolver, **kwargs)
    return resolver


# -- item 13: required signed headers ------------------------------------------------------------------------


@pytest.mark.parametrize(("names", "why"), [
    (["(request-target)", "host", "date"], "digest"),
    (["host", "date", "digest"], "(request-target)"),
    (["(request-target)", "date", "digest"], "host"),
    (["(request-target)", "host", "digest"], "date"),
])
async def test_post_missing_a_required_signed_header(rsa_keypair: KeyPair, names: list[str],
                                                     why: str) -> None:
    resolver = await rejected(InsufficientCoverage, signed(rsa_keypair, names), rsa_keypair)
    assert resolver.calls == []  # refused before any key fetch


@pytest.mark.parametrize("names", [["(request-target)", "date"], ["host", "date"],
                                   ["(request-target)", "host"]])
async def test_get_missing_a_required_signed_header(rsa_keypair: KeyPair, names: list[str]) -> None:
    headers = {"Host": "art.example", "Date": NOW_HTTP}
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "GET", PATH, headers, names)
    await rejected(InsufficientCoverage, headers, rsa_keypair, method="GET", body=b"")


async def test_signature_without_headers_param_defaults_to_created_only(rsa_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = f'keyId="{KEY_ID}",signature="{base64.b64encode(b"x" * 256).decode()}"'
    await rejected(InsufficientCoverage, headers, rsa_keypair)


async def test_get_with_a_body_needs_a_digest(rsa_keypair: KeyPair) -> None:
    headers = {"Host": "art.example", "Date": NOW_HTTP}
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "GET", PATH, headers,
                                       ["(request-target)", "host", "date"])
    await rejected(InsufficientCoverage, headers, rsa_keypair, method="GET", body=b"smuggled")


# -- item 14: Digest against the raw body --------------------------------------------------------------------


async def test_digest_of_another_body(rsa_keypair: KeyPair) -> None:
    headers = signed(rsa_keypair, digest=f"SHA-256={sha256_b64(b'something else')}")
    resolver = await rejected(InvalidDigest, headers, rsa_keypair)
    assert resolver.calls == []


async def test_body_swapped_after_signing(rsa_keypair: KeyPair) -> None:
    await rejected(InvalidDigest, signed(rsa_keypair), rsa_keypair, body=BODY + b" ")


async def test_digest_signed_but_header_absent(rsa_keypair: KeyPair) -> None:
    headers = signed(rsa_keypair)
    del headers["Digest"]
    await rejected(InvalidDigest, headers, rsa_keypair)


@pytest.mark.parametrize("digest", [
    "SHA-512=" + base64.b64encode(hashlib.sha512(BODY).digest()).decode(),  # SHA-512 only
    "SHA-256=not*base64!",
    "SHA-256=" + sha256_b64(BODY)[:-4],  # truncated
    "SHA-256",
    "MD5=" + base64.b64encode(hashlib.md5(BODY).digest()).decode(),
    f"SHA-256={sha256_b64(BODY)}, SHA-256={sha256_b64(b'x')}",
])
async def test_unusable_digest_headers(rsa_keypair: KeyPair, digest: str) -> None:
    await rejected(InvalidDigest, signed(rsa_keypair, digest=digest), rsa_keypair)


# -- item 15: Date window ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("moment", "ok"), [
    (ago(minutes=30), True),
    (ago(minutes=64), True),
    (ago(minutes=-59), True),
    (ago(hours=2), False),
    (ago(minutes=66), False),
    (ago(hours=-2), False),
    (ago(minutes=-61), False),
    (ago(days=365 * 23), False),
])
async def test_date_window(rsa_keypair: KeyPair, moment: object, ok: bool) -> None:
    headers = signed(rsa_keypair, date=http_date(moment))  # type: ignore[arg-type]
    if ok:
        await verify(headers, rsa_keypair)
    else:
        await rejected(ExpiredSignature, headers, rsa_keypair)


@pytest.mark.parametrize("date", ["wrong date", "", "Wed, 31 Feb 2024 12:00:00 GMT", "9" * 200, "1714564800"])
async def test_unparsable_date_is_a_401(rsa_keypair: KeyPair, date: str) -> None:
    await rejected(MalformedSignature, signed(rsa_keypair, date=date), rsa_keypair)


async def test_unsigned_created_cannot_refresh_a_stale_date(rsa_keypair: KeyPair) -> None:
    headers = signed(rsa_keypair, date=http_date(ago(hours=2)))
    headers["Signature"] += f",created={int(NOW.timestamp())}"  # a replayer's addition: not signed
    await rejected(ExpiredSignature, headers, rsa_keypair)


async def test_stale_created_pseudo_header(rsa_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers,
                                       ["(request-target)", "(created)", "host", "digest"],
                                       algorithm="hs2019", created=int(ago(hours=2).timestamp()))
    await rejected(ExpiredSignature, headers, rsa_keypair)


async def test_created_pseudo_header_is_refused_with_rsa_sha256(rsa_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers,
                                       ["(request-target)", "(created)", "host", "digest"],
                                       created=int(NOW.timestamp()))
    await rejected(MalformedSignature, headers, rsa_keypair)


# -- item 16: the algorithm comes from the key ---------------------------------------------------------------


def hmac_forgery(keypair: KeyPair, algorithm: str) -> dict[str, str]:
    """The httpsig HMAC forgery: an HMAC keyed with the victim's *public* PEM (which anyone can fetch)."""
    signer = HeaderSigner(KEY_ID, keypair.public_pem, algorithm="hmac-sha256", headers=FULL,
                          sign_header="signature")
    headers = dict(signer.sign(post_headers(), method="POST", path=PATH))
    headers["signature"] = headers["signature"].replace('algorithm="hmac-sha256"', algorithm)
    return headers


async def test_hmac_forgery_keyed_with_the_public_pem_is_refused(rsa_keypair: KeyPair) -> None:
    headers = hmac_forgery(rsa_keypair, 'algorithm="hmac-sha256"')
    # Why httpsig must never decide: it takes the algorithm from the header and accepts the forgery.
    assert HeaderVerifier(headers, rsa_keypair.public_pem, method="POST", path=PATH,
                          sign_header="signature").verify() is True
    resolver = await rejected(UnsupportedAlgorithm, headers, rsa_keypair)
    assert resolver.calls == []


@pytest.mark.parametrize("algorithm", ['algorithm="hs2019"', 'algorithm="rsa-sha256"', ""])
async def test_hmac_forgery_under_an_accepted_name_fails_the_rsa_check(rsa_keypair: KeyPair,
                                                                       algorithm: str) -> None:
    headers = hmac_forgery(rsa_keypair, algorithm)
    headers["signature"] = headers["signature"].replace(",,", ",").strip(",")
    await rejected(BadSignature, headers, rsa_keypair)


@pytest.mark.parametrize("algorithm", [None, "hs2019", "HS2019", "rsa-sha256"])
async def test_accepted_algorithm_names(rsa_keypair: KeyPair, algorithm: str | None) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers, FULL,
                                       algorithm=algorithm)
    await verify(headers, rsa_keypair)


@pytest.mark.parametrize("algorithm",
                         ["hmac-sha256", "rsa-sha1", "rsa-sha512", "ed25519", "ecdsa-sha256", ""])
async def test_other_algorithm_names_are_refused(rsa_keypair: KeyPair, algorithm: str) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers, FULL,
                                       algorithm=algorithm)
    await rejected(InvalidSignature, headers, rsa_keypair)


async def test_rsa_sha256_name_with_an_ed25519_key_is_refused(ed25519_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(ed25519_keypair.private_pem, "POST", PATH, headers, FULL)
    await rejected(BadSignature, headers, ed25519_keypair)


@pytest.mark.parametrize("extra", [
    f',keyId="{KEY_ID}"', ',keyid="https://evil.example/k"', ',signature="AAAA"', ',headers="date"',
    ',algorithm="rsa-sha256"', ",Algorithm=hs2019",
])
async def test_duplicate_parameters_are_refused(rsa_keypair: KeyPair, extra: str) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers, FULL, extra=extra)
    resolver = await rejected(MalformedSignature, headers, rsa_keypair)
    assert resolver.calls == []


# -- item 17: request-target and Host exactly as received ----------------------------------------------------


@pytest.mark.parametrize(("method", "path", "host"), [
    ("POST", "/users/mallory/inbox", "art.example"),
    ("POST", "/inbox", "art.example"),
    ("PUT", PATH, "art.example"),
    # a query added to a query-less signature is accepted (Mastodon's compatibility quirk):
    # see test_cavage_query_quirk.py
    ("POST", PATH, "other.example"),
    ("POST", PATH, "art.example:443"),
    ("POST", PATH, "art.example:8443"),
    ("POST", PATH, "ART.EXAMPLE"),
])
async def test_signature_for_another_request_line_or_host(rsa_keypair: KeyPair, method: str, path: str,
                                                          host: str) -> None:
    headers = signed(rsa_keypair)
    headers["Host"] = host
    await rejected(BadSignature, headers, rsa_keypair, method=method, path=path)


async def test_signed_query_must_match(rsa_keypair: KeyPair) -> None:
    headers = sign_request("GET", "https://art.example/users/alice/outbox?page=1", {}, None, KEY_ID,
                           rsa_keypair.private_pem, now=NOW)
    for path in ("/users/alice/outbox", "/users/alice/outbox?page=2", "/users/alice/outbox?page=1&x"):
        await rejected(BadSignature, headers, rsa_keypair, method="GET", path=path, body=b"")
    await verify(headers, rsa_keypair, method="GET", path="/users/alice/outbox?page=1", body=b"")


async def test_signature_over_a_port_is_checked_against_the_received_host(rsa_keypair: KeyPair) -> None:
    headers = sign_request("POST", "http://127.0.0.1:8101" + PATH, {}, BODY, KEY_ID, rsa_keypair.private_pem,
                           now=NOW)
    await verify(headers, rsa_keypair)
    headers["Host"] = "127.0.0.1"
    await rejected(BadSignature, headers, rsa_keypair)


async def test_expected_host(rsa_keypair: KeyPair) -> None:
    headers = sign_request("POST", "https://evil.example" + PATH, {}, BODY, KEY_ID, rsa_keypair.private_pem,
                           now=NOW)
    await verify(headers, rsa_keypair)  # a valid signature, but for another server
    await rejected(InvalidSignature, headers, rsa_keypair, expected_host="art.example")


# -- malformed requests and key troubles ---------------------------------------------------------------------


async def test_no_signature_header(rsa_keypair: KeyPair) -> None:
    await rejected(MissingSignature, post_headers(), rsa_keypair)


async def test_no_host_header_at_all(rsa_keypair: KeyPair) -> None:
    headers = signed(rsa_keypair)
    del headers["Host"]
    resolver = await rejected(MalformedSignature, headers, rsa_keypair)
    assert resolver.calls == []


@pytest.mark.parametrize("name", ["Host", "Date"])
async def test_repeated_host_or_date_is_refused(rsa_keypair: KeyPair, name: str) -> None:
    multi = CIMultiDict(signed(rsa_keypair))
    multi.add(name, "evil.example" if name == "Host" else NOW_HTTP)
    await rejected(MalformedSignature, multi, rsa_keypair)


@pytest.mark.parametrize("key_id", [
    "https://remote.example@evil.example/users/bob#main-key", "acct:bob@remote.example",
    "/users/bob#main-key",
    "ftp://remote.example/k", "https://remote.example/users/bob #main-key", "https://[::1/k", "https:///k",
])
async def test_unusable_key_ids_are_refused_before_any_fetch(rsa_keypair: KeyPair, key_id: str) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", PATH, headers, FULL, key_id=key_id)
    resolver = await rejected(MalformedSignature, headers, rsa_keypair)
    assert resolver.calls == []


@pytest.mark.parametrize(("method", "path"), [
    ("", PATH), ("PO ST", PATH), ("POST", "users"), ("POST", "/a b"), ("POST", "/a\nb"),
])
async def test_malformed_request_line(rsa_keypair: KeyPair, method: str, path: str) -> None:
    await rejected(MalformedSignature, signed(rsa_keypair), rsa_keypair, method=method, path=path)


async def test_unknown_key_is_refused_after_one_refresh(rsa_keypair: KeyPair) -> None:
    resolver = Resolver(None)
    with pytest.raises(UnknownKey):
        await verify(signed(rsa_keypair), rsa_keypair, resolver=resolver)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_wrong_key_is_refused_after_exactly_one_refresh(rsa_keypair: KeyPair,
                                                              other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(signed(rsa_keypair), rsa_keypair, resolver=resolver)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]


async def test_key_rotation_is_accepted_after_one_refresh(rsa_keypair: KeyPair,
                                                          other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem), refreshed=record(rsa_keypair.public_pem),
                        use_refreshed=True)
    await verify(signed(rsa_keypair), rsa_keypair, resolver=resolver)
    assert resolver.calls == [(KEY_ID, False), (KEY_ID, True)]
    assert resolver.refreshes == 1


async def test_resolver_answering_for_another_key_id(rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(rsa_keypair.public_pem, key_id="https://remote.example/users/eve#main-key"))
    with pytest.raises(KeyMismatch):
        await verify(signed(rsa_keypair), rsa_keypair, resolver=resolver)


@pytest.mark.parametrize("error",
                         [OSError("connection refused"), TimeoutError(), KeyError("x"), ValueError()])
async def test_resolver_failure_is_key_unavailable(rsa_keypair: KeyPair, error: Exception) -> None:
    async def failing(key_id: str, refresh: bool) -> None:
        raise error

    with pytest.raises(KeyUnavailable) as caught:
        await verify_request("POST", PATH, signed(rsa_keypair), BODY, failing, now=NOW)
    assert caught.value.http_status == 503
    assert not isinstance(caught.value, InvalidSignature)


def small_rsa_pem() -> str:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.mark.parametrize("pem",
                         ["not a pem", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", ""])
async def test_unreadable_public_key(rsa_keypair: KeyPair, pem: str) -> None:
    with pytest.raises(UnsupportedKey):
        await verify(signed(rsa_keypair), rsa_keypair, resolver=Resolver(record(pem)))


async def test_small_rsa_key_is_refused(rsa_keypair: KeyPair) -> None:
    with pytest.raises(UnsupportedKey):
        await verify(signed(rsa_keypair), rsa_keypair, resolver=Resolver(record(small_rsa_pem())))


async def test_unparsable_signature_value(rsa_keypair: KeyPair) -> None:
    headers = signed(rsa_keypair)
    headers["Signature"] = headers["Signature"].replace('signature="', 'signature="!!')
    await rejected(MalformedSignature, headers, rsa_keypair)


async def test_statuses_for_the_app() -> None:
    assert InvalidSignature("x").http_status == 401
    assert KeyUnavailable("x").http_status == 503
    assert issubclass(KeyUnavailable, SignatureError) and not issubclass(KeyUnavailable, InvalidSignature)


def test_inbox_url_constant_matches_path() -> None:
    assert INBOX_URL.endswith(PATH)
