"""Offline JSON-LD: plain documents untouched, unusual spellings compacted with bundled contexts only."""

from __future__ import annotations

import socket
from typing import Any

import pytest

from activitypub.jsonld import JsonLdError, bundled_contexts, needs_processing, normalize

AS = "https://www.w3.org/ns/activitystreams"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any attempt to reach the network fails the test (nothing may be fetched)."""
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args[:1]}")
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


@pytest.mark.parametrize("document", [
    {"@context": AS, "type": "Note", "content": "hi"},
    {"@context": [AS, "https://w3id.org/security/v1", {"toot": "http://joinmastodon.org/ns#",
                                                       "sensitive": "as:sensitive"}], "type": "Note", "content": "x"},
    {"@context": [AS, "https://w3id.org/security/data-integrity/v1"], "type": "Create",
     "proof": {"type": "DataIntegrityProof", "cryptosuite": "eddsa-jcs-2022", "proofValue": "z..."}},
    {"@context": [AS, "https://w3id.org/security/v1"], "type": "Create",
     "signature": {"type": "RsaSignature2017", "signatureValue": "abc"}},
])
def test_ordinary_documents_take_the_fast_path_untouched(document: dict[str, Any]) -> None:
    assert not needs_processing(document)
    assert normalize(document) is document


def test_compact_iris_and_full_iris_are_compacted_to_plain_terms() -> None:
    document = {"@context": [AS, "https://w3id.org/security/v1"], "id": "https://x.example/n/1", "type": "Note",
                "as:content": "hello", f"{AS}#attributedTo": {"@id": "https://x.example/u"},
                "publicKey": {"id": "https://x.example/u#k", "owner": "https://x.example/u", "publicKeyPem": "PEM"}}
    normalized = normalize(document)
    assert normalized["content"] == "hello" and normalized["attributedTo"] == "https://x.example/u"
    assert normalized["publicKey"]["publicKeyPem"] == "PEM"


def test_a_context_that_renames_activitystreams_terms_is_honoured() -> None:
    document = {"@context": [AS, {"body": "as:content", "author": {"@id": "as:attributedTo", "@type": "@id"}}],
                "id": "https://x.example/n/1", "type": "Note", "body": "hi", "author": "https://x.example/u"}
    normalized = normalize(document)
    assert (normalized["content"], normalized["attributedTo"]) == ("hi", "https://x.example/u")


def test_a_context_that_is_not_bundled_is_never_fetched() -> None:
    document = {"@context": [AS, "http://127.0.0.1:9/ctx"], "id": "https://x.example/n/1", "as:content": "x"}
    with pytest.raises(JsonLdError):
        normalize(document)


def test_the_bundle_covers_the_contexts_peers_send() -> None:
    contexts = bundled_contexts()
    for url in (AS, "https://w3id.org/security/v1", "https://w3id.org/security/data-integrity/v1",
                "https://w3id.org/identity/v1", "https://www.w3.org/ns/did/v1", "https://gotosocial.org/ns"):
        assert url in contexts
