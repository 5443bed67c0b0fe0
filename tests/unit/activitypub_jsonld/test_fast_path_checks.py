"""The fast path's two checks (activitypub/jsonld.py) were rewritten for speed: they must give the verdicts
the plain versions give. The plain versions are kept here as the reference, and compared on thousands of
made-up documents (a fixed seed): colon keys at every depth, keywords, ``@context`` members, long lists."""

from __future__ import annotations

import random
from typing import Any

import pytest

from activitypub import jsonld
from activitypub.jsonld import _has_prefixed_key, needs_processing

AS = "https://www.w3.org/ns/activitystreams"


def reference_prefixed_key(value: Any, depth: int) -> bool:
    """The walk as it was written before it was made fast."""
    if depth > 3:
        return False
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "@context":
                continue
            if ":" in key and not key.startswith("@"):
                return True
            if isinstance(item, (dict, list)) and reference_prefixed_key(item, depth + 1):
                return True
    elif isinstance(value, list):
        for item in value[:32]:
            if isinstance(item, (dict, list)) and reference_prefixed_key(item, depth + 1):
                return True
    return False


def reference_context_verdict(context: Any) -> bool:
    return any(isinstance(entry, dict) and ("@vocab" in entry or any(
        isinstance(v, (str, dict)) and jsonld._maps_into_activitystreams(k, v) for k, v in entry.items()))
        for entry in (context if isinstance(context, list) else [context]))


KEYS = ["type", "id", "content", "as:content", "@id", "@type", "@foo:bar", "@context", "", "schema:value",
        "https://www.w3.org/ns/activitystreams#name", "toot:focalPoint", "name"]


def made_up(rng: random.Random, depth: int) -> Any:
    roll = rng.random()
    if depth > 6 or roll < 0.35:
        return rng.choice(["text", "https://x.example/a:b", 3, None, True])
    if roll < 0.55:  # now and then a list past the 32 items the walk looks at
        size = 40 if depth < 2 and rng.random() < 0.1 else rng.choice([0, 1, 2, 3])
        return [made_up(rng, depth + 1) if i < 34 else {"as:late": 1} for i in range(size)]
    # colon keys rarer than plain ones, so that both verdicts come up often
    keys = rng.sample(KEYS, rng.randint(0, 4)) if rng.random() < 0.3 else rng.sample(
        ["type", "id", "content", "name", "@id", "@type", ""], rng.randint(0, 4))
    return {key: made_up(rng, depth + 1) for key in keys}


def test_the_walk_gives_the_reference_verdict_on_thousands_of_documents() -> None:
    rng = random.Random(20261126)
    verdicts = []
    for _ in range(5000):
        document = made_up(rng, 0)
        expected = reference_prefixed_key(document, 0)
        assert _has_prefixed_key(document, 0) is expected, document
        verdicts.append(expected)
    assert 500 < sum(verdicts) < 4500  # both verdicts were really exercised


@pytest.mark.parametrize("context", [
    AS,
    [AS, "https://w3id.org/security/v1"],
    [AS, {"toot": "http://joinmastodon.org/ns#", "sensitive": "as:sensitive",
          "focalPoint": {"@container": "@list", "@id": "toot:focalPoint"}}],
    [AS, {"body": "as:content"}],
    [AS, {"body": {"@id": "https://www.w3.org/ns/activitystreams#content"}}],
    [AS, {"@vocab": "http://example.org/"}],
    {"@vocab": AS},
    [AS, None, 3],
])
def test_the_kept_context_verdict_is_the_computed_one(context: Any) -> None:
    expected = reference_context_verdict(context)
    document = {"@context": context, "type": "Note", "content": "hi"}

    assert needs_processing(document) is expected
    assert needs_processing(document) is expected  # the second time from what was kept


def test_the_kept_verdicts_stay_bounded() -> None:
    for n in range(jsonld._MAX_KEPT_VERDICTS + 10):
        needs_processing({"@context": [AS, {f"term{n}": "http://example.org/t"}], "type": "Note"})
    assert len(jsonld._context_verdicts) <= jsonld._MAX_KEPT_VERDICTS


def test_a_context_nested_deeper_than_orjson_writes_is_still_judged() -> None:
    deep: Any = "x"
    for _ in range(300):  # orjson reads 1,023 levels but writes 254
        deep = {"a": deep}
    assert needs_processing({"@context": [AS, deep], "type": "Note"}) is False
    assert needs_processing({"@context": [AS, deep, {"@vocab": AS}], "type": "Note"}) is True
