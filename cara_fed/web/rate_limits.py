"""The request hook of the rate limits (services/rate_limits.py has the table and the counters).

Before each request: who the client is (X-Forwarded-For only from ``rate_limits.trusted_proxies``), the
limits the request counts against, one counting statement, and Mastodon's 429 answer when one is over:
``{"error": "Too many requests"}`` with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining: 0`` and
``X-RateLimit-Reset`` (ISO 8601 with microseconds, as Rack::Attack's throttled_responder), plus
``Retry-After``. After an API request that was counted, the same three headers describe the most limited
bucket (Mastodon's Api::RateLimitHeaders). A failure of the counter itself lets the request through (and
is logged): the limits protect the server, they must not take it down.

``login_limited(login)`` is for the sign-in forms (OAuth password grant and authorize form): it counts one
attempt per address and per account and answers whether to refuse.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
from datetime import UTC, datetime

import orjson
from quart import Quart, Response, current_app, g, request

from cara_fed.api.auth import current_auth
from cara_fed.services import rate_limits
from cara_fed.services.login_limits import Verdict
from cara_fed.settings import Settings
from cara_fed.web.state import app_state

log = logging.getLogger(__name__)

TOO_MANY = "Too many requests"  # Mastodon's errors.429
PURGE_EVERY_MS = 10 * 60 * 1000


class _Process:
    last_purge_ms = 0
    warned_untrusted_proxy = False


def install_rate_limits(app: Quart, settings: Settings) -> None:
    """Register the hooks (nothing when ``rate_limits.enabled`` is off)."""
    if not settings.rate_limits.enabled:
        return
    networks = rate_limits.trusted_networks(settings.rate_limits.trusted_proxies)

    @app.before_request
    async def throttle() -> Response | None:
        if request.method == "OPTIONS":
            return None  # CORS preflights: answered before any limit, as Rack::Cors before Rack::Attack
        ip = _client_ip(networks)
        if rate_limits.is_safelisted(ip):
            _warn_if_proxied(networks)
            return None
        paging = any(request.args.get(name) for name in rate_limits.PAGING_PARAMS)
        user_id = token_id = None
        if request.path.startswith("/api") or paging:
            auth = await current_auth()
            if auth is not None:
                token_id = auth.token_id
                user_id = auth.user.id if auth.user is not None else None
        facts = rate_limits.RequestFacts(method=request.method, path=request.path,
                                         ip_key=rate_limits.throttle_key(ip), paging=paging, user_id=user_id,
                                         token_id=token_id)
        pairs = rate_limits.request_limits(facts)
        if not pairs:
            return None
        try:
            hits = await rate_limits.hit(pairs)
            await _purge_now_and_then()
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the counter failing must not fail the request
            log.warning("rate limit counter failed; request let through", exc_info=True)
            return None
        g.rate_limit_hits = hits
        worst = rate_limits.most_limited(hits)
        if worst is not None and worst.exceeded:
            log.info("rate limited", extra={"limit": worst.limit.name, "path": request.path})
            return too_many_requests(worst)
        return None

    @app.after_request
    async def headers(response: Response) -> Response:
        hits = g.get("rate_limit_hits")
        if hits and request.path.startswith("/api") and "X-RateLimit-Limit" not in response.headers:
            worst = rate_limits.most_limited(hits)
            if worst is not None:
                response.headers.update(_headers(worst))
        return response


def _client_ip(networks: tuple[rate_limits.Network, ...]) -> str:
    cached: str | None = g.get("client_ip")
    if cached is None:
        forwarded = request.headers.getlist("X-Forwarded-For")
        cached = rate_limits.client_ip(request.remote_addr, forwarded, networks)
        g.client_ip = cached
    return cached


def client_ip() -> str:
    """The client's address for this request, as the rate limits see it."""
    settings = app_state(current_app).settings
    return _client_ip(rate_limits.trusted_networks(settings.rate_limits.trusted_proxies))


def _warn_if_proxied(networks: tuple[rate_limits.Network, ...]) -> None:
    """A request from the local machine that names another client came through a local proxy we were
    not told to trust: every client then looks local and nothing is limited. Said once per process."""
    if _Process.warned_untrusted_proxy or not request.headers.get("X-Forwarded-For"):
        return
    peer = rate_limits.client_ip(request.remote_addr, [], ())
    try:
        trusted = any(ipaddress.ip_address(peer) in n for n in networks)
    except ValueError:
        trusted = False
    if not trusted:
        _Process.warned_untrusted_proxy = True
        log.warning("requests arrive through a local proxy that rate_limits.trusted_proxies does not list: "
                    "clients cannot be told apart and are not rate-limited", extra={"proxy": peer})


async def _purge_now_and_then() -> None:
    now = rate_limits.now_ms()
    if now - _Process.last_purge_ms >= PURGE_EVERY_MS:
        _Process.last_purge_ms = now
        await rate_limits.purge_expired(now=now)


def _reset_time(reset_at_ms: int) -> str:
    """``2024-05-01T12:05:00.000000Z``: Ruby's Time#iso8601(6) in UTC, as Mastodon sends it."""
    moment = datetime.fromtimestamp(reset_at_ms / 1000, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond:06d}Z"


def _headers(hit: rate_limits.Hit) -> dict[str, str]:
    return {"X-RateLimit-Limit": str(hit.limit.limit), "X-RateLimit-Remaining": str(hit.remaining),
            "X-RateLimit-Reset": _reset_time(hit.reset_at_ms)}


def too_many_requests(hit: rate_limits.Hit) -> Response:
    response = Response(orjson.dumps({"error": TOO_MANY}), status=429, content_type="application/json")
    response.headers.update(_headers(hit))
    response.headers["X-RateLimit-Remaining"] = "0"
    response.headers["Retry-After"] = str(max(1, -(-(hit.reset_at_ms - rate_limits.now_ms()) // 1000)))
    return response


async def login_limited(login: str) -> Verdict | None:
    """Count one sign-in attempt for ``login`` from this request's client; the refusal (with the seconds
    to wait) when over Mastodon's limits, else None. Nothing is counted when rate limits are off."""
    if not app_state(current_app).settings.rate_limits.enabled:
        return None
    verdict = await rate_limits.login_attempt(client_ip(), login)
    return None if verdict.allowed else verdict


def login_refused(verdict: Verdict, extra_headers: dict[str, str] | None = None) -> Response:
    """The JSON answer to a refused sign-in attempt (the OAuth token endpoint), as Rack::Attack's."""
    response = Response(orjson.dumps({"error": TOO_MANY}), status=429, content_type="application/json")
    response.headers.update(extra_headers or {})
    response.headers["Retry-After"] = str(verdict.retry_after)
    return response
