"""Where outgoing requests may connect: the address policy behind the SSRF-safe client (activitypub.fetch).

A remote server chooses every URL we fetch (actor ids, key ids, inboxes, redirects), so a URL must never make
us talk to our own loopback, the cloud metadata service or the private network (security.md item 23). The
rule is decided on IP addresses, after DNS, for every connection: a host name says nothing about where it
points. Allowed means globally reachable unicast; everything else is refused unless an administrator (or a
test) names it in ``NetworkPolicy.allow_nonpublic``.

The policy itself (``is_public_address``, ``NetworkPolicy``) is pure; the rest applies it to URLs
(``checked_url``) and to aiohttp connections (``PolicyResolver``, ``GuardedConnector``, ``make_session``).
"""

from __future__ import annotations

import re
import socket
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address, ip_network
from ssl import SSLContext
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from multidict import CIMultiDict
from yarl import URL

IPAddress = IPv4Address | IPv6Address
IPNetwork = IPv4Network | IPv6Network

DEFAULT_PORTS = {"http": 80, "https": 443}
DEFAULT_USER_AGENT = "cara-fed/0.1 (ActivityPub)"
SESSION_TIMEOUT_SECONDS = 30.0  # for callers using a session directly; fetch_json has its own deadline

# IPv4 special-purpose ranges that are not globally reachable (IANA IPv4 Special-Purpose Address Registry,
# RFC 6890), plus multicast and broadcast. Mastodon's PrivateAddressCheck and GoToSocial's
# internal/httpclient/sanitizer.go refuse the same set; CVE-2026-22245 was a missing entry.
_REFUSED_V4: tuple[IPv4Network, ...] = tuple(IPv4Network(n) for n in (
    "0.0.0.0/8",        # "this network"; connect(0.0.0.0) reaches the local host on Linux (RFC 1122 3.2.1.3)
    "10.0.0.0/8",       # private (RFC 1918)
    "100.64.0.0/10",    # carrier-grade NAT shared space (RFC 6598); CPython says neither global nor private
    "127.0.0.0/8",      # loopback (RFC 1122)
    "169.254.0.0/16",   # link-local, incl. 169.254.169.254 cloud metadata (RFC 3927)
    "172.16.0.0/12",    # private (RFC 1918)
    "192.0.0.0/24",     # IETF protocol assignments, e.g. 192.0.0.8 (RFC 6890); GTS sanitizer_test refuses it
    "192.0.2.0/24",     # TEST-NET-1 documentation (RFC 5737)
    "192.88.99.0/24",   # deprecated 6to4 relay anycast (RFC 7526)
    "192.168.0.0/16",   # private (RFC 1918)
    "198.18.0.0/15",    # benchmarking (RFC 2544)
    "198.51.100.0/24",  # TEST-NET-2 (RFC 5737)
    "203.0.113.0/24",   # TEST-NET-3 (RFC 5737)
    "224.0.0.0/4",      # multicast (RFC 5771)
    "240.0.0.0/4",      # reserved, incl. 255.255.255.255 broadcast (RFC 1112 section 4)
))

# IPv6: only global unicast 2000::/3 can be a fediverse server (GoToSocial's sanitizer allows nothing else),
# minus the special-purpose blocks inside it (IANA IPv6 Special-Purpose Address Registry).
_GLOBAL_UNICAST_V6 = IPv6Network("2000::/3")
_REFUSED_V6: tuple[IPv6Network, ...] = tuple(IPv6Network(n) for n in (
    "2001::/23",        # IETF protocol assignments: Teredo 2001::/32, benchmarking 2001:2::/48, ORCHID
    "2001:db8::/32",    # documentation (RFC 3849)
    "3fff::/20",        # documentation (RFC 9637); CPython 3.11 calls it global
))
# Forms that carry an IPv4 address inside an IPv6 one: judged by the IPv4 address they reach. CPython 3.11
# says 64:ff9b::7f00:1 and 2002:7f00:1:: are global (security.md item 23, verified), hence the explicit ranges.
_NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")      # RFC 6052: IPv4 in the low 32 bits
_SIX_TO_FOUR = IPv6Network("2002::/16")             # RFC 3056: IPv4 in bits 16-47


def is_public_address(ip: IPAddress | str) -> bool:
    """True when ``ip`` is a globally reachable unicast address we may connect to.

    Refused: loopback, private, link-local, CGNAT, "this network", multicast, reserved, documentation and
    benchmarking ranges, ``::`` and ``::1``, fc00::/7, fe80::/10, Teredo, the NAT64 local-use prefix
    64:ff9b:1::/48 (RFC 8215, not globally reachable) and IPv4-mapped / NAT64 / 6to4 forms of any refused
    IPv4 address. Both our explicit lists and CPython's ``is_global`` must agree that it is public.
    """
    if isinstance(ip, str):
        try:
            ip = ip_address(ip)
        except ValueError:
            return False
    if isinstance(ip, IPv6Address):
        embedded = _embedded_ipv4(ip)
        if embedded is not None:
            return _is_public_v4(embedded)
        if ip not in _GLOBAL_UNICAST_V6:
            # ::, ::1, IPv4-compatible ::/96 (deprecated, RFC 4291 2.5.5.1), fc00::/7, fe80::/10, ff00::/8,
            # 64:ff9b:1::/48, discard-only 100::/64, SRv6 5f00::/16 ...: none of them is a remote server.
            return False
        if any(ip in net for net in _REFUSED_V6):
            return False
        return ip.is_global
    return _is_public_v4(ip)


def _is_public_v4(ip: IPv4Address) -> bool:
    return not any(ip in net for net in _REFUSED_V4) and ip.is_global


def _embedded_ipv4(ip: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 address really reaches (mapped ::ffff:a.b.c.d, NAT64, 6to4), else None."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64_WELL_KNOWN:
        return IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip in _SIX_TO_FOUR:
        return ip.sixtofour
    return None


def numeric_host_address(host: str) -> IPAddress | None:
    """The address a numeric host spelling stands for, or None when ``host`` is a name.

    Browsers and libc accept legacy IPv4 forms that ``ipaddress`` rejects: ``2130706433``, ``0x7f.1``,
    ``0177.0.0.1``, ``127.1`` all mean 127.0.0.1 to getaddrinfo (security.md item 23). So ask the OS the
    way it would connect, with AI_NUMERICHOST: no DNS query is made, names fail at once.
    """
    bare = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if ":" not in bare and not _NUMERIC_CHARS.issuperset(bare.lower()):
        return None  # IPv4 spellings (inet_aton) use no other characters: certainly a name
    try:
        return ip_address(bare)
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(bare, None, flags=socket.AI_NUMERICHOST)
    except (OSError, UnicodeError, ValueError):
        return None
    if not infos:
        return None
    return ip_address(infos[0][4][0])


_NUMERIC_CHARS = frozenset("0123456789abcdefx.")


def normalise_host(host: str) -> str:
    """Host names compared case-insensitively (ASCII only: RFC 4343) and without a trailing root dot."""
    return ascii_lower(host.strip().rstrip("."))


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ascii_lower(text: str) -> str:
    # str.lower() would fold non-ASCII too (KELVIN SIGN -> "k"), making distinct hosts compare equal.
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


@dataclass(frozen=True)
class NetworkPolicy:
    """Which destinations outgoing requests may reach.

    ``allow_http_hosts``: hosts that may be fetched over plain http (a set of names, or a predicate on the
    lower-cased host); everything else is https only. ``allow_nonpublic``: networks (``"127.0.0.0/8"``,
    ``"10.1.2.3"``, ``"fd00::/8"``) or host names that are allowed although not public; empty by default,
    meant for tests and for administrators who federate with a host on their own network.
    """

    # Any set may be given; a frozenset is stored (so policies are hashable and compare by value).
    allow_http_hosts: AbstractSet[str] | Callable[[str], bool] = frozenset()
    allow_nonpublic: AbstractSet[str] = frozenset()
    _networks: tuple[IPNetwork, ...] = field(init=False, repr=False, compare=False, default=())
    _hosts: frozenset[str] = field(init=False, repr=False, compare=False, default=frozenset())

    def __post_init__(self) -> None:
        if not callable(self.allow_http_hosts):
            object.__setattr__(self, "allow_http_hosts",
                               frozenset(normalise_host(h) for h in _as_iterable(self.allow_http_hosts)))
        entries = frozenset(_as_iterable(self.allow_nonpublic))
        object.__setattr__(self, "allow_nonpublic", entries)
        networks: list[IPNetwork] = []
        hosts: set[str] = set()
        for entry in entries:
            try:
                networks.append(ip_network(entry.strip(), strict=False))
            except ValueError:
                name = normalise_host(entry)
                if not name or any(c in name for c in "/:@ \t"):
                    raise ValueError(f"allow_nonpublic entry {entry!r} is neither a network nor a host name")
                hosts.add(name)
        object.__setattr__(self, "_networks", tuple(networks))
        object.__setattr__(self, "_hosts", frozenset(hosts))

    def allows_http(self, host: str) -> bool:
        name = normalise_host(host)
        if callable(self.allow_http_hosts):
            return bool(self.allow_http_hosts(name))
        return name in self.allow_http_hosts

    def allows_address(self, ip: IPAddress, host: str | None = None) -> bool:
        """May we connect to ``ip``, reached by resolving ``host`` (None for an address literal)?"""
        if is_public_address(ip):
            return True
        if host is not None and normalise_host(host) in self._hosts:
            return True
        candidates: list[IPAddress] = [ip]
        if isinstance(ip, IPv6Address) and ip.ipv4_mapped is not None:
            candidates.append(ip.ipv4_mapped)
        return any(c.version == net.version and c in net for c in candidates for net in self._networks)


def _as_iterable(value: Iterable[str] | str) -> Iterable[str]:
    # A lone string is one entry, not a set of characters.
    return (value,) if isinstance(value, str) else value


# -- errors raised by the guard (the base of every activitypub.fetch error) ----------------------------

class FetchError(Exception):
    """Any failure of an outgoing request; ``url`` is the URL being requested when it failed."""

    def __init__(self, url: str, message: str) -> None:
        super().__init__(f"{message[:500]} ({url[:300]})")  # both may come from a remote server: bounded
        self.url = url


class InvalidURL(FetchError):
    """Not an absolute http(s) URL we can request unambiguously."""


class BlockedDestination(FetchError):
    """The destination is refused: non-public address, scheme other than http(s), or http not allowed."""


# -- URLs ---------------------------------------------------------------------------------------------------

# RFC 3986 characters only: no spaces, controls, backslashes or non-ASCII. Anything else is parsed
# differently by different parsers (urlsplit drops tabs, WHATWG turns "\" into "/"), and the URL we check
# must be byte for byte the URL we send (it is sent with encoded=True) and the one the id is compared to.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_HOST_CHARS = re.compile(r"[a-z0-9._\-:]+")  # names, dotted quads, IPv6 without zone; no %-escapes


def checked_url(url: str, policy: NetworkPolicy) -> tuple[str, URL]:
    """(the URL without fragment, the yarl URL to send) or InvalidURL / BlockedDestination."""
    if not _URI_CHARS.fullmatch(url):
        raise InvalidURL(url, "not an ASCII URI without spaces")
    url = url.split("#", 1)[0]  # fragments are never sent (RFC 9110 section 7.1)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise InvalidURL(url, str(exc)) from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL(url, "not an absolute URL")
    if scheme not in DEFAULT_PORTS:
        raise BlockedDestination(url, f"scheme {scheme!r} is not allowed")
    host = parts.hostname
    if not host or "@" in parts.netloc or not _HOST_CHARS.fullmatch(host):
        raise InvalidURL(url, "no plain host name or address, or credentials in the URL")
    if scheme == "http" and not policy.allows_http(host):
        raise BlockedDestination(url, "plain http is not allowed for this host")
    literal = numeric_host_address(host)
    if literal is not None:
        if not policy.allows_address(literal):
            raise BlockedDestination(url, f"{host} is the refused address {literal}")
        if ":" not in host and str(literal) != host:
            raise InvalidURL(url, f"non-canonical spelling of {literal}")
    wire = URL(url, encoded=True)
    if not _same_host(wire.raw_host or "", host, literal) or wire.port != (port or DEFAULT_PORTS[scheme]):
        raise InvalidURL(url, "ambiguous host")
    return url, wire


def _same_host(wire_host: str, host: str, literal: IPAddress | None) -> bool:
    # Both parsers must name the same destination, or the one we checked is not the one we connect to.
    if wire_host.lower() == host:
        return True
    if literal is None:
        return False
    try:
        return ip_address(wire_host) == literal
    except ValueError:
        return False


# -- the connection guard ---------------------------------------------------------------------------------

class PolicyResolver(AbstractResolver):
    """Resolves through ``inner`` and keeps only the addresses the policy allows.

    aiohttp connects to exactly the addresses a resolver returns, so filtering here means the checked
    address is the connected one. The connector's DNS cache holds filtered answers only.
    """

    def __init__(self, policy: NetworkPolicy, inner: AbstractResolver | None = None) -> None:
        self._policy = policy
        self._inner = inner
        self._owns_inner = inner is None
        # Non-public addresses allowed only because their host *name* is allow-listed: the socket guard,
        # which sees addresses but no names, must let them through too.
        self._allowed_by_name: set[IPAddress] = set()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        if self._inner is None:
            self._inner = aiohttp.ThreadedResolver()
        answers = await self._inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        for answer in answers:
            try:
                ip = ip_address(answer["host"])
            except ValueError:
                continue
            if self._policy.allows_address(ip, host):
                if not self._policy.allows_address(ip):
                    self._allowed_by_name.add(ip)
                allowed.append(answer)
        if not allowed:
            raise BlockedDestination(host, "resolves only to refused addresses")
        return allowed

    def open_socket(self, addr_info: tuple[Any, ...]) -> socket.socket:
        """aiohttp's socket factory: the last check, on the very address about to be connected.

        Also covers address-literal URLs, for which aiohttp never calls the resolver.
        """
        family, type_, proto, _, sockaddr = addr_info
        try:
            ip = ip_address(sockaddr[0])
        except ValueError:
            raise BlockedDestination(str(sockaddr[0]), "not an IP address") from None
        if not (self._policy.allows_address(ip) or ip in self._allowed_by_name):
            raise BlockedDestination(str(ip), "refused address")
        return socket.socket(family=family, type=type_, proto=proto)

    async def close(self) -> None:
        if self._owns_inner and self._inner is not None:
            await self._inner.close()


class GuardedConnector(aiohttp.TCPConnector):
    """A TCPConnector whose every connection passes the policy; made by ``make_session``."""

    def __init__(self, policy: NetworkPolicy, resolver: PolicyResolver, **kwargs: Any) -> None:
        super().__init__(resolver=resolver, socket_factory=resolver.open_socket, **kwargs)
        self.policy = policy
        self._policy_resolver = resolver

    async def close(self, *, abort_ssl: bool = False) -> None:
        try:
            await super().close(abort_ssl=abort_ssl)
        finally:
            await self._policy_resolver.close()


def make_session(policy: NetworkPolicy, *, inner_resolver: AbstractResolver | None = None,
                 ssl: SSLContext | None = None, user_agent: str = DEFAULT_USER_AGENT, limit: int = 100,
                 limit_per_host: int = 8, use_dns_cache: bool = True, **kwargs: Any) -> aiohttp.ClientSession:
    """The aiohttp session for all outgoing federation traffic.

    ``inner_resolver`` does the DNS (aiohttp's ThreadedResolver, i.e. getaddrinfo, by default; the caller
    keeps ownership of one it passes). ``ssl``: an ``ssl.SSLContext`` (tests trust a throw-away CA), default
    verification when None. ``limit_per_host`` allows several requests in flight per host, not one (issue 3
    point 9). Other keyword arguments go to ``aiohttp.ClientSession``, except those that would bypass the
    guard (a connector, proxies, environment proxies) or the body cap (no decompression).
    """
    for key in ("connector", "trust_env", "proxy", "proxy_auth", "auto_decompress"):
        if key in kwargs:
            raise TypeError(f"make_session does not accept {key!r}: it would bypass the destination checks")
    if ssl is not None and not isinstance(ssl, SSLContext):
        raise TypeError("ssl must be an SSLContext (certificate verification cannot be turned off)")
    resolver = PolicyResolver(policy, inner_resolver)
    connector = GuardedConnector(policy, resolver, ssl=True if ssl is None else ssl, limit=limit,
                                 limit_per_host=limit_per_host, use_dns_cache=use_dns_cache)
    headers = CIMultiDict({"User-Agent": user_agent})
    headers.update(kwargs.pop("headers", None) or {})
    # No cookies: a fetch must not carry state one remote server planted for another request.
    kwargs.setdefault("cookie_jar", aiohttp.DummyCookieJar())
    # Only for callers that use the session directly; fetch_json/post_json enforce their own deadline.
    kwargs.setdefault("timeout", aiohttp.ClientTimeout(total=SESSION_TIMEOUT_SECONDS))
    return aiohttp.ClientSession(connector=connector, headers=headers, trust_env=False, **kwargs)
