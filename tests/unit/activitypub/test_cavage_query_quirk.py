"""security.md item 17, the "query string omitted" compatibility quirk: a draft-cavage signature whose
``(request-target)`` is "method path" without the query is accepted for a request with a query (Mastodon
app/controllers/concerns/signature_verification.rb since 4.2; older Mastodon and Fedify's draft-cavage signer
sign that form). Everything else about the request line stays bound, the second form never costs a key fetch,
and RFC 9421 gets no such fallback."""

from __future__ import annotations

from typing import Any

import pytest

from activitypub.keys import KeyPair
from activitypub.rfc9421 import sign_request_rfc9421
from activitypub.signatures import (
    BadSignature, InvalidSignature, VerifiedSignature, sign_request, verify_request,
)
from tests.unit.activitypub.helpers import (
    ACTOR, BODY, KEY_ID, NOW, NOW_HTTP, Resolver, hand_cavage, post_headers, record,
)

OUTBOX = "/users/alice/outbox"
GET_NAMES = ["(request-target)", "host", "date"]
CACHED_ONLY = [(KEY_ID, False)]
CACHED_THEN_REFRESH = [(KEY_ID, False), (KEY_ID, True)]


def get_signed(keypair: KeyPair, signed_target: str, *, method: str = "get",
               host: str = "art.example") -> dict[str, str]:
    """A GET's headers with a hand-made signature whose (request-target) is ``method signed_target``."""
    headers = {"Host": host, "Date": NOW_HTTP, "Accept": "application/activity+json"}
    headers["Signature"] = hand_cavage(keypair.private_pem, method, signed_target, headers, GET_NAMES)
    return headers


async def verify(headers: dict[str, str], resolver: Resolver, *, method: str = "GET", path: str,
                 body: bytes = b"", **kwargs: Any) -> VerifiedSignature:
    return await verify_request(method, path, headers, body, resolver, now=NOW, **kwargs)


# -- accepted: the query-less form ---------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["?page=1", "?page=true&min_id=109", "?x", "?a=1?b=2", "?%2F..%2Fadmin"])
async def test_query_less_signature_is_accepted_for_any_query(rsa_keypair: KeyPair, query: str) -> None:
    """The quirk's cost, pinned on purpose: a query-less signature does not bind the query, so the same
    signature verifies whatever query the request carries."""
    resolver = Resolver(record(rsa_keypair.public_pem))
    result = await verify(get_signed(rsa_keypair, OUTBOX), resolver, path=OUTBOX + query)
    assert (result.key_id, result.owner, result.scheme) == (KEY_ID, ACTOR, "draft-cavage")
    assert resolver.calls == CACHED_ONLY  # the second form is tried with the cached key: no refetch


async def test_query_less_signature_without_a_query_is_the_normal_case(rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(rsa_keypair.public_pem))
    await verify(get_signed(rsa_keypair, OUTBOX), resolver, path=OUTBOX)
    assert resolver.calls == CACHED_ONLY


async def test_full_signature_with_the_query_still_verifies(rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(rsa_keypair.public_pem))
    await verify(get_signed(rsa_keypair, OUTBOX + "?page=1"), resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_ONLY


async def test_quirk_applies_to_a_post_with_digest(rsa_keypair: KeyPair) -> None:
    """Mastodon applies it whatever the method; the Digest still binds the body."""
    headers = post_headers()
    headers["Signature"] = hand_cavage(rsa_keypair.private_pem, "POST", "/users/alice/inbox", headers,
                                       ["(request-target)", "host", "date", "digest"])
    resolver = Resolver(record(rsa_keypair.public_pem))
    await verify(headers, resolver, method="POST", path="/users/alice/inbox?x=1", body=BODY)
    assert resolver.calls == CACHED_ONLY
    with pytest.raises(InvalidSignature):
        await verify(headers, Resolver(record(rsa_keypair.public_pem)), method="POST",
                     path="/users/alice/inbox?x=1", body=BODY + b" ")


async def test_our_own_signer_without_a_query_meets_a_request_with_one(rsa_keypair: KeyPair) -> None:
    headers = sign_request("GET", "https://art.example" + OUTBOX, {}, None, KEY_ID, rsa_keypair.private_pem,
                           now=NOW)
    resolver = Resolver(record(rsa_keypair.public_pem))
    await verify(headers, resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_ONLY


# -- still rejected ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [OUTBOX + "?page=2", OUTBOX + "?page=1&x", OUTBOX + "?page=10",
                                  OUTBOX + "?", OUTBOX, OUTBOX + "?page=1?x"])
async def test_signature_over_a_different_query_is_rejected(rsa_keypair: KeyPair, path: str) -> None:
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(get_signed(rsa_keypair, OUTBOX + "?page=1"), resolver, path=path)
    assert resolver.calls == CACHED_THEN_REFRESH  # one lookup, one refetch: both forms, no extra fetch


@pytest.mark.parametrize(("signed_method", "signed_target", "path"), [
    ("get", "/users/mallory/outbox", OUTBOX + "?page=1"),  # another path
    ("get", "/users/alice", OUTBOX + "?page=1"),  # a prefix of the path
    ("get", OUTBOX + "/x", OUTBOX + "?page=1"),  # a longer path
    ("get", OUTBOX, OUTBOX + "/x?page=1"),  # path extended before the query
    ("get", OUTBOX, OUTBOX + "x?page=1"),
    ("post", OUTBOX, OUTBOX + "?page=1"),  # another method
    ("head", OUTBOX, OUTBOX + "?page=1"),
])
async def test_signature_over_another_path_or_method_is_rejected(rsa_keypair: KeyPair, signed_method: str,
                                                                 signed_target: str, path: str) -> None:
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(get_signed(rsa_keypair, signed_target, method=signed_method), resolver, path=path)
    assert resolver.calls == CACHED_THEN_REFRESH


async def test_query_less_signature_for_another_host_is_rejected(rsa_keypair: KeyPair) -> None:
    headers = get_signed(rsa_keypair, OUTBOX, host="other.example")
    headers["Host"] = "art.example"
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(headers, resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_THEN_REFRESH


async def test_wrong_key_costs_one_refetch_not_one_per_form(rsa_keypair: KeyPair,
                                                            other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(get_signed(rsa_keypair, OUTBOX), resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_THEN_REFRESH
    assert resolver.refreshes == 1


# -- the refetch path tries both forms too -------------------------------------------------------------------


async def test_rotated_key_with_the_query_less_form_after_one_refetch(rsa_keypair: KeyPair,
                                                                      other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem), refreshed=record(rsa_keypair.public_pem),
                        use_refreshed=True)
    result = await verify(get_signed(rsa_keypair, OUTBOX), resolver, path=OUTBOX + "?page=1")
    assert result.key_id == KEY_ID
    assert resolver.calls == CACHED_THEN_REFRESH
    assert resolver.refreshes == 1


async def test_rotated_key_with_the_full_form_after_one_refetch(rsa_keypair: KeyPair,
                                                                other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem), refreshed=record(rsa_keypair.public_pem),
                        use_refreshed=True)
    await verify(get_signed(rsa_keypair, OUTBOX + "?page=1"), resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_THEN_REFRESH


async def test_rotated_key_still_rejects_another_path(rsa_keypair: KeyPair,
                                                      other_rsa_keypair: KeyPair) -> None:
    resolver = Resolver(record(other_rsa_keypair.public_pem), refreshed=record(rsa_keypair.public_pem),
                        use_refreshed=True)
    with pytest.raises(BadSignature):
        await verify(get_signed(rsa_keypair, "/users/mallory/outbox"), resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_THEN_REFRESH


# -- RFC 9421 stays strict -----------------------------------------------------------------------------------


async def test_rfc9421_signature_without_the_query_is_rejected_for_a_request_with_one(
        rsa_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("GET", "https://art.example" + OUTBOX, {}, None, KEY_ID,
                                   rsa_keypair.private_pem, now=NOW)
    await verify(headers, Resolver(record(rsa_keypair.public_pem)), path=OUTBOX)
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(BadSignature):
        await verify(headers, resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == CACHED_THEN_REFRESH


async def test_rfc9421_path_only_signature_is_rejected_for_a_request_with_a_query(
        rsa_keypair: KeyPair) -> None:
    headers = sign_request_rfc9421("GET", "https://art.example" + OUTBOX, {}, None, KEY_ID,
                                   rsa_keypair.private_pem, now=NOW,
                                   components=("@method", "@path", "@authority", "date"))
    resolver = Resolver(record(rsa_keypair.public_pem))
    with pytest.raises(InvalidSignature):
        await verify(headers, resolver, path=OUTBOX + "?page=1")
    assert resolver.calls == []  # refused on coverage, before any key lookup
