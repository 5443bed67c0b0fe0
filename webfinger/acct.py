"""``acct:`` URIs (RFC 7565): ``acct:user@host``, also written ``user@host`` or ``@user@host`` by people."""

from __future__ import annotations

import re
from dataclasses import dataclass

# A host as it appears in handles: a DNS name or IPv4 address, optional :port (test and dev instances).
_HOST_RE = re.compile(r"(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?::\d{1,5})?")
# Usernames on other servers are more varied than ours (GoToSocial allows dots, Misskey uppercase...):
# anything but separators and whitespace, bounded.
_USER_RE = re.compile(r"[^\s@/?#:]{1,255}")


class AcctError(ValueError):
    """Not an acct: URI or handle."""


@dataclass(frozen=True)
class Acct:
    username: str
    host: str  # lower-cased, port kept

    def __str__(self) -> str:
        return f"acct:{self.username}@{self.host}"

    @property
    def handle(self) -> str:
        return f"@{self.username}@{self.host}"


def parse_acct(text: str) -> Acct:
    """``acct:user@host`` / ``user@host`` / ``@user@host`` -> Acct. Raises AcctError."""
    value = text.strip()
    if value.lower().startswith("acct:"):
        value = value[5:]
    value = value.removeprefix("@")
    username, sep, host = value.rpartition("@")
    host = host.lower()
    if not sep or not _USER_RE.fullmatch(username) or not _HOST_RE.fullmatch(host):
        raise AcctError(f"not an acct: URI or @user@host handle: {text[:100]!r}")
    port = host.rpartition(":")[2] if ":" in host else None
    if port is not None and not 1 <= int(port) <= 65535:
        raise AcctError(f"port out of range in {text[:100]!r}")
    return Acct(username=username, host=host)
