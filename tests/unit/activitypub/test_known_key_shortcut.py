"""``verify_with_known_key``, the inbox's fast path: with the key at hand it answers exactly what
``verify_request`` answers, and in every case it cannot settle (a failed check, an unknown or rotated key,
a resolver's record for another key) it says None -- never an exception, never a verdict of its own."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from activitypub.keys import KeyPair
from activitypub.rfc9421 import sign_request_rfc9421
from activitypub.signatures import PublicKeyRecord, sign_request, verify_request, verify_with_known_key
from tests.unit.activitypub.helpers import BODY, INBOX_URL, KEY_ID, NOW, Resolver, ago, record

TARGET = "/users/alice/inbox"
CT = {"Content-Type": "application/activity+json"}


def known(*records: PublicKeyRecord) -> Callable[[str], PublicKeyRecord | None]:
    by_id = {r.key_id: r for r in records}
    return by_id.get


@pytest.mark.parametrize("sign", [sign_request, sign_request_rfc9421], ids=["draft-cavage", "rfc9421"])
async def test_with_the_key_at_hand_it_answers_what_verify_request_answers(
        rsa_keypair: KeyPair, sign: Callable[..., dict[str, str]]) -> None:
    headers = sign("POST", INBOX_URL, CT, BODY, KEY_ID, rsa_keypair.private_pem, now=NOW)
    key = record(rsa_keypair.public_pem)

    fast = verify_with_known_key("POST", TARGET, headers, BODY, known(key), now=NOW,
                                 expected_host="art.example")
    full = await verify_request("POST", TARGET, headers, BODY, Resolver(key), now=NOW,
                                expected_host="art.example")

    assert fast is not None
    assert fast == full


def test_every_case_it_cannot_settle_is_none(rsa_keypair: KeyPair, other_rsa_keypair: KeyPair) -> None:
    headers = sign_request("POST", INBOX_URL, CT, BODY, KEY_ID, rsa_keypair.private_pem, now=NOW)
    key = record(rsa_keypair.public_pem)

    def fast(**changes: object) -> object:
        call: dict[str, object] = {"headers": headers, "body": BODY, "known_key": known(key), "now": NOW}
        call.update(changes)
        return verify_with_known_key("POST", TARGET, call["headers"], call["body"],  # type: ignore[arg-type]
                                     call["known_key"], now=call["now"],  # type: ignore[arg-type]
                                     expected_host="art.example")

    assert fast(known_key=known()) is None  # not in memory: the full path fetches it
    # rotated: the full path refetches it
    assert fast(known_key=known(record(other_rsa_keypair.public_pem))) is None
    assert fast(known_key=lambda _key_id: record(rsa_keypair.public_pem, key_id=KEY_ID + "2")) is None
    assert fast(body=BODY + b" ") is None  # the Digest no longer matches
    assert fast(now=ago(hours=-3)) is None  # out of the Date window
    assert fast(headers={**headers, "Signature": "garbage"}) is None
    assert fast(headers={k: v for k, v in headers.items() if k != "Signature"}) is None
