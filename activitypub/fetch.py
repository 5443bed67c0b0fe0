"""The one SSRF-safe outgoing HTTP client: signed GETs of ActivityStreams documents and delivery POSTs.

Every request to a remote server goes through a session from ``make_session`` (security.md section C):
- destinations are checked after DNS, inside the connector, so the address checked is the address connected
  (no DNS-rebinding window; GoToSocial checks in net.Dialer.Control, Mastodon connects to the address it
  checked in app/lib/request.rb); address literals, which aiohttp never resolves, are checked before
  connecting and again when the socket is created;
- redirects are followed by hand, at most 3 (Mastodon ``follow(max_hops: 3)``), each hop re-checked and re-signed;
- bodies are capped after decompression (Mastodon ``ClientLimit#body_with_limit``: 1 MB, inflated bytes);
- one total deadline covers connecting, redirects and slow bodies (CVE-2023-36461: per-read timeouts let a
  server send one byte every few seconds forever);
- fetched documents must carry an ActivityStreams Content-Type (CVE-2024-25623) and an ``id`` equal to the
  final URL (CVE-2024-23832).
The address policy, the URL checks and the session's guard live in activitypub.netpolicy.
"""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urljoin

import aiohttp
import orjson
from multidict import CIMultiDict
from yarl import URL

from activitypub.netpolicy import (
    DEFAULT_PORTS,
    BlockedDestination,
    FetchError,
    GuardedConnector,
    InvalidURL,
    NetworkPolicy,
    PolicyResolver,
    ascii_lower,
    checked_url,
    is_public_address,
    make_session,
)

AS_PROFILE = "https://www.w3.org/ns/activitystreams"
# What Mastodon sends (app/helpers/jsonld_helper.rb) and what every server we federate with understands.
AS_ACCEPT = f'application/activity+json, application/ld+json; profile="{AS_PROFILE}"'
MAX_DOCUMENT_BYTES = 1_048_576
MAX_POST_RESPONSE_BYTES = 65_536
DEADLINE_SECONDS = 30.0  # Mastodon read_deadline 30 s, GoToSocial client Timeout 30 s (security.md item 27)
MAX_REDIRECTS = 3
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

# sign(method, url, headers, body) -> headers to add (Date, Digest, Signature, ...); may be async.
Signer = Callable[[str, str, Mapping[str, str], bytes], Mapping[str, str] | Awaitable[Mapping[str, str]]]


# -- errors (FetchError, InvalidURL and BlockedDestination live in netpolicy: the guard raises them) ---------

class TooManyRedirects(FetchError):
    pass


class Timeout(FetchError):
    """The total deadline passed (connecting, redirects and body included)."""


class TransportError(FetchError):
    """Connection refused or reset, DNS failure, TLS failure, malformed HTTP."""


class HTTPStatusError(FetchError):
    def __init__(self, url: str, status: int, retry_after: float | None) -> None:
        super().__init__(url, f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


class BadContentType(FetchError):
    pass


class TooLarge(FetchError):
    pass


class InvalidDocument(FetchError):
    """The body is not a JSON object."""


class IdMismatch(FetchError):
    """The document's ``id`` is not the URL it was fetched from (after redirects). ``document_id`` is the id
    it gave, when that was an absolute http(s) URL (a caller may fetch it, and believe only its answer)."""

    def __init__(self, url: str, message: str, document_id: str | None = None) -> None:
        super().__init__(url, message)
        self.document_id = document_id


# -- results ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class FetchedDocument:
    url: str                      # final URL, after redirects, without fragment
    status: int
    headers: Mapping[str, str]
    document: dict[str, Any]
    raw_bytes: bytes


@dataclass(frozen=True)
class PostResult:
    status: int
    headers: Mapping[str, str]
    retry_after: float | None     # seconds, from Retry-After (delay-seconds or HTTP-date)
    body: bytes = b""             # at most max_response_bytes of the answer, for diagnostics

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


# -- requests ---------------------------------------------------------------------------------------------

async def fetch_json(session: aiohttp.ClientSession, url: str, *, policy: NetworkPolicy, accept: str = AS_ACCEPT,
                     sign: Signer | None = None, max_bytes: int = MAX_DOCUMENT_BYTES,
                     deadline_seconds: float = DEADLINE_SECONDS, max_redirects: int = MAX_REDIRECTS,
                     require_activitystreams: bool = True, check_id: bool = True) -> FetchedDocument:
    """GET a JSON object (an ActivityStreams document unless ``require_activitystreams`` is False).

    ``session`` must come from ``make_session`` with this same ``policy`` (TypeError / ValueError otherwise).
    ``sign(method, url, headers, body)`` is called for the first request and again for every redirect hop.
    Raises a ``FetchError`` subclass for every refusal and failure; 4xx/5xx raise ``HTTPStatusError``.
    """
    _require_guarded(session, policy)
    with _errors_mapped(url, deadline_seconds):
        async with asyncio.timeout(deadline_seconds):
            async with _final_answer(session, url, policy, accept, sign, max_redirects) as (current, resp):
                if require_activitystreams:
                    _check_content_type(resp, current)
                raw = await _read_capped(resp, current, max_bytes)
                # Inside the exchange: a rejected answer closes its connection rather than pooling it.
                return _document(current, resp.status, resp.headers, raw, check_id)
    raise AssertionError("unreachable")  # _final_answer yields or raises


@dataclass(frozen=True)
class FetchedBytes:
    url: str                      # final URL, after redirects
    status: int
    headers: Mapping[str, str]
    body: bytes


async def fetch_bytes(session: aiohttp.ClientSession, url: str, *, policy: NetworkPolicy, max_bytes: int,
                      accept: str = "*/*", deadline_seconds: float = DEADLINE_SECONDS,
                      max_redirects: int = MAX_REDIRECTS) -> FetchedBytes:
    """GET any body (a remote image to cache), with the same address checks on every redirect hop, the
    same deadline and a byte cap enforced while reading. Raises a ``FetchError`` subclass on failure."""
    _require_guarded(session, policy)
    with _errors_mapped(url, deadline_seconds):
        async with asyncio.timeout(deadline_seconds):
            async with _final_answer(session, url, policy, accept, None, max_redirects) as (current, resp):
                raw = await _read_capped(resp, current, max_bytes)
                return FetchedBytes(url=current, status=resp.status, headers=resp.headers, body=raw)
    raise AssertionError("unreachable")  # _final_answer yields or raises


async def post_json(session: aiohttp.ClientSession, url: str, body: bytes, *, policy: NetworkPolicy,
                    headers: Mapping[str, str], sign: Signer | None = None,
                    deadline_seconds: float = DEADLINE_SECONDS,
                    max_response_bytes: int = MAX_POST_RESPONSE_BYTES) -> PostResult:
    """POST ``body`` (a delivery). Any answer is a result, redirects included (a redirect is not followed:
    Mastodon and GoToSocial count it as a failure). Raises only for refusals, timeouts and transport errors.
    """
    _require_guarded(session, policy)
    request_headers = CIMultiDict(headers)
    request_headers.setdefault("Content-Type", "application/activity+json")
    with _errors_mapped(url, deadline_seconds):
        async with asyncio.timeout(deadline_seconds):
            current, wire = checked_url(url, policy)
            async with _exchange(session, "POST", current, wire, request_headers, body, sign) as resp:
                # Read (a bounded prefix of) the answer so the connection can be kept alive; a longer
                # answer is cut and its connection closed, never buffered.
                answer = bytearray()
                async for chunk in resp.content.iter_any():
                    answer += chunk[: max_response_bytes - len(answer)]
                    if len(answer) >= max_response_bytes:
                        break
                return PostResult(status=resp.status, headers=resp.headers, body=bytes(answer),
                                  retry_after=parse_retry_after(resp.headers.get("Retry-After")))


@asynccontextmanager
async def _final_answer(session: aiohttp.ClientSession, url: str, policy: NetworkPolicy, accept: str,
                        sign: Signer | None, max_redirects: int
                        ) -> AsyncIterator[tuple[str, aiohttp.ClientResponse]]:
    """GET ``url``, following at most ``max_redirects`` redirects (each hop's address checked again and,
    with ``sign``, signed again); yields (final URL, its 2xx answer). Other statuses raise HTTPStatusError."""
    current, wire = checked_url(url, policy)
    for _hop in range(max_redirects + 1):
        async with _exchange(session, "GET", current, wire, {"Accept": accept}, b"", sign) as resp:
            locations = resp.headers.getall("Location", [])
            if resp.status in REDIRECT_STATUSES and len(locations) == 1:
                current, wire = checked_url(urljoin(current, locations[0]), policy)
                continue
            if not 200 <= resp.status < 300:
                raise HTTPStatusError(current, resp.status, parse_retry_after(resp.headers.get("Retry-After")))
            yield current, resp
            return
    raise TooManyRedirects(current, f"more than {max_redirects} redirects")


def _require_guarded(session: aiohttp.ClientSession, policy: NetworkPolicy) -> None:
    connector = session.connector
    if not isinstance(connector, GuardedConnector):
        raise TypeError("outgoing requests need a session from activitypub.fetch.make_session")
    if connector.policy != policy:
        raise ValueError("the policy given differs from the one the session was made with")


@contextmanager
def _errors_mapped(url: str, deadline_seconds: float) -> Iterator[None]:
    """Turns the deadline and aiohttp's errors into FetchError subclasses (ours pass through)."""
    try:
        yield
    except FetchError:
        raise
    except TimeoutError as exc:  # asyncio.timeout's, or aiohttp's own timeouts
        raise Timeout(url, f"no complete answer within {deadline_seconds:g} s") from exc
    except aiohttp.InvalidURL as exc:
        raise InvalidURL(url, str(exc)) from exc
    except (aiohttp.ClientError, OSError) as exc:
        raise TransportError(url, f"{type(exc).__name__}: {str(exc)[:300]}") from exc


@asynccontextmanager
async def _exchange(session: aiohttp.ClientSession, method: str, url: str, wire: URL,
                    headers: Mapping[str, str], body: bytes, sign: Signer | None
                    ) -> AsyncIterator[aiohttp.ClientResponse]:
    """One request, signed when ``sign`` is given; the connection is closed on any error, else released
    (kept alive when the body was read to the end)."""
    request_headers = CIMultiDict(headers)
    if sign is not None:
        signed = sign(method, url, dict(request_headers), body)
        if inspect.isawaitable(signed):
            signed = await signed
        request_headers.update(signed)
    resp = await session.request(method, wire, headers=request_headers, data=body if method != "GET" else None,
                                 allow_redirects=False, raise_for_status=False, timeout=_NO_CLIENT_TIMEOUT)
    try:
        yield resp
    except BaseException:
        resp.close()
        raise
    resp.release()


# Our asyncio.timeout is the only deadline: aiohttp's session default (300 s) must not cut in first.
_NO_CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=None, connect=None, sock_read=None, sock_connect=None)


async def _read_capped(resp: aiohttp.ClientResponse, url: str, max_bytes: int) -> bytes:
    # Content-Length is only a hint (it may lie or be absent, and counts compressed bytes); the cap is
    # enforced on what aiohttp yields after decompression.
    if resp.content_length is not None and resp.content_length > max_bytes:
        raise TooLarge(url, f"Content-Length {resp.content_length} exceeds {max_bytes} bytes")
    body = bytearray()
    async for chunk in resp.content.iter_any():
        body += chunk
        if len(body) > max_bytes:
            raise TooLarge(url, f"body exceeds {max_bytes} bytes")
    return bytes(body)


def _document(url: str, status: int, headers: Mapping[str, str], raw: bytes, check_id: bool) -> FetchedDocument:
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise InvalidDocument(url, f"not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise InvalidDocument(url, "JSON is not an object")
    if check_id:
        doc_id = document.get("id")
        expected = comparable_url(url)
        if not isinstance(doc_id, str) or expected is None or comparable_url(doc_id) != expected:
            usable = doc_id if isinstance(doc_id, str) and comparable_url(doc_id) is not None else None
            raise IdMismatch(url, f"document id {str(doc_id)[:300]!r} is not the URL fetched", usable)
    return FetchedDocument(url=url, status=status, headers=headers, document=document, raw_bytes=raw)


# -- ids, media types, Retry-After -------------------------------------------------------------------------

_ABSOLUTE_URL = re.compile(r"([^:/?#]+)://([^/?#]*)(.*)", re.DOTALL)


def comparable_url(url: str) -> str | None:
    """``url`` with scheme and host case and the default port normalised, nothing else (security.md item 6:
    ids match exactly); None when it has no authority or carries credentials."""
    match = _ABSOLUTE_URL.match(url)
    if match is None:
        return None
    scheme, authority, tail = ascii_lower(match.group(1)), match.group(2), match.group(3)
    if not authority or "@" in authority:
        return None
    host, port = authority, ""
    if authority.startswith("["):
        host, _, after = authority.partition("]")
        host, port = host + "]", after[1:] if after.startswith(":") else after
    elif ":" in authority:
        host, _, port = authority.rpartition(":")
    if port and not (port.isascii() and port.isdigit()):
        return None
    if not port or int(port) == DEFAULT_PORTS.get(scheme):
        port = ""
    host = ascii_lower(host)  # never fold non-ASCII (KELVIN SIGN -> k)
    return f"{scheme}://{host}{':' + str(int(port)) if port else ''}{tail}"


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_MEDIA_TYPE = re.compile(rf"[ \t]*({_TOKEN})/({_TOKEN})[ \t]*")
# Values are tokens or quoted strings (RFC 9110); an unquoted URI (profile=https://...) is not a token but
# Mastodon accepts it (jsonld_helper.rb splits on "=" and deletes quotes), so we do too.
_PARAMETER = re.compile(r';[ \t]*(?:(' + _TOKEN + r')=("(?:[^"\\]|\\.)*"|[^;" \t]+))?[ \t]*')


def parse_media_type(value: str) -> tuple[str, dict[str, str]] | None:
    """``type/subtype`` (lower case) and parameters (names lower case) per RFC 9110 section 8.3.1; None
    when malformed or a parameter is repeated."""
    match = _MEDIA_TYPE.match(value)
    if match is None:
        return None
    params: dict[str, str] = {}
    pos = match.end()
    while pos < len(value):
        param = _PARAMETER.match(value, pos)
        if param is None:
            return None
        pos = param.end()
        if param.group(1) is None:
            continue
        name, raw = param.group(1).lower(), param.group(2)
        if name in params:
            return None
        params[name] = re.sub(r"\\(.)", r"\1", raw[1:-1]) if raw.startswith('"') else raw
    return f"{match.group(1)}/{match.group(2)}".lower(), params


def is_activitystreams_media_type(value: str) -> bool:
    """application/activity+json, or application/ld+json whose profile (a space-separated list, JSON-LD 1.1
    section 9) names ActivityStreams (Mastodon jsonld_helper.rb ``valid_activitypub_content_type?``)."""
    parsed = parse_media_type(value)
    if parsed is None:
        return False
    media_type, params = parsed
    if media_type == "application/activity+json":
        return True
    return media_type == "application/ld+json" and AS_PROFILE in params.get("profile", "").split()


def _check_content_type(resp: aiohttp.ClientResponse, url: str) -> None:
    values = resp.headers.getall("Content-Type", [])
    if len(values) != 1 or not is_activitystreams_media_type(values[0]):
        raise BadContentType(url, f"Content-Type {values[:2]!r} is not ActivityStreams")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a Retry-After value: delay-seconds or an HTTP-date (RFC 9110 section 10.2.3);
    None when absent or unparseable. Dates in the past give 0."""
    if value is None:
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text)) if len(text) <= 15 else None
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)  # asctime dates carry no zone and are GMT (RFC 9110 section 5.6.7)
    delta = (when - (now or datetime.now(UTC))).total_seconds()
    return max(0.0, delta)


__all__ = [
    "AS_ACCEPT", "AS_PROFILE", "BadContentType", "BlockedDestination", "FetchError", "FetchedDocument",
    "GuardedConnector", "HTTPStatusError", "IdMismatch", "InvalidDocument", "InvalidURL", "NetworkPolicy",
    "PolicyResolver", "PostResult", "Signer", "FetchedBytes", "fetch_bytes", "Timeout", "TooLarge", "TooManyRedirects", "TransportError",
    "checked_url", "comparable_url", "fetch_json", "is_activitystreams_media_type", "is_public_address",
    "make_session", "parse_media_type", "parse_retry_after", "post_json",
]
