"""Domain names as the admin types them (or a shared block list spells them): normalised the way accounts
store their domain, so a block matches what federation sees."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from cara_fed.errors import ValidationFailed

# One DNS label (Mastodon's DomainValidator allows underscores too: some servers have them).
_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?")
MAX_DOMAIN = 253


def normalize_domain(value: str) -> str:
    """``Example.COM.``, ``https://example.com/about`` or ``exämple.com`` -> ``example.com`` /
    ``xn--exmple-cua.com`` (lower case, IDNA, no trailing dot, a port kept only when not the default).
    422 for anything that is not a domain name."""
    text = (value or "").strip()
    if "://" in text:
        text = urlsplit(text).netloc.rsplit("@", 1)[-1]
    text = text.strip().lower().rstrip(".")
    host, _, port = text.partition(":")
    if port and (not port.isdigit() or not 0 < int(port) < 65536):
        raise ValidationFailed(f"Validation failed: {value[:100]!r} is not a domain name")
    try:
        host = host.encode("idna").decode("ascii") if not host.isascii() else host
    except UnicodeError:
        raise ValidationFailed(f"Validation failed: {value[:100]!r} is not a domain name") from None
    if not host or len(host) > MAX_DOMAIN or not all(_LABEL.fullmatch(label) for label in host.split(".")):
        raise ValidationFailed(f"Validation failed: {value[:100]!r} is not a domain name")
    return f"{host}:{port}" if port and port != "443" else host
