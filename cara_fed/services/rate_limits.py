"""Request rate limits with Mastodon's numbers (security.md F-41): which limits a request counts against,
who the client is, and the counters, shared by every process through ``rate_limit_buckets``.

The table is Mastodon's config/initializers/rack_attack.rb (names kept, so an admin can compare), plus the
per-account families of its app/lib/rate_limiter.rb (statuses, follows, reports), counted here per request.
Windows are fixed and aligned to the epoch, as Rack::Attack's (``now // period``): every process agrees on
when a window ends without asking the others, and ``X-RateLimit-Reset`` is that end.

Clients are told apart by IP (IPv6 by its /64, which one customer usually holds: rotating addresses inside
it must not reset anything), by user and by token. ``X-Forwarded-For`` is believed only from the
configured trusted proxies; the client is then the rightmost address that is not one of them. As in
Mastodon, requests from 127.0.0.1 and ::1 themselves are never limited (its ``allow from localhost``
safelist): the server's own tools and health checks; behind a proxy on the same machine, that proxy must
be listed in ``rate_limits.trusted_proxies`` (web/rate_limits.py logs a warning when it is not).

Counting is one statement per request (an upsert of every bucket the request touches, RETURNING the
counts), cheap on both backends (bench/rate_limits.py); expired buckets are deleted now and then.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from cara_fed.db import raw_rows
from cara_fed.ids import snowflake_id
from cara_fed.models import RateLimitBucket
from cara_fed.services import login_limits
from cara_fed.services.sign_in import find_login


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int  # requests allowed per window
    period: int  # window, seconds


def _limits(*limits: Limit) -> dict[str, Limit]:
    return {limit.name: limit for limit in limits}


# Looked up by name at every request: tests may replace entries (small limits instead of 300 requests).
LIMITS: dict[str, Limit] = _limits(
    Limit("throttle_authenticated_api", 1500, 300),  # per user
    Limit("throttle_per_token_api", 300, 300),
    Limit("throttle_unauthenticated_api", 300, 300),  # per IP
    Limit("throttle_api_media", 30, 1800),  # POST /api/v*/media, per user
    Limit("throttle_api_sign_up", 5, 1800),  # POST /api/v1/accounts, per IP
    Limit("throttle_authenticated_paging", 300, 900),  # page/min_id/max_id/since_id, per user
    Limit("throttle_unauthenticated_paging", 300, 900),  # the same per IP
    Limit("throttle_api_delete", 30, 1800),  # deleting a post or undoing a boost, per user
    Limit("throttle_oauth_application_registrations/ip", 5, 600),  # POST /api/v1/apps (Mastodon 4.2.9)
    Limit("throttle_sign_up_attempts/ip", 25, 300),  # the web sign-up form
    Limit("throttle_password_resets/ip", 25, 300),  # the web password form
    # app/lib/rate_limiter.rb FAMILIES, per account (Mastodon counts created rows; here, requests).
    Limit("rate_limit/statuses", 300, 3 * 3600),
    Limit("rate_limit/follows", 400, 24 * 3600),
    Limit("rate_limit/reports", 400, 24 * 3600),
)
SAFELISTED = frozenset({"127.0.0.1", "::1"})  # Rack::Attack.safelist('allow from localhost')
PAGING_PARAMS = ("page", "min_id", "max_id", "since_id")
KEEP_EXPIRED_MS = 3600 * 1000  # buckets this long past their window are deleted by purge_expired

_MEDIA = re.compile(r"/api/v\d+/media", re.IGNORECASE)
_UNREBLOG = re.compile(r"/api/v1/statuses/\d+/unreblog")
_STATUS = re.compile(r"/api/v1/statuses/\d+")
_REBLOG = re.compile(r"/api/v1/statuses/\d+/reblog")
_FOLLOW = re.compile(r"/api/v1/accounts/\d+/follow")


def now_ms() -> int:
    return time.time_ns() // 1_000_000


# -- who the client is --------------------------------------------------------------------------------------

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(values: Iterable[str]) -> tuple[Network, ...]:
    """``rate_limits.trusted_proxies`` as networks (host names there cannot match a peer address: skipped)."""
    networks: list[Network] = []
    for value in values:
        try:
            networks.append(ipaddress.ip_network(value, strict=False))
        except ValueError:
            continue
    return tuple(networks)


def _address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """An address as proxies write it: ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``,
    ``[2001:db8::1]:443``."""
    text = text.strip().strip('"')
    if text.startswith("["):
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def _trusted(address: ipaddress.IPv4Address | ipaddress.IPv6Address, networks: Sequence[Network]) -> bool:
    return any(address.version == n.version and address in n for n in networks)


def client_ip(peer: str | None, forwarded_for: Sequence[str], networks: Sequence[Network]) -> str:
    """The client's address: the peer, unless the peer is a trusted proxy; then X-Forwarded-For is read
    from the right, skipping trusted proxies, and the first address that is not one is the client. An
    entry that is not an address ends the walk at the last trusted hop (nothing left of it is believed)."""
    current = _address(peer or "")
    if current is None:
        return (peer or "unknown")[:64]
    if not networks or not _trusted(current, networks):
        return str(current)
    hops = [hop for value in forwarded_for for hop in value.split(",") if hop.strip()]
    for hop in reversed(hops):
        address = _address(hop)
        if address is None:
            break
        current = address
        if not _trusted(address, networks):
            break
    return str(current)


def throttle_key(ip: str) -> str:
    """The identity an address is counted under: IPv4 as is, IPv6 by its /64 (Mastodon's
    throttleable_remote_ip, GoToSocial's rate limiter): ``2001:db8:1:2::/64``."""
    address = _address(ip)
    if address is None:
        return ip[:64] or "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def is_safelisted(ip: str) -> bool:
    return ip in SAFELISTED


# -- which limits a request counts against -----------------------------------------------------------------

@dataclass(frozen=True)
class RequestFacts:
    method: str
    path: str
    ip_key: str  # throttle_key of the client
    paging: bool = False  # any of PAGING_PARAMS given
    user_id: int | None = None  # the token's user (None: unauthenticated, app-only tokens included)
    token_id: int | None = None


def request_limits(facts: RequestFacts) -> list[tuple[Limit, str]]:
    """(limit, identity) pairs this request counts against, from Mastodon's table."""
    method, path, user, ip = facts.method.upper(), facts.path, facts.user_id, facts.ip_key
    post = method == "POST"
    api = path.startswith("/api")
    wanted: list[tuple[str, object]] = []
    if api and user is not None:
        wanted.append(("throttle_authenticated_api", f"user:{user}"))
    if api and facts.token_id is not None:
        wanted.append(("throttle_per_token_api", f"token:{facts.token_id}"))
    if api and user is None:
        wanted.append(("throttle_unauthenticated_api", ip))
    if facts.paging:
        wanted.append(("throttle_authenticated_paging", f"user:{user}") if user is not None
                      else ("throttle_unauthenticated_paging", ip))
    if user is not None:
        if post and _MEDIA.fullmatch(path):
            wanted.append(("throttle_api_media", f"user:{user}"))
        if (post and _UNREBLOG.fullmatch(path)) or (method == "DELETE" and _STATUS.fullmatch(path)):
            wanted.append(("throttle_api_delete", f"user:{user}"))
        if post and (path == "/api/v1/statuses" or _REBLOG.fullmatch(path)):
            wanted.append(("rate_limit/statuses", f"user:{user}"))
        if post and _FOLLOW.fullmatch(path):
            wanted.append(("rate_limit/follows", f"user:{user}"))
        if post and path == "/api/v1/reports":
            wanted.append(("rate_limit/reports", f"user:{user}"))
    if post and path == "/api/v1/accounts":
        wanted.append(("throttle_api_sign_up", ip))
    if post and path == "/api/v1/apps":
        wanted.append(("throttle_oauth_application_registrations/ip", ip))
    if post and path.rstrip("/") == "/auth/sign_up":
        wanted.append(("throttle_sign_up_attempts/ip", ip))
    if post and path.rstrip("/") in ("/auth/password", "/auth/change_password"):
        wanted.append(("throttle_password_resets/ip", ip))
    return [(LIMITS[name], str(identity)) for name, identity in wanted if name in LIMITS]


# -- counting ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Hit:
    """A bucket after counting this request."""
    limit: Limit
    count: int
    reset_at_ms: int  # when the window ends

    @property
    def remaining(self) -> int:
        return max(0, self.limit.limit - self.count)

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit.limit


def bucket_key(limit: Limit, identity: str) -> str:
    key = f"{limit.name}:{identity}"
    return key if len(key) <= 255 else f"{limit.name}:{hashlib.sha256(identity.encode()).hexdigest()}"


async def hit(pairs: Sequence[tuple[Limit, str]], *, now: int | None = None) -> list[Hit]:
    """Count one request in each bucket, in ONE statement: a bucket whose window ended starts again at 1.
    Returns the buckets as they now stand (in the order given)."""
    if not pairs:
        return []
    now = now_ms() if now is None else now
    rows: dict[str, tuple[Limit, int]] = {}
    for limit, identity in pairs:
        period_ms = limit.period * 1000
        rows[bucket_key(limit, identity)] = (limit, (now // period_ms + 1) * period_ms)
    dialect = RateLimitBucket._meta.db.capabilities.dialect
    created: object = datetime.now(UTC)
    if dialect != "postgres":
        created = created.isoformat(" ")  # type: ignore[attr-defined]  (how tortoise stores it in SQLite)
    values: list[object] = []
    for key, (_limit, reset_at) in rows.items():
        values += [snowflake_id(), created, key, reset_at]
    if dialect == "postgres":
        # The statement is its own transaction; a counter may lose its last increments in a crash, so
        # its commit need not wait for the WAL flush (synchronous_commit off for this transaction only:
        # without it, the flush was most of the statement's time, bench/rate_limits.py).
        tuples = ", ".join("(?::bigint, ?::timestamptz, ?::varchar, ?::bigint)" for _ in rows)
        source = (f"SELECT v.id, v.created_at, v.key, 1, v.reset_at_ms FROM (VALUES {tuples}) "
                  "AS v(id, created_at, key, reset_at_ms) "
                  "WHERE set_config('synchronous_commit', 'off', true) IS NOT NULL")
    else:
        source = "VALUES " + ", ".join("(?, ?, ?, 1, ?)" for _ in rows)
    # A window that ended has an earlier end than the one this request falls in (windows are aligned).
    answered = await raw_rows(
        f"INSERT INTO rate_limit_buckets (id, created_at, key, count, reset_at_ms) {source} "
        "ON CONFLICT (key) DO UPDATE SET "
        "count = CASE WHEN rate_limit_buckets.reset_at_ms < excluded.reset_at_ms THEN 1 "
        "ELSE rate_limit_buckets.count + 1 END, "
        "reset_at_ms = CASE WHEN rate_limit_buckets.reset_at_ms < excluded.reset_at_ms "
        "THEN excluded.reset_at_ms ELSE rate_limit_buckets.reset_at_ms END "
        "RETURNING key, count, reset_at_ms", values, model=RateLimitBucket)
    counted = {str(row["key"]): (int(row["count"]), int(row["reset_at_ms"]))  # type: ignore[call-overload]
               for row in answered}
    return [Hit(limit=limit, count=counted[key][0], reset_at_ms=counted[key][1])
            for key, (limit, _reset) in rows.items()]


def most_limited(hits: Sequence[Hit]) -> Hit | None:
    """The bucket to tell the client about: an exceeded one if any, else the one with least left
    (Mastodon's RateLimitHeaders#api_throttle_data)."""
    if not hits:
        return None
    exceeded = [h for h in hits if h.exceeded]
    return min(exceeded or hits, key=lambda h: (h.remaining, h.reset_at_ms))


async def purge_expired(*, now: int | None = None) -> int:
    """Delete buckets whose window ended more than an hour ago."""
    now = now_ms() if now is None else now
    return await RateLimitBucket.filter(reset_at_ms__lt=now - KEEP_EXPIRED_MS).delete()


# -- sign-in attempts ---------------------------------------------------------------------------------------

async def login_account_key(login: str) -> str:
    """The per-account identity of a sign-in attempt: the user the login names, else the login itself,
    lower-cased (the same key as web/auth_pages.py, so the web form and the OAuth forms share one budget)."""
    user = await find_login(login)
    return f"user:{user.id}" if user is not None else f"login:{login.strip().lstrip('@').lower()}"


async def login_attempt(ip: str, login: str) -> login_limits.Verdict:
    """Count one sign-in attempt (password grant, OAuth authorize form, web sign-in): Mastodon's
    ``throttle_login_attempts/ip`` (25 per 5 minutes) and ``/email`` (25 per hour), in the buckets the web
    sign-in form uses (services/login_limits.py). The safelisted local addresses are not counted."""
    if is_safelisted(ip):
        return login_limits.Verdict(allowed=True, retry_after=0)
    return await login_limits.login_attempt(throttle_key(ip), await login_account_key(login))
