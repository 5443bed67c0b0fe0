"""Checks for individual setting values (the settings module applies them and names the key).

Each check returns the cleaned value or raises ValueError with a message for the admin.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections.abc import Callable
from urllib.parse import parse_qs, urlsplit


_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _check_domain(value: str) -> str:
    """A bare host with an optional port, as it appears in acct: URIs and actor URLs."""
    if "/" in value or "@" in value:
        raise ValueError("must be a bare host such as art.example or localhost:8000 (no scheme, no path)")
    host, port = split_host_port(value)
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port must be between 1 and 65535")
    if host != host.lower():
        raise ValueError("must be lower case")
    if _is_ip(host.strip("[]")):
        return value
    if not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise ValueError("must be a host name such as art.example or localhost:8000 (no scheme, no path)")
    return value


def _check_bind(value: str) -> str:
    if value.startswith("unix:"):
        if len(value) <= len("unix:"):
            raise ValueError("unix: needs a socket path")
        return value
    host, port = split_host_port(value)
    if port is None or not 0 <= port <= 65535 or not host:
        raise ValueError("must be HOST:PORT, for example 127.0.0.1:8000 or [::1]:8000")
    return value


# libpq's sslmode values, which asyncpg's `ssl` argument takes as they are.
PG_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _check_database_url(value: str) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme == "sqlite":
        if not value[len("sqlite://"):]:
            raise ValueError("sqlite:// needs a file path, for example sqlite://data/cara_fed.sqlite3")
        return value
    if scheme in ("postgres", "postgresql"):
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ValueError("port must be between 1 and 65535") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("must name a host and a database, for example postgres://user@127.0.0.1:5432/cara")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"sslmode"})
        if unknown:
            raise ValueError(f"unsupported parameter {unknown[0]!r} (only sslmode is understood)")
        if "sslmode" in query and query["sslmode"][-1] not in PG_SSLMODES:
            raise ValueError("sslmode must be one of " + ", ".join(PG_SSLMODES))
        # tortoise-orm spells the asyncpg backend "postgres://".
        return "postgres://" + value.split("://", 1)[1]
    raise ValueError("must start with sqlite:// or postgres://")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return url.replace(f":{password}@", ":***@", 1) if password else url


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _positive(value: int | float) -> int | float:
    if not math.isfinite(value) or value <= 0:  # TOML and float() both accept nan and inf
        raise ValueError("must be a finite number greater than 0")
    return value


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return value

    return check


def split_host_port(value: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port`` or a bare host. Raises ValueError on a malformed port."""
    if value.startswith("["):  # [IPv6]:port
        end = value.find("]")
        if end < 0:
            raise ValueError("unclosed [ in IPv6 address")
        host, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError("expected :PORT after ]")
        port_text = rest[1:]
    elif ":" in value:
        host, port_text = value.rsplit(":", 1)
    else:
        return value, None
    if not port_text.isdigit():
        raise ValueError("port must be a number")
    return host, int(port_text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (where plain http is acceptable)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_hosts_and_networks(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            if not all(_HOST_LABEL.match(label) for label in value.lower().split(".")):
                raise ValueError(f"{value!r} is neither a host name nor an IP address or network") from None
    return values
