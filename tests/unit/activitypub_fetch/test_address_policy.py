"""The address policy (security.md item 23): which IP addresses outgoing requests may connect to."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

import pytest
from hypothesis import given
from hypothesis import strategies as st

from activitypub.netpolicy import (
    BlockedDestination,
    InvalidURL,
    NetworkPolicy,
    checked_url,
    is_public_address,
    numeric_host_address,
)

REFUSED = [
    # IPv4
    "0.0.0.0", "0.1.2.3", "10.0.0.1", "10.255.255.255", "100.64.0.1", "100.127.255.254", "127.0.0.1",
    "127.255.255.254", "169.254.169.254", "169.254.0.1", "172.16.0.1", "172.31.255.255", "192.0.0.8",
    "192.0.0.170", "192.0.0.171", "192.0.2.1", "192.88.99.1", "192.168.1.1", "198.18.0.1", "198.19.255.255",
    "198.51.100.7", "203.0.113.9", "224.0.0.1", "239.255.255.250", "240.0.0.1", "255.255.255.255",
    # IPv6
    "::", "::1", "::7f00:1", "fc00::1", "fd12:3456::1", "fe80::1", "fec0::1", "ff02::1", "100::1",
    "2001::1", "2001:0:4136:e378:8000:63bf:3fff:fdd2",       # Teredo
    "2001:2::1", "2001:db8::1", "3fff::1", "5f00::1", "64:ff9b:1::a00:1", "64:ff9b:1::5db8:d822",
    # IPv4-mapped, NAT64 and 6to4 forms of refused IPv4 addresses
    "::ffff:127.0.0.1", "::ffff:169.254.169.254", "::ffff:10.0.0.1", "::ffff:0.0.0.0", "::ffff:100.64.0.1",
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b::a00:1", "2002:7f00:1::", "2002:a9fe:a9fe::1",
    "2002:c0a8:101::", "2002:0:0::1",
]

PUBLIC = [
    "93.184.216.34", "1.1.1.1", "8.8.8.8", "100.63.255.255", "100.128.0.0", "172.32.0.1", "198.20.0.1",
    "2606:2800:220:1:248:1893:25c8:1946", "2a00:1450:4001:82a::200e",
    "::ffff:93.184.216.34", "64:ff9b::5db8:d822", "2002:5db8:d822::1",
]


@pytest.mark.parametrize("address", REFUSED)
def test_refused_addresses(address: str) -> None:
    assert not is_public_address(ip_address(address))
    assert not is_public_address(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses(address: str) -> None:
    assert is_public_address(ip_address(address))


def test_cpython_calls_some_of_them_global_which_is_why_we_list_ranges() -> None:
    # security.md item 23 [verified]: the reason is_global alone is not enough.
    assert ip_address("64:ff9b::7f00:1").is_global and ip_address("2002:7f00:1::").is_global
    assert not is_public_address("64:ff9b::7f00:1") and not is_public_address("2002:7f00:1::")


def test_garbage_is_not_public() -> None:
    assert not is_public_address("not an address")
    assert not is_public_address("")


# -- properties -------------------------------------------------------------------------------------------

REFUSED_V4_NETWORKS = [IPv4Network(n) for n in (
    "0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12",
    "192.0.0.0/24", "192.0.2.0/24", "192.168.0.0/16", "198.18.0.0/15", "198.51.100.0/24", "203.0.113.0/24",
    "224.0.0.0/4", "240.0.0.0/4")]
REFUSED_V6_NETWORKS = [IPv6Network(n) for n in (
    "::/96", "fc00::/7", "fe80::/10", "ff00::/8", "2001::/32", "2001:db8::/32", "64:ff9b:1::/48")]


@st.composite
def v4_in(draw: st.DrawFn, networks: list[IPv4Network]) -> IPv4Address:
    net = draw(st.sampled_from(networks))
    return IPv4Address(int(net.network_address) + draw(st.integers(0, net.num_addresses - 1)))


@st.composite
def v6_in(draw: st.DrawFn, networks: list[IPv6Network]) -> IPv6Address:
    net = draw(st.sampled_from(networks))
    return IPv6Address(int(net.network_address) + draw(st.integers(0, net.num_addresses - 1)))


def mapped(v4: IPv4Address) -> IPv6Address:
    return IPv6Address((0xFFFF << 32) | int(v4))


def nat64(v4: IPv4Address) -> IPv6Address:
    return IPv6Address(int(IPv6Address("64:ff9b::")) | int(v4))


def six_to_four(v4: IPv4Address, suffix: int) -> IPv6Address:
    return IPv6Address((0x2002 << 112) | (int(v4) << 80) | suffix)


@given(v4_in(REFUSED_V4_NETWORKS), st.integers(0, 2**80 - 1))
def test_refused_ipv4_is_refused_in_every_spelling(v4: IPv4Address, suffix: int) -> None:
    for form in (v4, mapped(v4), nat64(v4), six_to_four(v4, suffix)):
        assert not is_public_address(form), form


@given(v6_in(REFUSED_V6_NETWORKS))
def test_refused_ipv6_networks(v6: IPv6Address) -> None:
    assert not is_public_address(v6)


@given(st.integers(0, 2**32 - 1), st.integers(0, 2**80 - 1))
def test_embedded_forms_judged_by_the_ipv4_address_they_reach(value: int, suffix: int) -> None:
    v4 = IPv4Address(value)
    verdict = is_public_address(v4)
    assert is_public_address(mapped(v4)) == verdict
    assert is_public_address(nat64(v4)) == verdict
    assert is_public_address(six_to_four(v4, suffix)) == verdict
    if verdict:  # never more permissive than CPython
        assert v4.is_global


@given(st.integers(0, 2**128 - 1))
def test_ipv6_outside_global_unicast_is_refused(value: int) -> None:
    address = IPv6Address(value)
    if is_public_address(address):
        assert address in IPv6Network("2000::/3") or address in IPv6Network("64:ff9b::/96") \
            or address.ipv4_mapped is not None


# -- numeric spellings ------------------------------------------------------------------------------------

@pytest.mark.parametrize("spelling", ["2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001",
                                      "017700000001", "0x7f.0.0.0x1", "127.0.0.1", "[::1]", "[::ffff:7f00:1]"])
def test_numeric_spellings_resolve_like_the_os(spelling: str) -> None:
    address = numeric_host_address(spelling)
    assert address is not None and not is_public_address(address)
    assert address in (IPv4Address("127.0.0.1"), IPv6Address("::1"), IPv6Address("::ffff:127.0.0.1"))


@pytest.mark.parametrize("name", ["remote.example", "localhost", "1e1", "127.0.0.1.example"])
def test_names_are_not_numeric(name: str) -> None:
    assert numeric_host_address(name) is None


# -- NetworkPolicy ----------------------------------------------------------------------------------------

def test_allow_list_networks_and_names() -> None:
    policy = NetworkPolicy(allow_nonpublic={"127.0.0.0/8", "10.1.2.3", "Internal.Example."})
    assert policy.allows_address(ip_address("127.0.0.5"))
    assert policy.allows_address(ip_address("::ffff:127.0.0.5"))
    assert policy.allows_address(ip_address("10.1.2.3"))
    assert not policy.allows_address(ip_address("10.1.2.4"))
    assert policy.allows_address(ip_address("10.9.9.9"), "internal.example")
    assert not policy.allows_address(ip_address("10.9.9.9"), "other.example")
    assert policy.allows_address(ip_address("93.184.216.34"))


def test_default_policy_refuses_every_non_public_address() -> None:
    policy = NetworkPolicy()
    assert all(not policy.allows_address(ip_address(a), "remote.example") for a in REFUSED)


def test_allow_list_entries_must_be_networks_or_names() -> None:
    with pytest.raises(ValueError):
        NetworkPolicy(allow_nonpublic={"http://x/"})


def test_http_hosts_as_set_or_predicate() -> None:
    assert NetworkPolicy(allow_http_hosts={"A.example"}).allows_http("a.example")
    assert not NetworkPolicy(allow_http_hosts={"a.example"}).allows_http("b.example")
    assert NetworkPolicy(allow_http_hosts=lambda host: host.endswith(".test")).allows_http("X.test")
    assert not NetworkPolicy().allows_http("a.example")


def test_a_lone_string_is_one_entry() -> None:
    assert NetworkPolicy(allow_nonpublic="127.0.0.1").allows_address(ip_address("127.0.0.1"))  # type: ignore[arg-type]


# -- URL checks before connecting -------------------------------------------------------------------------

OPEN = NetworkPolicy(allow_http_hosts=lambda host: True)


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0x7f.1/", "http://0177.0.0.1/", "http://127.1/", "https://127.0.0.1/",
    "https://[::1]/", "https://[::ffff:127.0.0.1]/", "https://[64:ff9b::7f00:1]/", "https://[2002:7f00:1::]/",
    "https://169.254.169.254/latest/meta-data/", "https://0.0.0.0/", "https://[::]/", "https://100.64.0.1/",
    "file:///etc/passwd", "gopher://remote.example/", "ftp://remote.example/", "data:,hello",
    "http://remote.example/",  # plain http not allowed for this host
])
def test_refused_urls(url: str) -> None:
    with pytest.raises(BlockedDestination):
        checked_url(url, OPEN if url != "http://remote.example/" else NetworkPolicy())


@pytest.mark.parametrize("url", [
    "https://victim.example@evil.example/u", "https://user:pw@remote.example/", "https://remote.example\\@a/",
    "https://remote.example/a b", "https://remote.example/\tx", "https://bücher.example/", "/relative",
    "https://remote.example:99999/", "https://%31%32%37.0.0.1/", "https:///path", "https://[::1/",
    "http://1572395042/",  # public, but a spelling aiohttp and libc disagree on: refused as ambiguous
])
def test_invalid_urls(url: str) -> None:
    with pytest.raises(InvalidURL):
        checked_url(url, OPEN)


def test_accepted_url_drops_the_fragment_and_keeps_the_rest_byte_for_byte() -> None:
    url, wire = checked_url("https://Remote.Example:8443/users/a%7Eb?x=1#main-key", NetworkPolicy())
    assert url == "https://Remote.Example:8443/users/a%7Eb?x=1"
    assert str(wire) == url and wire.port == 8443


def test_allow_listed_literal_passes() -> None:
    policy = NetworkPolicy(allow_http_hosts={"127.0.0.1"}, allow_nonpublic={"127.0.0.1"})
    assert checked_url("http://127.0.0.1:8080/x", policy)[0] == "http://127.0.0.1:8080/x"
