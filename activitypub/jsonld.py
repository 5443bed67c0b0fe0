"""JSON-LD, offline (DESIGN.md section 5; security.md item 22).

Almost every server sends plain ActivityStreams terms (``content``, ``actor``...) under the ActivityStreams
context plus known extensions: those documents are used as they are, as Mastodon does (the fast path).
Only a document that spells terms differently (compact IRIs such as ``as:content``, full IRIs, or a
context that re-maps terms) is compacted with pyld against the ActivityStreams context, and pyld may load
only the contexts bundled with this package (``contexts.json``, the documents Fedify ships): nothing is
ever fetched. LD signatures and ``DataIntegrityProof``s pass through untouched and unused.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from pyld import jsonld
from pyld.documentloader.frozen import FrozenDocumentLoader

AS_CONTEXT = "https://www.w3.org/ns/activitystreams"
# What a processed document is compacted to: the names the fast path reads (ActivityStreams, publicKey from
# the security vocabulary, and Mastodon's extensions as in app/lib/activitypub/adapter.rb).
COMPACTION_CONTEXT: list[Any] = [AS_CONTEXT, "https://w3id.org/security/v1", {
    "toot": "http://joinmastodon.org/ns#", "schema": "http://schema.org#",
    "manuallyApprovesFollowers": "as:manuallyApprovesFollowers", "sensitive": "as:sensitive",
    "Hashtag": "as:Hashtag", "featured": {"@id": "toot:featured", "@type": "@id"},
    "discoverable": "toot:discoverable", "indexable": "toot:indexable", "blurhash": "toot:blurhash",
    "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"},
    "PropertyValue": "schema:PropertyValue", "value": "schema:value",
}]
_BUNDLE = Path(__file__).with_name("contexts.json")
# Keys a plain-JSON reader may meet that are not ActivityStreams terms spelled differently.
_KEYWORD_PREFIX = "@"


class JsonLdError(ValueError):
    """The document needs JSON-LD processing that cannot be done offline."""


@lru_cache(maxsize=1)
def bundled_contexts() -> dict[str, Any]:
    documents: dict[str, Any] = json.loads(_BUNDLE.read_text(encoding="utf-8"))
    # Servers write these URLs with and without a trailing slash or '#'.
    for url in list(documents):
        documents.setdefault(url.rstrip("/#"), documents[url])
        documents.setdefault(url + ("" if url.endswith("/") else "/"), documents[url])
    return documents


@lru_cache(maxsize=1)
def _loader() -> FrozenDocumentLoader:
    return FrozenDocumentLoader(documents=bundled_contexts())


def needs_processing(document: Any) -> bool:
    """True when a plain-JSON reading could miss terms: a key that is an IRI or compact IRI, or an
    inline context that redefines an ActivityStreams term or sets ``@vocab``. ``document`` is as a JSON
    parser makes it (dicts and lists, not subclasses of them)."""
    if not isinstance(document, dict):
        return False
    context = document.get("@context")
    if context is not None and _context_redefines_terms(context):
        return True
    return _has_prefixed_key(document, depth=0)


def _context_redefines_terms(context: Any) -> bool:
    """A server sends the same ``@context`` with every activity: its verdict is kept, keyed by the
    context's JSON text, which costs a fifth of working the verdict out again (callgrind: ~6K instructions
    against ~29K for Mastodon's context)."""
    try:
        key = orjson.dumps(context)
    except orjson.JSONEncodeError:  # nested deeper than orjson writes (254 levels): worked out, not kept
        return _computed_verdict(context)
    verdict = _context_verdicts.get(key)
    if verdict is None:
        if len(_context_verdicts) >= _MAX_KEPT_VERDICTS:
            _context_verdicts.clear()  # made-up contexts by the thousand cost recomputation, not memory
        verdict = _context_verdicts[key] = _computed_verdict(context)
    return verdict


def _computed_verdict(context: Any) -> bool:
    return any(isinstance(entry, dict) and ("@vocab" in entry or any(
        isinstance(v, (str, dict)) and _maps_into_activitystreams(k, v) for k, v in entry.items()))
        for entry in (context if isinstance(context, list) else [context]))


_MAX_KEPT_VERDICTS = 1024
_context_verdicts: dict[bytes, bool] = {}


def _maps_into_activitystreams(term: str, definition: Any) -> bool:
    """A context entry that renames an AS property (``"body": "as:content"``)."""
    iri = definition.get("@id") if isinstance(definition, dict) else definition
    return isinstance(iri, str) and _renames_as_term(term, iri)


@lru_cache(maxsize=4096)  # servers send the same few context entries with every activity
def _renames_as_term(term: str, iri: str) -> bool:
    local = iri.rsplit("#", 1)[-1].rsplit(":", 1)[-1]
    is_as = iri.startswith(("as:", AS_CONTEXT + "#"))
    return is_as and local != term


def _has_prefixed_key(value: Any, depth: int) -> bool:
    """A key with a colon (an IRI or compact IRI), not a keyword, in the first four levels, ``@context``
    left out. It walks every incoming activity: a mapping's keys are searched for a colon all at once
    (and one by one only when there is one), and containers are told by their exact type (callgrind, a
    Mastodon Create: ~52K instructions, against ~78K with a key-by-key loop and isinstance)."""
    if isinstance(value, dict):
        if ":" in "".join(value):
            for key in value:
                if ":" in key and key[0] != _KEYWORD_PREFIX:
                    return True
        if depth < 3:
            for key, item in value.items():
                kind = type(item)
                if (kind is dict or kind is list) and key != "@context" \
                        and _has_prefixed_key(item, depth + 1):
                    return True
    elif isinstance(value, list) and depth < 3:
        for item in value[:32]:
            kind = type(item)
            if (kind is dict or kind is list) and _has_prefixed_key(item, depth + 1):
                return True
    return False


def normalize(document: dict[str, Any]) -> dict[str, Any]:
    """The document with ActivityStreams terms under their usual names. Raises JsonLdError when it
    needs a context that is not bundled (never fetched) or cannot be processed."""
    if not needs_processing(document):
        return document
    try:
        compacted = jsonld.compact(document, {"@context": COMPACTION_CONTEXT},
                                   options={"documentLoader": _loader()})
    except jsonld.JsonLdError as exc:
        raise JsonLdError(f"JSON-LD processing failed offline: {str(exc).splitlines()[0][:200]}") from None
    if not isinstance(compacted, dict):
        raise JsonLdError("JSON-LD processing did not give an object")
    return compacted
