"""KeyCache: TTL, coalescing, bounded refetch (security.md item 18), failures as KeyUnavailable, and its use
as ``resolve_key`` for verify_request."""

from __future__ import annotations

import asyncio

import pytest

from activitypub.keycache import KeyCache
from activitypub.keys import KeyPair
from activitypub.signatures import BadSignature, KeyUnavailable, PublicKeyRecord, sign_request, verify_request
from tests.unit.activitypub.helpers import BODY, INBOX_URL, KEY_ID, NOW, record

PATH = "/users/alice/inbox"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Remote:
    """The remote server's key endpoint: counts fetches, can fail, can be slow."""

    def __init__(self, answer: PublicKeyRecord | None) -> None:
        self.answer = answer
        self.fetches = 0
        self.error: Exception | None = None
        self.gate: asyncio.Event | None = None

    async def __call__(self, key_id: str) -> PublicKeyRecord | None:
        self.fetches += 1
        if self.gate is not None:
            await self.gate.wait()
        if self.error is not None:
            raise self.error
        return self.answer


@pytest.fixture
def clock() -> Clock:
    return Clock()


def make(remote: Remote, clock: Clock, **kwargs: float) -> KeyCache:
    return KeyCache(remote, ttl_seconds=3600, refresh_cooloff_seconds=300, failure_backoff_seconds=30,
                    clock=clock, **kwargs)  # type: ignore[arg-type]


async def test_hit_within_ttl_and_refetch_after(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    cache = make(remote, clock)
    assert await cache.get(KEY_ID) == remote.answer
    clock.now += 3599
    assert await cache.get(KEY_ID) == remote.answer
    assert remote.fetches == 1
    clock.now += 2
    await cache.get(KEY_ID)
    assert remote.fetches == 2 and cache.fetches == 2


async def test_concurrent_gets_share_one_fetch(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    remote.gate = asyncio.Event()
    cache = make(remote, clock)
    waiters = [asyncio.ensure_future(cache.get(KEY_ID)) for _ in range(10)]
    await asyncio.sleep(0)
    remote.gate.set()
    results = await asyncio.gather(*waiters)
    assert remote.fetches == 1
    assert all(result == remote.answer for result in results)


async def test_a_cancelled_waiter_does_not_cancel_the_shared_fetch(rsa_keypair: KeyPair,
                                                                    clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    remote.gate = asyncio.Event()
    cache = make(remote, clock)
    first = asyncio.ensure_future(cache.get(KEY_ID))
    second = asyncio.ensure_future(cache.get(KEY_ID))
    await asyncio.sleep(0)
    first.cancel()
    remote.gate.set()
    assert await second == remote.answer
    assert remote.fetches == 1


async def test_refresh_is_limited_to_one_per_cooloff(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    cache = make(remote, clock)
    await cache.get(KEY_ID)
    await cache.get(KEY_ID, refresh=True)  # fetched a moment ago: a refetch would return the same key
    assert remote.fetches == 1
    clock.now += 301
    for _ in range(100):
        await cache.get(KEY_ID, refresh=True)
    assert remote.fetches == 2
    clock.now += 301
    await cache.get(KEY_ID, refresh=True)
    assert remote.fetches == 3


async def test_unknown_keys_are_cached_negatively(clock: Clock) -> None:
    remote = Remote(None)
    cache = make(remote, clock, negative_ttl_seconds=600)
    for _ in range(10):
        assert await cache.get(KEY_ID) is None
        assert await cache.get(KEY_ID, refresh=True) is None
    assert remote.fetches == 1
    clock.now += 601
    await cache.get(KEY_ID)
    assert remote.fetches == 2


async def test_fetch_errors_become_key_unavailable_and_back_off(clock: Clock) -> None:
    remote = Remote(None)
    remote.error = OSError("connection refused")
    cache = make(remote, clock)
    for _ in range(5):
        with pytest.raises(KeyUnavailable):
            await cache.get(KEY_ID)
    assert remote.fetches == 1  # the host is not hammered while it is down
    clock.now += 31
    remote.error = None
    assert await cache.get(KEY_ID) is None
    assert remote.fetches == 2


async def test_fetch_raising_key_unavailable_passes_through(clock: Clock) -> None:
    remote = Remote(None)
    remote.error = KeyUnavailable("remote answered 503")
    with pytest.raises(KeyUnavailable, match="503"):
        await make(remote, clock).get(KEY_ID)


async def test_a_stale_copy_is_served_while_the_remote_is_down(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    cache = make(remote, clock, stale_if_error_seconds=86400)
    await cache.get(KEY_ID)
    clock.now += 7200
    remote.error = TimeoutError()
    assert await cache.get(KEY_ID) == remote.answer
    clock.now += 86400
    with pytest.raises(KeyUnavailable):
        await cache.get(KEY_ID)


async def test_a_fetch_returning_garbage_is_key_unavailable(clock: Clock) -> None:
    async def bad(key_id: str) -> PublicKeyRecord:
        return "-----BEGIN PUBLIC KEY-----"  # type: ignore[return-value]

    with pytest.raises(KeyUnavailable):
        await KeyCache(bad, clock=clock).get(KEY_ID)


async def test_entries_are_bounded_and_can_be_invalidated(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    cache = make(remote, clock, max_entries=3)
    for n in range(5):
        await cache.get(f"{KEY_ID}{n}")
    assert remote.fetches == 5
    await cache.get(f"{KEY_ID}0")  # evicted: fetched again
    assert remote.fetches == 6
    await cache.get(f"{KEY_ID}4")
    assert remote.fetches == 6
    cache.invalidate(f"{KEY_ID}4")
    await cache.get(f"{KEY_ID}4")
    assert remote.fetches == 7


def test_rejects_nonsense_settings() -> None:
    with pytest.raises(ValueError):
        KeyCache(Remote(None), ttl_seconds=-1)
    with pytest.raises(ValueError):
        KeyCache(Remote(None), max_entries=0)


# -- with verify_request -------------------------------------------------------------------------------------


def signed(keypair: KeyPair) -> dict[str, str]:
    return sign_request("POST", INBOX_URL, {"Content-Type": "application/activity+json"}, BODY, KEY_ID,
                        keypair.private_pem, now=NOW)


async def test_rotation_through_the_cache(rsa_keypair: KeyPair, other_rsa_keypair: KeyPair,
                                          clock: Clock) -> None:
    remote = Remote(record(other_rsa_keypair.public_pem))  # the old key
    cache = make(remote, clock)
    await cache.get(KEY_ID)
    clock.now += 600
    remote.answer = record(rsa_keypair.public_pem)  # rotated on the remote side
    result = await verify_request("POST", PATH, signed(rsa_keypair), BODY, cache.get, now=NOW)
    assert result.key_id == KEY_ID
    assert remote.fetches == 2
    await verify_request("POST", PATH, signed(rsa_keypair), BODY, cache.get, now=NOW)
    assert remote.fetches == 2  # the new key is cached


async def test_100_forged_requests_cost_at_most_one_refetch(rsa_keypair: KeyPair, other_rsa_keypair: KeyPair,
                                                            clock: Clock) -> None:
    remote = Remote(record(rsa_keypair.public_pem))
    cache = make(remote, clock)
    await cache.get(KEY_ID)
    clock.now += 600  # long enough after the first fetch that a refetch is allowed once
    forged = signed(other_rsa_keypair)  # signed with a key that is not the actor's
    for _ in range(100):
        with pytest.raises(BadSignature):
            await verify_request("POST", PATH, forged, BODY, cache.get, now=NOW)
    assert remote.fetches == 2  # the first fetch, then a single refetch for all 100


async def test_remote_down_gives_503_not_401(rsa_keypair: KeyPair, clock: Clock) -> None:
    remote = Remote(None)
    remote.error = OSError("no route to host")
    with pytest.raises(KeyUnavailable) as caught:
        await verify_request("POST", PATH, signed(rsa_keypair), BODY, make(remote, clock).get, now=NOW)
    assert caught.value.http_status == 503


async def test_a_failed_refresh_is_503_not_the_stale_key(rsa_keypair: KeyPair, other_rsa_keypair: KeyPair,
                                                          clock: Clock) -> None:
    """The cached key failed to verify and its server is down: the key may have rotated, so the sender should
    retry later (503) rather than get a permanent-looking 401."""
    remote = Remote(record(other_rsa_keypair.public_pem))
    cache = make(remote, clock)
    await cache.get(KEY_ID)
    clock.now += 600
    remote.error = OSError("down")
    with pytest.raises(KeyUnavailable):
        await verify_request("POST", PATH, signed(rsa_keypair), BODY, cache.get, now=NOW)
    assert await cache.get(KEY_ID) == remote.answer  # plain lookups still get the stale copy
    with pytest.raises(KeyUnavailable):
        await cache.get(KEY_ID, refresh=True)  # within the failure back-off: no new fetch
    assert remote.fetches == 2
