"""Tolerant reading of ActivityStreams documents: properties may be a string, an object or a list of
either (AS2 Core section 4), and servers use all three. These helpers never raise on shape."""

from __future__ import annotations

from typing import Any

PUBLIC_ADDRESSES = frozenset({"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"})


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def ref(value: Any) -> str | None:
    """The id of a reference: a string, or an object's ``id`` (the first of a list)."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return value["id"]
    return None


def types(value: Any) -> set[str]:
    """The ``type`` of a document as a set (it may be a list)."""
    raw = value.get("type") if isinstance(value, dict) else None
    return {t for t in as_list(raw) if isinstance(t, str)}


def addressed(document: dict[str, Any]) -> set[str]:
    """Everyone in to/cc/bto/bcc/audience."""
    found: set[str] = set()
    for key in ("to", "cc", "bto", "bcc", "audience"):
        found.update(r for r in (ref(v) for v in as_list(document.get(key))) if r)
    return found


def is_public(document: dict[str, Any]) -> bool:
    return bool(addressed(document) & PUBLIC_ADDRESSES)
