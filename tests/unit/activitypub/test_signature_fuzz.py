"""Property tests: whatever arrives in Signature, Signature-Input, Digest, Content-Digest, Date or Host,
verify_request answers with a VerifiedSignature or a SignatureError, never another exception (a KeyError,
ValueError or AssertionError would be a 500, security.md item 16)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from activitypub.digests import DigestError, check_digest_header
from activitypub.keys import KeyPair, generate_rsa_keypair
from activitypub.rfc9421 import parse_dictionary, sign_request_rfc9421
from activitypub.signatures import (
    MalformedSignature, SignatureError, VerifiedSignature, parse_http_date, parse_signature_params,
    sign_request, verify_request,
)
from tests.unit.activitypub.helpers import BODY, INBOX_URL, KEY_ID, NOW, Resolver, record

PATH = "/users/alice/inbox"
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
SF_ALPHABET = st.sampled_from(list('"\\(),;=:?*- \t@abcsigkeyd0123456789AZ+/.~%\u00e9\x00\n'))
CAVAGE_ALPHABET = st.sampled_from(
    list('"\\,=() \t-keyIdalgorithmheaderssignaturecrd0123456789+/=AZ\u00e9\x00\n'))
KEYPAIR: KeyPair = generate_rsa_keypair()  # module level: hypothesis examples cannot use function fixtures
CAVAGE = sign_request("POST", INBOX_URL, {"Content-Type": "application/activity+json"}, BODY, KEY_ID,
                      KEYPAIR.private_pem, now=NOW)
RFC9421 = sign_request_rfc9421("POST", INBOX_URL, {}, BODY, KEY_ID, KEYPAIR.private_pem, now=NOW)


def outcome(headers: dict[str, str], body: bytes = BODY,
            path: str = PATH) -> VerifiedSignature | SignatureError:
    async def attempt() -> VerifiedSignature | SignatureError:
        resolver = Resolver(record(KEYPAIR.public_pem))
        try:
            return await verify_request("POST", path, headers, body, resolver, now=NOW)
        except SignatureError as exc:  # anything else propagates and fails the test
            assert str(exc), "every refusal carries a reason"
            return exc

    return asyncio.run(attempt())


def mutations(original: str, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """The valid header with a few characters inserted, deleted or replaced: near-misses reach deep."""
    edit = st.tuples(st.sampled_from(["insert", "delete", "replace"]), st.integers(0, len(original)),
                     alphabet)

    def apply(edits: list[tuple[str, int, str]]) -> str:
        text = original
        for kind, at, char in edits:
            at = min(at, len(text))
            if kind == "insert":
                text = text[:at] + char + text[at:]
            elif kind == "delete":
                text = text[:at] + text[at + 1:]
            else:
                text = text[:at] + char + text[at + 1:]
        return text

    return st.lists(edit, min_size=1, max_size=4).map(apply)


cavage_params = st.lists(
    st.tuples(st.sampled_from(["keyId", "keyid", "algorithm", "headers", "signature", "created", "expires",
                               "x"]),
              st.one_of(st.text(CAVAGE_ALPHABET, max_size=30).map(lambda v: f'"{v}"'),
                        st.text(CAVAGE_ALPHABET, max_size=12))),
    max_size=6,
).flatmap(lambda pairs: st.sampled_from([",", ", ", " ,", ",,"]).map(
    lambda sep: sep.join(f"{k}={v}" for k, v in pairs)))


@FUZZ
@given(st.one_of(st.text(max_size=300), mutations(CAVAGE["Signature"], CAVAGE_ALPHABET), cavage_params))
@example('keyId="a",keyId="b"')
@example('keyId="https://remote.example/k",headers="(request-target) host date digest",signature="AAAA"')
def test_any_signature_header(value: str) -> None:
    result = outcome(dict(CAVAGE, Signature=value))
    if isinstance(result, VerifiedSignature):
        assert result.key_id == KEY_ID


@FUZZ
@given(st.text(max_size=300))
def test_signature_param_parser(value: str) -> None:
    try:
        parse_signature_params(value)
    except MalformedSignature:
        pass


sf_dictionary = st.lists(
    st.tuples(st.sampled_from(["sig1", "sig2", "a", "*", "Sig"]),
              st.text(SF_ALPHABET, max_size=40)),
    max_size=4,
).map(lambda members: ", ".join(f"{k}={v}" for k, v in members))


@FUZZ
@given(st.one_of(st.text(max_size=300), mutations(RFC9421["Signature-Input"], SF_ALPHABET), sf_dictionary),
       st.one_of(st.just(RFC9421["Signature"]), mutations(RFC9421["Signature"], SF_ALPHABET), sf_dictionary))
def test_any_signature_input_and_signature(signature_input: str, signature: str) -> None:
    outcome(dict(RFC9421, **{"Signature-Input": signature_input, "Signature": signature}))


@FUZZ
@given(st.text(max_size=300))
@example("a=(1 2);b=?1, c=:AAAA:, d=-1.5, e=tok/en")
def test_structured_field_parser(value: str) -> None:
    try:
        parse_dictionary(value)
    except MalformedSignature:
        pass


@FUZZ
@given(st.sampled_from(["Digest", "Content-Digest", "Date", "Host"]),
       st.one_of(st.text(max_size=120), st.text(SF_ALPHABET, max_size=120)),
       st.sampled_from([CAVAGE, RFC9421]))
def test_any_signed_header_value(name: str, value: str, signed: dict[str, str]) -> None:
    result = outcome(dict(signed, **{name: value}))
    covered = name in signed  # each request carries exactly the headers its signature covers
    assert isinstance(result, SignatureError) or not covered or signed[name] == value.strip(" \t")


@FUZZ
@given(st.text(max_size=60), st.binary(max_size=64))
@example("SHA-256=", b"")
@example("sha-256=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=", b"")
def test_digest_header_parser(value: str, body: bytes) -> None:
    try:
        check_digest_header(value, body)
    except DigestError:
        pass


@FUZZ
@given(st.text(max_size=80))
@example("Wed, 01 May 2024 12:00:00 GMT")
@example("Mon, 31 Dec 99999 23:59:59 GMT")
@example("Thu, 01 Jan 0000 00:00:00 +9999")
def test_date_parser(value: str) -> None:
    try:
        parse_http_date(value)
    except MalformedSignature:
        pass


@FUZZ
@given(st.text(max_size=80), st.binary(max_size=40))
def test_any_path_and_body(path: str, body: bytes) -> None:
    outcome(dict(CAVAGE), body=body, path=path)


@pytest.mark.parametrize("make", [lambda: {1: "x"}, lambda: {"Signature": None}, lambda: {"Signature": b"x"}])
def test_non_text_headers(make: Callable[[], dict[object, object]]) -> None:
    assert isinstance(outcome(make()), MalformedSignature)  # type: ignore[arg-type]
