"""Domain policy checks used on the way in (inbox) and out (fetch, delivery)."""

from __future__ import annotations

from urllib.parse import urlsplit

from cara_fed.models import DomainBlock


def domain_and_parents(host: str) -> list[str]:
    """``a.b.example:8443`` -> [``a.b.example:8443``, ``a.b.example``, ``b.example``, ``example``]: a block
    of a domain covers its subdomains and every port."""
    host = host.lower().rstrip(".")
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    labels = name.split(".")
    candidates = [host] if host != name else []
    candidates += [".".join(labels[i:]) for i in range(len(labels))]
    return candidates


async def is_suspended(*hosts_or_urls: str | None) -> bool:
    """Whether any of the hosts (or URLs' hosts) is under a suspended domain. One raw query: it runs on
    every inbox request, where the ORM's overhead was most of the cost (bench/inbox.py)."""
    candidates: list[str] = []
    for value in hosts_or_urls:
        host = (urlsplit(value).netloc if "://" in value else value) if value else ""
        if host:
            candidates += domain_and_parents(host)
    if not candidates:
        return False
    conn = DomainBlock._meta.db
    unique = list(dict.fromkeys(candidates))
    marks = ", ".join(f"${n}" for n in range(2, len(unique) + 2)) if conn.capabilities.dialect == "postgres" \
        else ", ".join("?" * len(unique))
    first = "$1" if conn.capabilities.dialect == "postgres" else "?"
    rows = await conn.execute_query_dict(
        f"SELECT 1 FROM domain_blocks WHERE severity = {first} AND domain IN ({marks}) LIMIT 1", ["suspend", *unique])
    return bool(rows)
