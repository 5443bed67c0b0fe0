"""draft-cavage signing (what we send) and verification round trips, cross-checked against the httpsig package
and against signatures assembled by hand: our code is never the only judge of our code."""

from __future__ import annotations

import re
from datetime import timezone
from email.utils import parsedate_to_datetime

import pytest
from httpsig.sign import HeaderSigner
from httpsig.verify import HeaderVerifier
from multidict import CIMultiDict

from activitypub.keys import KeyPair, load_private_key
from activitypub.signatures import (
    VerifiedSignature, cavage_signing_string, parse_signature_params, sign_request, verify_request,
)
from tests.unit.activitypub.helpers import (
    ACTOR, BODY, INBOX_URL, KEY_ID, NOW, NOW_HTTP, Resolver, hand_cavage, post_headers, record, sha256_b64,
)

AS_JSON = "application/activity+json"


def signed_post(keypair: KeyPair, url: str = INBOX_URL, body: bytes = BODY) -> dict[str, str]:
    return sign_request("POST", url, {"Content-Type": AS_JSON}, body, KEY_ID, keypair.private_pem, now=NOW)


def test_post_headers_are_what_mastodon_sends(rsa_keypair: KeyPair) -> None:
    headers = signed_post(rsa_keypair)
    assert headers["Host"] == "art.example"
    assert headers["Date"] == NOW_HTTP
    assert re.fullmatch(r"[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT", headers["Date"])
    assert parsedate_to_datetime(headers["Date"]) == NOW.astimezone(timezone.utc)
    assert headers["Digest"] == f"SHA-256={sha256_b64(BODY)}"  # uppercase algorithm name
    assert headers["Content-Type"] == AS_JSON
    params = parse_signature_params(headers["Signature"])
    assert params["keyid"] == KEY_ID
    assert params["algorithm"] == "rsa-sha256"
    assert params["headers"] == "(request-target) host date digest content-type"
    assert headers["Signature"].startswith(f'keyId="{KEY_ID}",algorithm="rsa-sha256",headers="')


def test_get_signs_accept_and_has_no_digest(rsa_keypair: KeyPair) -> None:
    headers = sign_request("GET", "https://remote.example/users/bob", {"Accept": AS_JSON}, None, KEY_ID,
                           rsa_keypair.private_pem, now=NOW)
    assert "Digest" not in headers
    assert parse_signature_params(headers["Signature"])["headers"] == "(request-target) host date accept"


@pytest.mark.parametrize(("url", "host", "target"), [
    ("https://art.example:8443/inbox", "art.example:8443", "/inbox"),
    ("https://art.example:443/inbox", "art.example", "/inbox"),
    ("http://127.0.0.1:8101/users/x/inbox?a=1&b=2", "127.0.0.1:8101", "/users/x/inbox?a=1&b=2"),
    ("http://[::1]:8000/inbox", "[::1]:8000", "/inbox"),
    ("https://ART.Example", "art.example", "/"),
])
def test_host_and_request_target_come_from_the_url(rsa_keypair: KeyPair, url: str, host: str,
                                                   target: str) -> None:
    headers = sign_request("POST", url, None, b"{}", KEY_ID, rsa_keypair.private_pem, now=NOW)
    assert headers["Host"] == host
    verifier = HeaderVerifier(headers, rsa_keypair.public_pem, method="POST", path=target,
                              sign_header="signature")
    assert verifier.verify() is True


def test_caller_headers_are_kept_and_ours_replace_theirs(rsa_keypair: KeyPair) -> None:
    headers = sign_request("POST", INBOX_URL, {"content-type": AS_JSON, "date": "stale", "User-Agent": "ua"},
                           b"{}", KEY_ID, rsa_keypair.private_pem, now=NOW)
    assert headers["User-Agent"] == "ua" and headers["content-type"] == AS_JSON
    assert "date" not in headers and headers["Date"] == NOW_HTTP


def test_private_key_is_parsed_once(rsa_keypair: KeyPair) -> None:
    signed_post(rsa_keypair)
    misses = load_private_key.cache_info().misses
    for _ in range(5):
        signed_post(rsa_keypair)
    assert load_private_key.cache_info().misses == misses


async def test_post_round_trip(rsa_keypair: KeyPair) -> None:
    headers = signed_post(rsa_keypair)
    resolver = Resolver(record(rsa_keypair.public_pem))
    result = await verify_request("POST", "/users/alice/inbox", headers, BODY, resolver, now=NOW)
    assert result == VerifiedSignature(key_id=KEY_ID, owner=ACTOR, scheme="draft-cavage",
                                       covered=("(request-target)", "host", "date", "digest", "content-type"))
    assert resolver.calls == [(KEY_ID, False)]


async def test_get_round_trip_with_query(rsa_keypair: KeyPair) -> None:
    headers = sign_request("GET", "https://art.example/users/alice/outbox?page=true", {"Accept": AS_JSON},
                           None, KEY_ID, rsa_keypair.private_pem, now=NOW)
    result = await verify_request("GET", "/users/alice/outbox?page=true", headers, b"",
                                  Resolver(record(rsa_keypair.public_pem)), now=NOW)
    assert result.scheme == "draft-cavage" and result.owner == ACTOR


async def test_headers_may_be_any_case_and_a_multidict(rsa_keypair: KeyPair) -> None:
    headers = signed_post(rsa_keypair)
    multi = CIMultiDict((name.upper(), value) for name, value in headers.items())
    multi.add("X-Repeated", "a")
    multi.add("x-repeated", "b")
    await verify_request("POST", "/users/alice/inbox", multi, BODY, Resolver(record(rsa_keypair.public_pem)),
                         now=NOW)


def test_our_signature_verifies_with_httpsig(rsa_keypair: KeyPair) -> None:
    headers = signed_post(rsa_keypair)
    verifier = HeaderVerifier(headers, rsa_keypair.public_pem,
                              required_headers=["(request-target)", "host", "date", "digest"],
                              method="POST", path="/users/alice/inbox", sign_header="signature")
    assert verifier.verify() is True


def test_our_signing_string_is_httpsigs(rsa_keypair: KeyPair) -> None:
    from httpsig.utils import generate_message
    names = ["(request-target)", "host", "date", "digest", "content-type"]
    headers = post_headers()
    lowered = {k.lower(): v for k, v in headers.items()}
    ours = cavage_signing_string(names, "POST", "/users/alice/inbox", lowered)
    assert ours == generate_message(names, headers, method="POST", path="/users/alice/inbox")


@pytest.mark.parametrize("names", [
    ["(request-target)", "host", "date", "digest"],
    ["(request-target)", "host", "date", "digest", "content-type"],
    ["date", "host", "digest", "(request-target)"],  # any order: the listed order is what was signed
])
async def test_httpsig_signed_requests_verify_with_ours(rsa_keypair: KeyPair, names: list[str]) -> None:
    signer = HeaderSigner(KEY_ID, rsa_keypair.private_pem, algorithm="rsa-sha256", headers=names,
                          sign_header="signature")
    headers = signer.sign(post_headers(), method="POST", path="/users/alice/inbox")
    result = await verify_request("POST", "/users/alice/inbox", dict(headers), BODY,
                                  Resolver(record(rsa_keypair.public_pem)), now=NOW)
    assert result.key_id == KEY_ID


async def test_hand_built_signature_verifies(rsa_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "host", "date", "digest"])
    await verify_request("POST", "/users/alice/inbox", headers, BODY,
                         Resolver(record(rsa_keypair.public_pem)), now=NOW)


async def test_lowercase_sha256_digest_from_bovine_is_accepted(rsa_keypair: KeyPair) -> None:
    headers = post_headers(digest=f"sha-256={sha256_b64(BODY)}")
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "host", "date", "digest"])
    await verify_request("POST", "/users/alice/inbox", headers, BODY,
                         Resolver(record(rsa_keypair.public_pem)), now=NOW)


async def test_digest_list_with_sha256_among_others_is_accepted(rsa_keypair: KeyPair) -> None:
    import base64
    import hashlib
    sha512 = base64.b64encode(hashlib.sha512(BODY).digest()).decode()
    headers = post_headers(digest=f"SHA-512={sha512}, SHA-256={sha256_b64(BODY)}")
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "host", "date", "digest"])
    await verify_request("POST", "/users/alice/inbox", headers, BODY,
                         Resolver(record(rsa_keypair.public_pem)), now=NOW)


async def test_ed25519_key_verifies_a_cavage_signature(ed25519_keypair: KeyPair) -> None:
    headers = post_headers()
    headers["Signature"] = hand_cavage(ed25519_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "host", "date", "digest"], algorithm="hs2019")
    result = await verify_request("POST", "/users/alice/inbox", headers, BODY,
                                  Resolver(record(ed25519_keypair.public_pem)), now=NOW)
    assert result.owner == ACTOR


async def test_created_pseudo_header_with_hs2019(rsa_keypair: KeyPair) -> None:
    headers = post_headers()
    del headers["Date"]
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "(created)", "host", "digest"],
                                       algorithm="hs2019", created=int(NOW.timestamp()) - 60)
    await verify_request("POST", "/users/alice/inbox", headers, BODY,
                         Resolver(record(rsa_keypair.public_pem)), now=NOW)
