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


async def is_suspended(host_or_url: str) -> bool:
    host = urlsplit(host_or_url).netloc if "://" in host_or_url else host_or_url
    if not host:
        return False
    return await DomainBlock.filter(domain__in=domain_and_parents(host), severity="suspend").exists()
