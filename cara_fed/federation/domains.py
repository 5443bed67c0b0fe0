"""Domain policy checks used on the way in (inbox) and out (fetch, delivery, media cache).

A domain block (models/domain_blocks.py) covers the domain, its subdomains and every port. Allow-list mode
(the admin setting ``federation.allowlist_mode``, Mastodon's LIMITED_FEDERATION_MODE) refuses every domain
not listed in ``domain_allows`` (again with subdomains) as if it were suspended. Each check is one raw
query: they run on every inbox request and every delivery, where the ORM's overhead was most of the cost
(bench/inbox.py)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from urllib.parse import urlsplit

from cara_fed.db import in_list, raw_rows
from cara_fed.models import DomainBlock

ALLOWLIST_MODE_KEY = "federation.allowlist_mode"  # InstanceSetting key; its value is JSON true or false


def domain_and_parents(host: str) -> list[str]:
    """``a.b.example:8443`` -> [``a.b.example:8443``, ``a.b.example``, ``b.example``, ``example``]: a block
    of a domain covers its subdomains and every port."""
    host = host.lower().rstrip(".")
    name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    labels = name.rstrip(".").split(".")
    candidates = [host] if host != name else []
    candidates += [".".join(labels[i:]) for i in range(len(labels))]
    return candidates


def host_of(value: str) -> str:
    """The host (with port) of a URL, or the value itself when it is a host already."""
    return urlsplit(value).netloc.rsplit("@", 1)[-1] if "://" in value else value


def _candidates(hosts_or_urls: tuple[str | None, ...]) -> list[str]:
    return list(_candidates_of(hosts_or_urls))


@lru_cache(maxsize=4096)  # a pure function of the text; the same few senders and inboxes come again and again
def _candidates_of(hosts_or_urls: tuple[str | None, ...]) -> tuple[str, ...]:
    candidates: list[str] = []
    for value in hosts_or_urls:
        host = host_of(value) if value else ""
        if host:
            candidates += domain_and_parents(host)
    return tuple(dict.fromkeys(candidates))


async def is_suspended(*hosts_or_urls: str | None) -> bool:
    """Whether we refuse any of these hosts (or URLs' hosts): under a suspended domain, or not allowed while
    allow-list mode is on. Nothing is fetched from or delivered to such a host, and its activities are
    dropped. One query."""
    query = suspension_query(*hosts_or_urls)
    return query is not None and bool(await raw_rows(*query))


def suspension_query(*hosts_or_urls: str | None) -> tuple[str, list[object]] | None:
    """The query behind :func:`is_suspended` (``?`` placeholders; a row back means refused), or None when no
    host is given."""
    condition = suspension_condition(*hosts_or_urls)
    return None if condition is None else (f"SELECT 1 AS refused WHERE {condition[0]}", condition[1])


def suspension_condition(*hosts_or_urls: str | None) -> tuple[str, list[object]] | None:
    """The SQL condition (true means refused) of :func:`suspension_query`, with its parameters, to put inside
    another statement: the inbox intake (federation/inbox_intake.py) asks it in its write transaction."""
    unique = _candidates(hosts_or_urls)
    if not unique:
        return None
    marks = in_list(unique)  # type: ignore[arg-type]
    # The setting's JSON is compared as text: 'true' on both backends (SQLite stores JSON as text, and
    # PostgreSQL's jsonb casts to the same spelling).
    return (f"(EXISTS (SELECT 1 FROM domain_blocks WHERE severity = ? AND domain IN ({marks})) "
            "OR (EXISTS (SELECT 1 FROM instance_settings WHERE key = ? AND CAST(value AS TEXT) = 'true') "
            f"AND NOT EXISTS (SELECT 1 FROM domain_allows WHERE domain IN ({marks}))))",
            ["suspend", *unique, ALLOWLIST_MODE_KEY, *unique])


@dataclass(frozen=True)
class DomainPolicy:
    """What applies to one host: the most specific block covering it (a subdomain's own block wins over
    its parent's, as Mastodon's DomainBlock.rule_for), except that a suspended parent is never lifted by a
    milder block of a subdomain (is_suspended refuses the whole tree)."""
    domain: str  # the blocked domain that matched
    severity: str  # suspend | silence | noop
    reject_media: bool
    reject_reports: bool

    @property
    def suspended(self) -> bool:
        return self.severity == "suspend"

    @property
    def silenced(self) -> bool:
        return self.severity == "silence"

    @property
    def media_rejected(self) -> bool:
        return self.reject_media or self.suspended

    @property
    def reports_rejected(self) -> bool:
        return self.reject_reports or self.suspended


async def domain_policy(host_or_url: str | None) -> DomainPolicy | None:
    """The block that applies to this host (or URL's host), or None. One query."""
    candidates = _candidates((host_or_url,))
    if not candidates:
        return None
    rows = await raw_rows(
        f"SELECT domain, severity, reject_media, reject_reports FROM domain_blocks "
        f"WHERE domain IN ({in_list(candidates)})", list(candidates))  # type: ignore[arg-type]
    if not rows:
        return None
    by_domain = {str(row["domain"]): row for row in rows}
    found = [by_domain[c] for c in candidates if c in by_domain]  # most specific first
    best = next((row for row in found if row["severity"] == "suspend"), found[0])
    return DomainPolicy(domain=str(best["domain"]), severity=str(best["severity"]),
                        reject_media=bool(best["reject_media"]), reject_reports=bool(best["reject_reports"]))


async def media_rejected(*hosts_or_urls: str | None) -> bool:
    """Whether media of these hosts (an author's domain, the file's URL) must not be fetched or cached:
    reject_media, suspended, or refused."""
    if await is_suspended(*hosts_or_urls):
        return True
    for value in hosts_or_urls:
        policy = await domain_policy(value)
        if policy is not None and policy.media_rejected:
            return True
    return False


async def new_account_policy(domain: str | None) -> dict[str, datetime]:
    """Fields a newly seen remote account gets from its domain's block: ``silenced_at`` (or
    ``suspended_at``) set to the block's creation time, so that lifting the block lifts exactly what it
    set (Mastodon's ProcessAccountService and UnblockDomainService do the same). Runs once per new account."""
    if not domain:
        return {}
    candidates = domain_and_parents(domain)
    blocks = {b.domain: b for b in await DomainBlock.filter(domain__in=candidates)}
    ordered = [blocks[c] for c in candidates if c in blocks]
    block = next((b for b in ordered if b.severity == "suspend"), None) or (ordered[0] if ordered else None)
    if block is None or block.severity == "noop":
        return {}
    return {"suspended_at" if block.severity == "suspend" else "silenced_at": block.created_at}
