"""The consent form's anti-forgery token, and the words the form uses for scopes.

The authorize page must work in an in-app, often ephemeral, browser (Tusky's WebView, the iOS apps'
sessions: shared/reference/mastodon-api.md section 1), so the token needs no cookie: it is
``<unix time>.<HMAC-SHA256>`` over the hidden fields of the form (client, redirect URI, scopes, state,
PKCE challenge) and that time, keyed by services.oauth.form_signing_key. A form whose hidden fields were
changed, or that is older than an hour, is refused; the request is checked again as a whole on submit."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

from cara_fed.services.oauth import FORM_FIELDS

FORM_MAX_AGE = 3600  # seconds a consent form stays valid (time to find a password manager)
_CLOCK_SKEW = 60


def _mac(key: bytes, fields: dict[str, str], issued: int) -> str:
    # JSON of [name, value] pairs: unambiguous whatever the values contain.
    payload = orjson.dumps([[name, fields.get(name, "")] for name in FORM_FIELDS] + [issued])
    return base64.urlsafe_b64encode(hmac.new(key, payload, hashlib.sha256).digest()).rstrip(b"=").decode()


def sign_form(key: bytes, fields: dict[str, str], now: int) -> str:
    return f"{now}.{_mac(key, fields, now)}"


def verify_form(key: bytes, fields: dict[str, str], token: str | None, now: int) -> bool:
    if not token or len(token) > 128:
        return False
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or len(issued_text) > 12:
        return False
    issued = int(issued_text)
    if not now - FORM_MAX_AGE <= issued <= now + _CLOCK_SKEW:
        return False
    return hmac.compare_digest(mac.encode(), _mac(key, fields, issued).encode())


_TOP = {
    "read": "Read everything in your account",
    "write": "Post, edit and delete, and change your account",
    "follow": "Follow, block and mute accounts",
    "push": "Receive push notifications",
    "profile": "Read your profile only",
    "admin:read": "Read moderation data of the whole server",
    "admin:write": "Moderate the whole server",
}


def describe_scope(scope: str) -> str:
    """A short sentence for the consent page."""
    if scope in _TOP:
        return _TOP[scope]
    parts = scope.split(":")
    thing = parts[-1].replace("_", " ")
    if parts[0] == "admin":
        return f"{'Read' if parts[1] == 'read' else 'Change'} the server's {thing} (moderation)"
    return f"{'Read' if parts[0] == 'read' else 'Change'} your {thing}"
