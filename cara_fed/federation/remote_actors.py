"""ActivityStreams actors from other servers -> our ``Account`` rows (DESIGN.md section 5, security.md A).

Parsing is tolerant of shapes (strings or objects or lists) but strict on identity: the document's id is the
URL it was fetched from (activitypub.fetch checks it), the key belongs to the actor and shares its origin,
nothing may claim to be local, and every text field is sanitized or flattened to plain text.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import unescape
from typing import Any
from urllib.parse import urlsplit

import nh3

from cara_fed.sanitize import sanitize_html

ACTOR_TYPES = frozenset({"Person", "Service", "Application", "Group", "Organization"})
MAX_FIELDS = 16  # Mastodon shows 4; GoToSocial allows 16
MAX_SUMMARY_CHARS = 20_000
MAX_NAME_CHARS = 255


class InvalidActor(ValueError):
    """The document is not an actor we can use."""


@dataclass(frozen=True)
class RemoteKey:
    key_id: str
    owner: str
    public_key_pem: str


@lru_cache(maxsize=4096)
def origin(url: str) -> str:
    """scheme://host[:port], lower-cased: the unit of trust (FEP-fe34). Cached: every incoming activity
    compares its actor's origin with its objects' (a pure function of the string)."""
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{(parts.netloc or '').lower()}"


def first_url(value: Any) -> str | None:
    """``url``/``icon``-style values: a string, a Link/Image object, or a list of those."""
    if isinstance(value, str):
        return value if value.startswith(("https://", "http://")) else None
    if isinstance(value, dict):
        return first_url(value.get("href")) or first_url(value.get("url"))
    if isinstance(value, list):
        for item in value:
            found = first_url(item)
            if found:
                return found
    return None


def plain_text(value: Any, limit: int) -> str:
    """Display names and the like: no markup at all (security.md item 31). Entities are decoded for
    display, except into angle brackets: ``&lt;script&gt;`` must not become markup for a careless reader."""
    if not isinstance(value, str):
        return ""
    text = unescape(nh3.clean(value, tags=set())).replace("<", "‹").replace(">", "›")
    return " ".join(text.split())[:limit]


def public_keys(document: dict[str, Any]) -> list[RemoteKey]:
    """Every ``publicKey`` the actor lists whose owner is the actor and whose id shares its origin."""
    actor_id = document.get("id")
    raw = document.get("publicKey")
    keys: list[RemoteKey] = []
    for item in raw if isinstance(raw, list) else [raw]:
        if not isinstance(item, dict):
            continue
        key_id, owner, pem = item.get("id"), item.get("owner", actor_id), item.get("publicKeyPem")
        if (isinstance(key_id, str) and isinstance(pem, str) and owner == actor_id
                and isinstance(actor_id, str) and origin(key_id) == origin(actor_id)):
            keys.append(RemoteKey(key_id=key_id, owner=actor_id, public_key_pem=pem))
    return keys


def ap_to_account_fields(document: dict[str, Any], local_base: str) -> dict[str, Any]:
    """The ``Account`` columns for a remote actor document fetched from its own id."""
    actor_id = document.get("id")
    if not isinstance(actor_id, str) or not actor_id.startswith(("https://", "http://")):
        raise InvalidActor("actor without an http(s) id")
    if origin(actor_id) == origin(local_base):
        raise InvalidActor("a remote document claims to be one of our actors")  # security.md item 9
    actor_type = document.get("type")
    if isinstance(actor_type, list):
        actor_type = next((t for t in actor_type if t in ACTOR_TYPES), None)
    if actor_type not in ACTOR_TYPES:
        raise InvalidActor(f"not an actor type: {str(actor_type)[:40]}")
    inbox = document.get("inbox")
    if not isinstance(inbox, str) or not inbox.startswith(("https://", "http://")):
        raise InvalidActor("actor without an inbox")
    keys = public_keys(document)
    if not keys:
        raise InvalidActor("actor without a usable public key")
    username = document.get("preferredUsername")
    if not isinstance(username, str) or not username.strip() or any(c in username for c in "@/ \t\n"):
        username = urlsplit(actor_id).path.rstrip("/").rsplit("/", 1)[-1] or "unknown"
    endpoints = document.get("endpoints") if isinstance(document.get("endpoints"), dict) else {}
    shared_inbox = endpoints.get("sharedInbox") if isinstance(endpoints.get("sharedInbox"), str) else None
    fields = [
        {"name": plain_text(a.get("name"), 255), "value": sanitize_html(str(a.get("value", "")))[:2048]}
        for a in (document.get("attachment") if isinstance(document.get("attachment"), list) else [])
        if isinstance(a, dict) and a.get("type") == "PropertyValue"
    ][:MAX_FIELDS]
    return {
        "uri": actor_id,
        "username": username[:255],
        "domain": urlsplit(actor_id).netloc.lower(),
        "actor_type": actor_type,
        "display_name": plain_text(document.get("name"), MAX_NAME_CHARS),
        "note": sanitize_html(document.get("summary") if isinstance(document.get("summary"), str) else "")[
            :MAX_SUMMARY_CHARS],
        "url": first_url(document.get("url")) or actor_id,
        "inbox_url": inbox,
        "shared_inbox_url": shared_inbox if shared_inbox and shared_inbox.startswith(("https://", "http://"))
        else None,
        "outbox_url": _url_or_none(document.get("outbox")),
        "followers_url": _url_or_none(document.get("followers")),
        "following_url": _url_or_none(document.get("following")),
        "featured_url": _url_or_none(document.get("featured")),
        "avatar_remote_url": first_url(document.get("icon")),
        "header_remote_url": first_url(document.get("image")),
        "profile_fields": fields,
        "locked": document.get("manuallyApprovesFollowers") is True,
        "discoverable": document.get("discoverable") is True,
        "indexable": document.get("indexable") is True,  # FEP-5feb: missing means false
        "bot": actor_type in ("Service", "Application"),
        "key_id": keys[0].key_id,
        "public_key_pem": keys[0].public_key_pem,
    }


def _url_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value.startswith(("https://", "http://")) else None
