"""The inbox's first line (DESIGN.md section 3, step 1): size cap, JSON shape, suspended domains, and local
recipients that do not exist or are suspended. Each refusal answers the documented status and stores
nothing."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest

from activitypub.signatures import sign_request
from cara_fed.models import Account, DomainBlock, Follow, Notification
from tests.security.conftest import (
    AS_CONTEXT, EVE, EVE_KEY, LOCAL, MIRA, Site, activity, actor_document, create, note,
)

MIB = 1024 * 1024


def padded_create(size: int) -> bytes:
    """A well-formed Create from Eve whose JSON is exactly ``size`` bytes (padding in an extra property)."""
    created = create(EVE, note(EVE))
    created["padding"] = ""
    overhead = len(orjson.dumps(created))
    created["padding"] = "x" * (size - overhead)
    raw = orjson.dumps(created)
    assert len(raw) == size
    return raw


def signed(site: Site, raw: bytes, path: str = "/inbox") -> dict[str, str]:
    return sign_request("POST", f"{LOCAL}{path}", {"Content-Type": "application/activity+json"}, raw, EVE_KEY,
                        site.eve_keys.private_pem)


# -- size cap ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_signed_body_over_one_mib_gets_413_and_stores_nothing(site: Site, chunked: bool) -> None:
    raw = padded_create(MIB + 1)
    before = await site.snapshot()

    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(raw), 64 * 1024):
            yield raw[start:start + 64 * 1024]

    status, _ = await site.raw_post(f"{LOCAL}/inbox", chunks() if chunked else raw, signed(site, raw))

    assert status == 413
    await site.drain()
    await site.assert_unchanged(before)


async def test_control_a_signed_body_of_exactly_one_mib_is_accepted(site: Site) -> None:
    raw = padded_create(MIB)
    status, _ = await site.raw_post(f"{LOCAL}/inbox", raw, signed(site, raw))
    assert status == 202


# -- malformed bodies --------------------------------------------------------------------------------------

NOT_JSON = {
    "text": b"hello, inbox",
    "empty": b"",
    "truncated": b'{"type": "Create", "actor": "https://remote.example/users/eve"',
    "invalid UTF-8": b'{"type": "Create", "actor": "https://remote.example/users/eve", "x": "\xff\xfe"}',
    "nested 5000 deep": b"[" * 5000 + b"]" * 5000,
    "NaN literal": b'{"type": "Create", "actor": "https://remote.example/users/eve", "x": NaN}',
}

NOT_AN_ACTIVITY: dict[str, Any] = {
    "array": [{"type": "Create", "actor": EVE}],
    "string": "Create",
    "number": 7,
    "null": None,
    "empty object": {},
    "no actor": {"id": "https://remote.example/a/1", "type": "Create", "object": "https://remote.example/n/1"},
    "no type": {"id": "https://remote.example/a/1", "actor": EVE, "object": "https://remote.example/n/1"},
    "type is a number": {"type": 5, "actor": EVE},
    "actor is a number": {"type": "Create", "actor": 5},
    "actor is javascript:": {"type": "Create", "actor": "javascript:alert(1)"},
    "actor without host": {"type": "Create", "actor": "https:///users/eve"},
    "actor is relative": {"type": "Create", "actor": "/users/eve"},
}


@pytest.mark.parametrize("raw", list(NOT_JSON.values()), ids=list(NOT_JSON))
async def test_a_body_that_is_not_json_gets_400(site: Site, raw: bytes) -> None:
    before = await site.snapshot()
    status, _ = await site.raw_post(f"{LOCAL}/inbox", raw, signed(site, raw))
    assert status == 400
    await site.drain()
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)


def nested(depth: int) -> Any:
    value: Any = "deep"
    for _ in range(depth):
        value = {"a": value}
    return value


@pytest.mark.parametrize("where", ["object", "@context"])
async def test_a_signed_activity_nested_deeper_than_it_can_be_stored_gets_400(site: Site, where: str) -> None:
    # 300 levels: orjson reads up to 1,023 but writes 254, and the job stores the activity as JSON
    created = create(EVE, note(EVE))
    if where == "object":
        created["object"]["attachment"] = nested(300)
    else:
        created["@context"] = [AS_CONTEXT, nested(300)]
    raw = json.dumps(created, separators=(",", ":")).encode()  # orjson itself writes no deeper than 254
    before = await site.snapshot()

    status, body = await site.raw_post(f"{LOCAL}/inbox", raw, signed(site, raw))

    assert status == 400
    assert orjson.loads(body) == {"error": "The activity is nested too deeply"}
    await site.drain()
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)


@pytest.mark.parametrize("body", list(NOT_AN_ACTIVITY.values()), ids=list(NOT_AN_ACTIVITY))
@pytest.mark.parametrize("path", ["/inbox", "/users/mira/inbox"])
async def test_json_that_is_not_an_activity_gets_400(site: Site, body: Any, path: str) -> None:
    raw = orjson.dumps(body)
    before = await site.snapshot()
    status, _ = await site.raw_post(f"{LOCAL}{path}", raw, signed(site, raw, path))
    assert status == 400
    await site.drain()
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)
    assert site.fediverse.requests == []  # refused before any key fetch


# -- item 22: no remote JSON-LD context is ever fetched ------------------------------------------------------

CONTEXTS = ["https://context.example/ns", "http://context.example/ns", "https://remote.example/ns"]


@pytest.mark.parametrize("context", CONTEXTS)
async def test_a_remote_json_ld_context_is_never_fetched(site: Site, context: str) -> None:
    for url in CONTEXTS:  # a fetch would succeed, and be recorded
        site.fediverse.serve(url, {"@context": {"content": "https://www.w3.org/ns/activitystreams#content"}},
                             content_type="application/ld+json")
    created = create(EVE, note(EVE))
    created["@context"] = [AS_CONTEXT, context]
    created["object"]["@context"] = [AS_CONTEXT, context, {"x": "https://example.org/x"}]
    status, _ = await site.post(created)
    assert status in (202, 400)  # processed as plain JSON, or refused
    await site.drain()
    assert [r.url for r in site.fediverse.requests if r.url.endswith("/ns")] == []
    await site.assert_no_failed_jobs()


# -- suspended domains: 202, dropped before any fetch -------------------------------------------------------

SUSPENDED_SENDERS = {
    "unknown actor": ("https://remote.example/users/newbie", "https://remote.example/users/newbie#main-key"),
    "subdomain": ("https://sub.remote.example/users/newbie", "https://sub.remote.example/users/newbie#main-key"),
    "upper-case host": ("https://REMOTE.example/users/newbie", "https://REMOTE.example/users/newbie#main-key"),
    "trailing dot": ("https://remote.example./users/newbie", "https://remote.example./users/newbie#main-key"),
    "explicit port": ("https://remote.example:443/users/newbie", "https://remote.example:443/users/newbie#main-key"),
    "known actor Eve": (EVE, EVE_KEY),
    "key on the suspended domain, actor elsewhere": ("https://other.example/users/bob",
                                                     "https://remote.example/users/newbie#main-key"),
}


@pytest.fixture
async def suspended(site: Site) -> Site:
    with site.db():
        await DomainBlock.create(domain="remote.example", severity="suspend")
    for host in ("remote.example", "sub.remote.example"):  # answered, were anything fetched
        site.fediverse.serve(f"https://{host}/users/newbie",
                             actor_document(f"https://{host}/users/newbie", site.eve_keys.public_pem))
    return site


@pytest.mark.parametrize("sender", list(SUSPENDED_SENDERS.values()), ids=list(SUSPENDED_SENDERS))
@pytest.mark.parametrize("kind", ["Create", "Follow", "Delete"])
async def test_a_suspended_domain_gets_202_and_no_request_at_all(suspended: Site, sender: tuple[str, str],
                                                                 kind: str) -> None:
    site = suspended
    actor, key_id = sender
    body = {"Create": create(actor, note(actor)), "Follow": activity("Follow", actor, MIRA),
            "Delete": activity("Delete", actor, actor)}[kind]
    before = await site.snapshot()

    status, _ = await site.post(body, key_id=key_id, private_pem=site.eve_keys.private_pem)

    assert status == 202
    await site.drain()
    assert site.fediverse.requests == []  # no key fetch, no actor fetch, no delivery
    assert await site.inbox_jobs() == 0
    await site.assert_unchanged(before)


async def test_a_suspended_domain_is_dropped_even_unsigned(suspended: Site) -> None:
    site = suspended
    before = await site.snapshot()
    status, _ = await site.post(activity("Follow", EVE, MIRA), sign=False)
    assert status == 202
    await site.drain()
    assert site.fediverse.requests == []
    await site.assert_unchanged(before)


# -- local recipients that do not exist or are suspended ----------------------------------------------------


@pytest.fixture
async def sam(site: Site) -> Account:
    """A suspended local account."""
    account = await site.instance.user("sam")
    with site.db():
        account.suspended_at = datetime.now(UTC)
        await account.save()
    return account


@pytest.mark.parametrize(("path", "expected"), [("/users/ghost/inbox", 404), ("/users/sam/inbox", 410)])
async def test_the_inbox_of_a_missing_or_suspended_local_account_refuses(site: Site, sam: Account, path: str,
                                                                         expected: int) -> None:
    target = f"{LOCAL}{path.removesuffix('/inbox')}"
    before = await site.snapshot()
    status, _ = await site.post(activity("Follow", EVE, target), path=path)
    assert status == expected
    await site.drain()
    await site.assert_unchanged(before)


FOLLOW_TARGETS = {
    "unknown local account": f"{LOCAL}/users/ghost",
    "suspended local account": f"{LOCAL}/users/sam",
    "the instance actor": f"{LOCAL}/actor",
    "a local account's profile page": f"{LOCAL}/@mira",
    "a local status": f"{LOCAL}/users/mira/statuses/1",
    "a remote actor": "https://other.example/users/bob",
    "no object": None,
    "an object without id": {"type": "Person"},
}


@pytest.mark.parametrize("target", list(FOLLOW_TARGETS.values()), ids=list(FOLLOW_TARGETS))
@pytest.mark.parametrize("path", ["/inbox", "/users/mira/inbox", "/actor/inbox"])
async def test_a_follow_of_no_active_local_account_stores_nothing(site: Site, sam: Account, target: Any,
                                                                  path: str) -> None:
    before = await site.snapshot()
    status, _ = await site.post(activity("Follow", EVE, target), path=path)
    assert status == 202
    await site.drain()
    await site.assert_unchanged(before)


async def test_control_a_follow_of_mira_is_stored_and_accepted(site: Site) -> None:
    follow = activity("Follow", EVE, MIRA)
    assert (await site.post(follow, path="/users/mira/inbox"))[0] == 202
    await site.drain()
    with site.db():
        assert await Follow.filter(uri=follow["id"], target_account_id=site.mira.id).count() == 1
        assert await Notification.filter(account_id=site.mira.id, type="follow").count() == 1
    [accept] = site.fediverse.posts_to(f"{EVE}/inbox")
    assert accept.json()["type"] == "Accept"
