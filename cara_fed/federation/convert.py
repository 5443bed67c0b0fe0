"""Converters between our rows and ActivityStreams documents, named by direction (DESIGN.md section 7).
Only this package builds ActivityStreams JSON."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from cara_fed.federation.contexts import ACTOR_CONTEXT, X_ROBOTS_TAG
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account


def as_datetime(value: datetime) -> str:
    """xsd:dateTime in UTC with second precision, as Mastodon publishes (``2026-11-26T12:00:00Z``)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def account_to_ap(account: Account, urls: LocalUrls) -> dict[str, Any]:
    """A local account as a ``Person`` (or its own actor type), with every field Mastodon reads."""
    name = account.username
    document: dict[str, Any] = {
        "@context": ACTOR_CONTEXT,
        "id": urls.actor(name),
        "type": account.actor_type,
        "preferredUsername": name,
        "name": account.display_name,
        "summary": account.note,
        "url": urls.profile(name),
        "inbox": urls.inbox(name),
        "outbox": urls.outbox(name),
        "followers": urls.followers(name),
        "following": urls.following(name),
        "featured": urls.featured(name),
        "portfolio": urls.portfolio(name),  # our context term (federation/portfolio.py)
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "publicKey": {"id": urls.key_id(name), "owner": urls.actor(name), "publicKeyPem": account.public_key_pem},
        "manuallyApprovesFollowers": account.locked,
        "discoverable": account.discoverable,
        "indexable": account.indexable,
        "published": as_datetime(account.created_at),
        "attachment": [
            {"type": "PropertyValue", "name": str(f.get("name", "")), "value": str(f.get("value", ""))}
            for f in account.profile_fields if isinstance(f, dict)
        ],
        "tag": [],
        "xRobotsTag": X_ROBOTS_TAG,
    }
    if account.avatar_path:
        document["icon"] = {"type": "Image", "url": urls.media(account.avatar_path)}
    if account.header_path:
        document["image"] = {"type": "Image", "url": urls.media(account.header_path)}
    return document


def instance_actor_to_ap(account: Account, urls: LocalUrls) -> dict[str, Any]:
    """The instance actor (``/actor``, an ``Application``): it signs our fetches and relays' follows."""
    return {
        "@context": ACTOR_CONTEXT,
        "id": urls.instance_actor,
        "type": "Application",
        "preferredUsername": account.username,
        "name": account.display_name or account.username,
        "url": urls.base,
        "inbox": f"{urls.instance_actor}/inbox",
        "outbox": f"{urls.instance_actor}/outbox",
        "endpoints": {"sharedInbox": urls.shared_inbox},
        "publicKey": {"id": urls.instance_key_id, "owner": urls.instance_actor,
                      "publicKeyPem": account.public_key_pem},
        "manuallyApprovesFollowers": True,
        "discoverable": False,
        "indexable": False,
        "published": as_datetime(account.created_at),
        "xRobotsTag": X_ROBOTS_TAG,
    }
