"""The connection guard end to end (security.md items 23 and 25): refused addresses are never connected to.

Each refusal test points the name at an address that really reaches a listening loopback server (its own
address, 0.0.0.0 or ::ffff:127.0.0.1 do on Linux; the control tests prove it) and asserts the server saw
no TCP connection at all.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from itertools import count

import aiohttp
import pytest

from activitypub.fetch import BlockedDestination, IdMismatch, NetworkPolicy, fetch_json, make_session, post_json
from tests.support.fakefed import FakeFediverse
from tests.unit.activitypub_fetch.conftest import FakeResolver, LoopbackServer

HOST = "remote.example"


def any_host(host: str) -> bool:
    return True


def policy(*allow: str) -> NetworkPolicy:
    # Equal policies for equal arguments (the session checks it gets the policy it was made with).
    return NetworkPolicy(allow_http_hosts=any_host, allow_nonpublic=frozenset(allow))


async def actor_server(stack: AsyncExitStack, host: str = "127.0.0.1") -> LoopbackServer:
    server = await LoopbackServer(host=host).start(stack)
    server.document("/actor", {"id": f"http://{HOST}:{server.port}/actor", "type": "Person"})
    return server


REACHES_LOOPBACK = ["127.0.0.1", "0.0.0.0", "::ffff:127.0.0.1"]
NEVER = ["::1", "::", "169.254.169.254", "10.0.0.1", "172.16.0.1", "192.168.0.1", "100.64.0.1", "192.0.0.8",
         "198.18.0.1", "224.0.0.1", "240.0.0.1", "fe80::1", "fc00::1", "64:ff9b::7f00:1", "2002:7f00:1::",
         "::ffff:169.254.169.254", "2001::1"]


@pytest.mark.parametrize("address", REACHES_LOOPBACK + NEVER)
async def test_name_resolving_to_a_refused_address_is_never_connected(stack: AsyncExitStack, address: str) -> None:
    server = await actor_server(stack)
    resolver = FakeResolver({HOST: [(address, server.port)]})
    async with make_session(policy(), inner_resolver=resolver) as session:
        with pytest.raises(BlockedDestination):
            await fetch_json(session, f"http://{HOST}:{server.port}/actor", policy=policy())
        with pytest.raises(BlockedDestination):
            await post_json(session, f"http://{HOST}:{server.port}/inbox", b"{}", policy=policy(), headers={})
    assert resolver.queries  # the name was resolved: the refusal is after DNS, on the address
    assert server.connections == 0


@pytest.mark.parametrize(("address", "allow"), [("127.0.0.1", "127.0.0.1"), ("0.0.0.0", "0.0.0.0/32"),
                                                ("::ffff:127.0.0.1", "127.0.0.0/8")])
async def test_control_the_same_addresses_do_reach_the_server_when_allow_listed(
        stack: AsyncExitStack, address: str, allow: str) -> None:
    server = await actor_server(stack)
    resolver = FakeResolver({HOST: [(address, server.port)]})
    async with make_session(policy(allow), inner_resolver=resolver) as session:
        fetched = await fetch_json(session, f"http://{HOST}:{server.port}/actor", policy=policy(allow))
    assert fetched.document["type"] == "Person"
    assert server.connections == 1


@pytest.mark.parametrize("host", ["127.0.0.1", "2130706433", "0x7f.1", "0177.0.0.1", "127.1", "0x7f000001",
                                  "[::ffff:127.0.0.1]", "0.0.0.0"])
async def test_address_literals_and_numeric_spellings_are_refused_before_connecting(
        stack: AsyncExitStack, host: str) -> None:
    server = await actor_server(stack)
    resolver = FakeResolver({})
    async with make_session(policy(), inner_resolver=resolver) as session:
        with pytest.raises(BlockedDestination):
            await fetch_json(session, f"http://{host}:{server.port}/actor", policy=policy())
        with pytest.raises(BlockedDestination):
            await post_json(session, f"http://{host}:{server.port}/inbox", b"{}", policy=policy(), headers={})
    assert server.connections == 0 and resolver.queries == []


async def test_default_resolver_refuses_localhost(stack: AsyncExitStack) -> None:
    # The real getaddrinfo (aiohttp's ThreadedResolver), on a name /etc/hosts maps to loopback.
    server = await actor_server(stack)
    async with make_session(policy()) as session:
        with pytest.raises(BlockedDestination):
            await fetch_json(session, f"http://localhost:{server.port}/actor", policy=policy())
    assert server.connections == 0
    allowed = policy("127.0.0.0/8", "::1")
    async with make_session(allowed) as session:
        fetched = await fetch_json(session, f"http://localhost:{server.port}/actor", policy=allowed, check_id=False)
    assert fetched.document["type"] == "Person" and server.connections == 1


async def test_raw_use_of_the_session_is_guarded_too(stack: AsyncExitStack) -> None:
    # aiohttp never calls the resolver for an address literal; the socket factory still refuses it.
    server = await actor_server(stack)
    async with make_session(policy(), inner_resolver=FakeResolver({})) as session:
        with pytest.raises(BlockedDestination):
            await session.get(f"http://127.0.0.1:{server.port}/actor")
        with pytest.raises(aiohttp.InvalidUrlClientError):  # aiohttp refuses 2130706433 by itself
            await session.get(f"http://2130706433:{server.port}/actor")
    assert server.connections == 0


async def test_mixed_answer_connects_only_to_the_allowed_address(stack: AsyncExitStack) -> None:
    good = await actor_server(stack, "127.0.0.1")
    forbidden = await actor_server(stack, "127.0.0.2")
    # The refused address first: unfiltered, aiohttp would try it first.
    resolver = FakeResolver({HOST: [("127.0.0.2", forbidden.port), ("127.0.0.1", good.port)]})
    async with make_session(policy("127.0.0.1"), inner_resolver=resolver) as session:
        await fetch_json(session, f"http://{HOST}:{good.port}/actor", policy=policy("127.0.0.1"))
    assert (good.connections, forbidden.connections) == (1, 0)


async def test_control_unfiltered_the_mixed_answer_goes_to_the_first_address(stack: AsyncExitStack) -> None:
    good = await actor_server(stack, "127.0.0.1")
    forbidden = await actor_server(stack, "127.0.0.2")
    resolver = FakeResolver({HOST: [("127.0.0.2", forbidden.port), ("127.0.0.1", good.port)]})
    async with make_session(policy("127.0.0.0/8"), inner_resolver=resolver) as session:
        with pytest.raises(IdMismatch):  # reached 127.0.0.2, whose document names its own port
            await fetch_json(session, f"http://{HOST}:{good.port}/actor", policy=policy("127.0.0.0/8"))
    assert forbidden.connections == 1


@pytest.mark.parametrize("use_dns_cache", [True, False])
async def test_dns_rebinding_never_reaches_the_second_answer(stack: AsyncExitStack, use_dns_cache: bool) -> None:
    good = await actor_server(stack, "127.0.0.1")
    rebound = await actor_server(stack, "127.0.0.2")
    calls = count()
    answers = {HOST: lambda: [("127.0.0.1", good.port)] if next(calls) == 0 else [("127.0.0.2", rebound.port)]}
    resolver = FakeResolver(answers)
    url = f"http://{HOST}:{good.port}/actor"
    async with make_session(policy("127.0.0.1"), inner_resolver=resolver, use_dns_cache=use_dns_cache,
                            headers={"Connection": "close"}) as session:  # every fetch needs a new connection
        await fetch_json(session, url, policy=policy("127.0.0.1"))
        for _ in range(3):
            try:
                await fetch_json(session, url, policy=policy("127.0.0.1"))
            except BlockedDestination:
                assert not use_dns_cache  # a cached answer is a checked answer
    assert rebound.connections == 0
    assert good.connections == (4 if use_dns_cache else 1)


async def test_allow_listed_host_name_may_resolve_to_a_private_address(stack: AsyncExitStack) -> None:
    server = await actor_server(stack)
    allowed = NetworkPolicy(allow_http_hosts={HOST}, allow_nonpublic={HOST})
    async with make_session(allowed, inner_resolver=FakeResolver({HOST: [("127.0.0.1", server.port)]})) as session:
        await fetch_json(session, f"http://{HOST}:{server.port}/actor", policy=allowed)
        with pytest.raises(BlockedDestination):  # the name is allowed, not its address
            await fetch_json(session, f"http://127.0.0.1:{server.port}/actor", policy=allowed, check_id=False)
    assert server.connections == 1


async def test_sessions_not_from_make_session_are_refused() -> None:
    async with aiohttp.ClientSession() as plain:
        with pytest.raises(TypeError):
            await fetch_json(plain, "https://remote.example/actor", policy=NetworkPolicy())
        with pytest.raises(TypeError):
            await post_json(plain, "https://remote.example/inbox", b"{}", policy=NetworkPolicy(), headers={})
    async with make_session(NetworkPolicy()) as session:
        with pytest.raises(ValueError):
            await fetch_json(session, "https://remote.example/actor", policy=policy("127.0.0.1"))


@pytest.mark.parametrize("option", ["connector", "trust_env", "proxy", "auto_decompress"])
async def test_make_session_refuses_options_that_bypass_the_guard(option: str) -> None:
    with pytest.raises(TypeError):
        make_session(NetworkPolicy(), **{option: True})  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_session(NetworkPolicy(), ssl=False)  # type: ignore[arg-type]


async def test_session_sends_a_user_agent_and_no_cookies(stack: AsyncExitStack) -> None:
    server = await actor_server(stack)

    async def sets_cookie(request: aiohttp.web.Request) -> aiohttp.web.StreamResponse:
        return aiohttp.web.json_response({"id": f"http://{HOST}:{server.port}/c"},
                                         content_type="application/activity+json",
                                         headers={"Set-Cookie": "session=planted; Path=/"})

    server.route("/c", sets_cookie)
    resolver = FakeResolver({HOST: [("127.0.0.1", server.port)]})
    async with make_session(policy("127.0.0.1"), inner_resolver=resolver, user_agent="cara-fed-test/1") as session:
        for _ in range(2):
            await fetch_json(session, f"http://{HOST}:{server.port}/c", policy=policy("127.0.0.1"))
    assert all(seen.headers["User-Agent"] == "cara-fed-test/1" for seen in server.requests)
    assert "Cookie" not in server.requests[1].headers


async def test_works_with_the_test_harness_fake_fediverse(fediverse: FakeFediverse) -> None:
    # How the app's sessions are built in tests: the fake's resolver (every name to its loopback servers, the
    # port rewritten) as the inner resolver, its throw-away CA, and loopback allow-listed.
    harness = NetworkPolicy(allow_nonpublic={"127.0.0.1"})
    actor = "https://remote.example/users/bob"
    fediverse.serve(actor, {"id": actor, "type": "Person", "inbox": f"{actor}/inbox"})
    async with make_session(harness, inner_resolver=fediverse.resolver(),
                            ssl=fediverse.tls.client_context()) as session:
        fetched = await fetch_json(session, actor, policy=harness)
        delivered = await post_json(session, fetched.document["inbox"], b'{"type": "Follow"}', policy=harness,
                                    headers={})
    assert delivered.status == 202
    assert [(r.method, r.url) for r in fediverse.requests] == [("GET", actor), ("POST", f"{actor}/inbox")]
