"""The small parsers behind fetch_json: Retry-After, media types, id comparison."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activitypub.fetch import comparable_url, is_activitystreams_media_type, parse_media_type, parse_retry_after

NOW = datetime(1994, 11, 6, 8, 49, 0, tzinfo=UTC)


@pytest.mark.parametrize(("value", "expected"), [
    ("120", 120.0), (" 0 ", 0.0), ("0042", 42.0),
    ("Sun, 06 Nov 1994 08:49:37 GMT", 37.0),        # IMF-fixdate
    ("Sunday, 06-Nov-94 08:49:37 GMT", 37.0),       # obsolete RFC 850 format
    ("Sun Nov  6 08:49:37 1994", 37.0),             # obsolete asctime format (no zone: GMT)
    ("Sun, 06 Nov 1994 08:00:00 GMT", 0.0),         # in the past: now
    (None, None), ("", None), ("soon", None), ("-5", None), ("1.5", None), ("１２", None),
    ("9" * 40, None), ("Sun, 99 Nov 1994 08:49:37 GMT", None),
])
def test_retry_after(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value, now=NOW) == expected


@given(st.text(max_size=60))
def test_retry_after_never_raises(value: str) -> None:
    result = parse_retry_after(value, now=NOW)
    assert result is None or result >= 0


def test_media_type_parameters() -> None:
    assert parse_media_type('Application/LD+JSON ; Profile="a b" ;charset=utf-8') == (
        "application/ld+json", {"profile": "a b", "charset": "utf-8"})
    assert parse_media_type('text/plain; x="quoted \\" quote"') == ("text/plain", {"x": 'quoted " quote'})
    assert parse_media_type("application/json;") == ("application/json", {})
    for bad in ["", "json", "application/", "/json", "a/b; c", "a/b; c=d; C=e", 'a/b; c="open', "a/b c/d"]:
        assert parse_media_type(bad) is None, bad


@given(st.text(max_size=80))
def test_media_type_parser_never_raises(value: str) -> None:
    parse_media_type(value)
    is_activitystreams_media_type(value)


@pytest.mark.parametrize(("a", "b"), [
    ("https://remote.example/users/a", "HTTPS://REMOTE.EXAMPLE/users/a"),
    ("https://remote.example/users/a", "https://remote.example:443/users/a"),
    ("http://remote.example/users/a", "http://remote.example:80/users/a"),
    ("https://[2001:db8::1]/x", "https://[2001:DB8::1]:443/x"),
])
def test_equivalent_ids(a: str, b: str) -> None:
    assert comparable_url(a) == comparable_url(b) is not None


@pytest.mark.parametrize(("a", "b"), [
    ("https://remote.example/users/a", "https://remote.example/users/A"),
    ("https://remote.example/users/a", "https://remote.example/users/a/"),
    ("https://remote.example/users/a", "https://remote.example/users/%61"),
    ("https://remote.example/users/a", "https://remote.example:8443/users/a"),
    ("https://remote.example/users/a", "http://remote.example/users/a"),
    ("https://remote.example/users/a", "https://remote.example./users/a"),
    ("https://remote.example/users/a", "https://remote.example/users/a#main-key"),
    ("https://remote.example/users/a", "https://remote.example/users/a?"),
    ("https://kremote.example/a", "https://\u212aremote.example/a"),   # KELVIN SIGN never folds to k
    ("https://remote.example:443/users/a", "https://remote.example:80/users/a"),
])
def test_different_ids(a: str, b: str) -> None:
    assert comparable_url(a) != comparable_url(b)


@pytest.mark.parametrize("value", ["remote.example/users/a", "https://", "https://x@remote.example/",
                                   "https://remote.example:port/", "/users/a", ""])
def test_ids_that_never_match(value: str) -> None:
    assert comparable_url(value) is None
