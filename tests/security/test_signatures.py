"""HTTP signatures on the inbox, attacked over real HTTPS (security.md A1, A9-A11, B13-B19, B21).

Every refused request must answer 401 (503 when the key's server is down) and leave no trace: no job, no row,
no delivery. Positive controls show the same machinery gets a well-signed request through, so a refusal is
the check at work and not a broken harness.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from activitypub.keys import generate_rsa_keypair
from activitypub.signatures import sign_request
from cara_fed.models import Account, Status
from tests.security.conftest import (
    BOB, BOB_KEY, EVE, EVE_KEY, LOCAL, MIRA, Site, activity, actor_document, create, forge_signature,
    http_date, note, rsa_sign, sha256_digest, signing_string,
)

STANDARD = ("(request-target)", "host", "date", "digest")


def attack_activity(actor: str = EVE) -> dict[str, Any]:
    """What a forged request carries: a post mentioning Mira (stored, it would leave a status, a mention
    and a notification)."""
    return create(actor, note(actor, '<p><span class="h-card">@mira</span> hi</p>',
                              tag=[{"type": "Mention", "href": MIRA, "name": "@mira@a.example"}]))


def hand_signed(site: Site, raw: bytes, *, names: tuple[str, ...] | None = STANDARD, method: str = "post",
                target: str = "/inbox", key_id: str = EVE_KEY, private_pem: str | None = None,
                signed: dict[str, str] | None = None, sent: dict[str, str | None] | None = None,
                algorithm: str | None = "rsa-sha256", use_hmac: bool = False, created: str | None = None,
                signature: str | None = None, extra: str = "") -> dict[str, str]:
    """A draft-cavage request built field by field: ``signed`` replaces values that are signed and sent,
    ``sent`` replaces (None: removes) what goes on the wire after signing."""
    values = {"host": "a.example", "date": http_date(), "digest": sha256_digest(raw),
              "content-type": "application/activity+json", **(signed or {})}
    message = signing_string(names or ("(created)",), method, target, values, created)
    if signature is None:
        if use_hmac:  # security.md item 16: an HMAC keyed with the actor's *public* PEM
            signature = base64.b64encode(hmac.new(site.eve_keys.public_pem.encode(), message,
                                                  hashlib.sha256).digest()).decode()
        else:
            signature = rsa_sign(private_pem or site.eve_keys.private_pem, message)
    header = forge_signature(key_id=key_id, names=names or (), signature=signature, algorithm=algorithm,
                             extra=extra)
    if names is None:
        header = header.replace(',headers=""', "")
    if created is not None:
        header += f",created={created}"
    headers: dict[str, str | None] = {"Host": values["host"], "Date": values["date"],
                                      "Digest": values["digest"], "Content-Type": values["content-type"],
                                      "Signature": header}
    headers.update(sent or {})
    return {k: v for k, v in headers.items() if v is not None}


def bad_date(delta: timedelta) -> dict[str, str]:
    return {"date": http_date(datetime.now(UTC) + delta)}


FORGERIES: dict[str, dict[str, Any]] = {
    # item 13: required coverage
    "no Signature header": {"sent": {"Signature": None}},
    "digest not in headers=": {"names": ("(request-target)", "host", "date")},
    "host not in headers=": {"names": ("(request-target)", "date", "digest")},
    "neither date nor (created) in headers=": {"names": ("(request-target)", "host", "digest")},
    "(request-target) not in headers=": {"names": ("host", "date", "digest")},
    "no headers= parameter at all": {"names": None},
    # item 14: Digest against the raw body
    "Digest signed but not sent": {"sent": {"Digest": None}},
    "Digest of another body": {"signed": {"digest": sha256_digest(b'{"type":"Note"}')}},
    "SHA-512 digest only": {"signed": {"digest": "SHA-512=" + base64.b64encode(b"\0" * 64).decode()}},
    "Digest not base64": {"signed": {"digest": "SHA-256=not*base64*at*all"}},
    # item 15: Date window
    "Date two hours ago": {"signed": bad_date(-timedelta(hours=2))},
    "Date two hours ahead": {"signed": bad_date(timedelta(hours=2))},
    "Date: wrong date": {"signed": {"date": "wrong date"}},
    # item 16: never trust the algorithm parameter
    "hmac-sha256 keyed with the public PEM": {"algorithm": "hmac-sha256", "use_hmac": True},
    "hs2019 HMAC keyed with the public PEM": {"algorithm": "hs2019", "use_hmac": True},
    "rsa-sha1 named": {"algorithm": "rsa-sha1"},
    "(created) with rsa-sha256": {"names": ("(request-target)", "host", "(created)", "digest"),
                                  "created": str(int(datetime.now(UTC).timestamp()))},
    "signature not base64": {"signature": "%%%not-base64%%%"},
    "duplicate keyId parameter": {"extra": f',keyId="{BOB_KEY}"'},
    "10 kB Signature header": {"extra": ',x="' + "a" * 10_000 + '"'},
    # item 17: request-target and Host exactness
    "signed for another path": {"target": "/users/mira/inbox"},
    "signed for another method": {"method": "put"},
    "signed for another Host, sent to ours": {"signed": {"host": "other.example"},
                                              "sent": {"Host": "a.example"}},
    "signed with a query, sent without": {"target": "/inbox?page=2"},
    # signatures by the wrong key
    "Bob's key under Eve's keyId": {"bob_key": True},
    # item 10: keyIds that could be misread as another host
    "keyId with userinfo": {"key_id": "https://remote.example@other.example/users/bob#main-key"},
    "keyId not http(s)": {"key_id": "acct:eve@remote.example"},
    "keyId with a space": {"key_id": "https://remote.example/users/eve #main-key"},
}


@pytest.mark.parametrize("case", list(FORGERIES), ids=list(FORGERIES))
async def test_a_forged_or_incomplete_signature_gets_401_and_stores_nothing(site: Site, case: str) -> None:
    options = dict(FORGERIES[case])
    if options.pop("bob_key", False):
        options["private_pem"] = site.bob_keys.private_pem
    raw = orjson.dumps(attack_activity())
    before = await site.snapshot()

    status, _ = await site.raw_post(f"{LOCAL}/inbox", raw, hand_signed(site, raw, **options))

    assert status == 401
    await site.drain()
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)
    # security.md item 10: a keyId is never fetched from a host hidden behind userinfo
    assert site.requests_to("https://other.example") == []


POSITIVE = {
    "rsa-sha256": {},
    "hs2019 (GoToSocial)": {"algorithm": "hs2019"},
    "no algorithm parameter": {"algorithm": None},
    "Date 30 minutes ago": {"signed": bad_date(-timedelta(minutes=30))},
    "content-type signed too": {"names": (*STANDARD, "content-type")},
}


@pytest.mark.parametrize("case", list(POSITIVE), ids=list(POSITIVE))
async def test_control_a_well_signed_request_is_accepted(site: Site, case: str) -> None:
    """The harness works: the same hand-built headers, done right, get a post stored."""
    created = attack_activity()
    raw = orjson.dumps(created)
    status, _ = await site.raw_post(f"{LOCAL}/inbox", raw, hand_signed(site, raw, **POSITIVE[case]))
    assert status == 202
    await site.drain()
    assert await site.status(created["object"]["id"]) is not None
    await site.assert_no_failed_jobs()


async def test_a_request_signed_for_another_server_is_refused_when_replayed_here(site: Site) -> None:
    """security.md item 17: a POST Eve signed for other.example (Host: other.example covered by the
    signature), replayed verbatim to a.example."""
    captured = attack_activity()
    raw = orjson.dumps(captured)
    headers = sign_request("POST", "https://other.example/inbox",
                           {"Content-Type": "application/activity+json"}, raw, EVE_KEY,
                           site.eve_keys.private_pem)
    assert headers["Host"] == "other.example"
    before = await site.snapshot()

    status, _ = await site.raw_post(f"{LOCAL}/inbox", raw, headers)

    assert status in (400, 401, 421)
    await site.drain()
    await site.assert_unchanged(before)


# -- item 1 (and 21): the signer must be the actor ---------------------------------------------------------


def ld_signed(activity_: dict[str, Any]) -> dict[str, Any]:
    """An RsaSignature2017 block as a relay would forward it (security.md item 21: never an auth path)."""
    return {**activity_, "signature": {"type": "RsaSignature2017", "creator": BOB_KEY,
                                       "created": "2024-05-01T12:00:00Z", "signatureValue": "AAAA"}}


IMPERSONATIONS = {
    "actor Bob on another host": lambda: attack_activity(BOB),
    "actor on Eve's own host": lambda: attack_activity("https://remote.example/users/zed"),
    "actor is our local user": lambda: attack_activity(MIRA),
    "actor as an object": lambda: {**attack_activity(BOB), "actor": {"id": BOB, "type": "Person"}},
    "actor Bob with a Linked-Data signature": lambda: ld_signed(attack_activity(BOB)),
    "Bob's Delete of himself": lambda: activity("Delete", BOB, BOB),
    "Bob's Follow of Mira": lambda: activity("Follow", BOB, MIRA),
}


@pytest.mark.parametrize("make", list(IMPERSONATIONS.values()), ids=list(IMPERSONATIONS))
@pytest.mark.parametrize("path", ["/inbox", "/users/mira/inbox"])
async def test_a_request_signed_by_eve_for_another_actor_gets_401(site: Site, make: Any, path: str) -> None:
    """security.md item 1: signed with Eve's key, ``actor`` someone else: 401, Bob's profile untouched."""
    before = await site.snapshot()
    status, _ = await site.post(make(), path=path)
    assert status == 401
    await site.drain()
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)


# -- items 9-11: keys that are not the actor's --------------------------------------------------------------


async def test_a_key_id_naming_a_local_user_gets_401(site: Site) -> None:
    """security.md item 9: a keyId on our own host (Mira's) is never taken from the network as remote."""
    before = await site.snapshot()
    status, _ = await site.post(attack_activity(MIRA), key_id=f"{MIRA}#main-key")
    assert status == 401
    await site.drain()
    await site.assert_unchanged(before)


async def test_a_separate_key_document_whose_owner_does_not_list_it_gets_401(site: Site) -> None:
    """security.md item 11: ``/keys/evil`` says ``owner: Eve`` and carries an attacker's key, but Eve's actor
    lists only her own key."""
    intruder = generate_rsa_keypair()
    key_id = "https://remote.example/keys/evil"
    site.fediverse.serve(key_id, {"@context": "https://w3id.org/security/v1", "id": key_id, "type": "Key",
                                  "owner": EVE, "publicKeyPem": intruder.public_pem})
    before = await site.snapshot()
    status, _ = await site.post(attack_activity(EVE), key_id=key_id, private_pem=intruder.private_pem)
    assert status == 401
    await site.drain()
    await site.assert_unchanged(before)
    with site.db():
        eve = await Account.get(uri=EVE)
    assert eve.public_key_pem == site.eve_keys.public_pem and eve.key_id == EVE_KEY


# -- item 18: bounded refetch -------------------------------------------------------------------------------


async def test_twenty_bad_signatures_from_a_known_actor_cost_at_most_one_refetch(site: Site) -> None:
    before = await site.snapshot()
    for _ in range(20):
        status, _ = await site.post(attack_activity(EVE), private_pem=site.bob_keys.private_pem)
        assert status == 401
    await site.drain()
    assert len(site.requests_to(EVE)) <= 1
    await site.assert_unchanged(before)


async def test_twenty_bad_signatures_from_an_unknown_actor_cost_one_fetch_and_at_most_one_refetch(
        site: Site) -> None:
    carol = "https://remote.example/users/carol"
    site.fediverse.serve(carol, actor_document(carol, generate_rsa_keypair().public_pem))
    before = await site.snapshot()
    for _ in range(20):
        status, _ = await site.post(attack_activity(carol), key_id=f"{carol}#main-key",
                                    private_pem=site.eve_keys.private_pem)
        assert status == 401
    await site.drain()
    assert 1 <= len(site.requests_to(carol)) <= 2
    await site.assert_unchanged(before, new_actors=[carol])  # Carol's actor was fetched for her key


async def test_a_key_server_failing_answers_503_and_is_not_hammered(site: Site) -> None:
    """security.md item 18: a transient failure is 503 (the sender retries), not 401, and 20 requests
    cost one fetch."""
    dave = "https://remote.example/users/dave"
    site.fediverse.serve(dave, {"error": "overloaded"}, status=500, content_type="application/json")
    before = await site.snapshot()
    for _ in range(20):
        status, _ = await site.post(attack_activity(dave), key_id=f"{dave}#main-key")
        assert status == 503
    await site.drain()
    assert len(site.requests_to(dave)) == 1
    await site.assert_unchanged(before)


async def test_a_rotated_key_of_a_known_actor_is_refetched_once_and_accepted(site: Site) -> None:
    """security.md item 18 / DESIGN.md section 3: 'one refetch on failure (key rotation)'. Eve is known
    (stored yesterday-fresh); she rotates her key and signs with the new one."""
    rotated = generate_rsa_keypair()
    site.fediverse.serve(EVE, actor_document(EVE, rotated.public_pem))
    created = attack_activity(EVE)
    status, _ = await site.post(created, private_pem=rotated.private_pem)
    assert status == 202
    assert len(site.requests_to(EVE)) == 1
    await site.drain()
    assert await site.status(created["object"]["id"]) is not None


# -- item 19: deleted actors --------------------------------------------------------------------------------


@pytest.mark.parametrize("gone_status", [404, 410])
async def test_the_self_delete_of_an_unknown_gone_actor_is_accepted_and_stores_nothing(
        site: Site, gone_status: int) -> None:
    ghost = "https://gone.example/users/ghost"
    site.fediverse.serve(ghost, {"id": ghost, "type": "Tombstone"}, status=gone_status)
    before = await site.snapshot()
    for _ in range(3):
        status, _ = await site.post(activity("Delete", ghost, ghost), key_id=f"{ghost}#main-key")
        assert status == 202
    await site.drain()
    assert await site.inbox_jobs() == 0
    assert len(site.requests_to(ghost)) == 1  # then remembered as gone: no refetch per request
    await site.assert_unchanged(before)


async def test_other_activities_of_a_gone_actor_get_401(site: Site) -> None:
    ghost = "https://gone.example/users/ghost"
    site.fediverse.serve(ghost, {"id": ghost, "type": "Tombstone"}, status=410)
    before = await site.snapshot()
    status, _ = await site.post(attack_activity(ghost), key_id=f"{ghost}#main-key")
    assert status == 401
    status, _ = await site.post(activity("Delete", ghost, BOB), key_id=f"{ghost}#main-key")
    assert status == 401
    await site.drain()
    await site.assert_unchanged(before)


async def test_a_self_delete_claimed_for_a_known_actor_with_a_gone_key_changes_nothing(site: Site) -> None:
    """Delete{actor: Bob, object: Bob} with a keyId that 404s: answered 202 as a deleted actor's Delete,
    but Bob (known, not deleted) stays."""
    before = await site.snapshot()
    status, _ = await site.post(activity("Delete", BOB, BOB), key_id="https://other.example/users/nobody#key")
    assert status == 202
    await site.drain()
    await site.assert_unchanged(before)


async def test_control_a_known_actor_deleting_itself_removes_its_posts(site: Site) -> None:
    created = attack_activity(BOB)
    assert (await site.post(created, key_id=BOB_KEY))[0] == 202
    await site.drain()
    assert await site.status(created["object"]["id"]) is not None
    assert (await site.post(activity("Delete", BOB, BOB), key_id=BOB_KEY))[0] == 202
    await site.drain()
    with site.db():
        assert not await Account.exists(uri=BOB)
        assert not await Status.exists(uri=created["object"]["id"])
