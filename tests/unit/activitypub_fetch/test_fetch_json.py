"""fetch_json against a loopback https server (throw-away CA): content types, ids, redirects, signing and
statuses (security.md items 6, 7, 24). Body caps and deadlines: test_fetch_limits.py."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AsyncExitStack
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import orjson
import pytest
from aiohttp import web

from activitypub.fetch import (
    AS_ACCEPT,
    BadContentType,
    BlockedDestination,
    HTTPStatusError,
    IdMismatch,
    InvalidDocument,
    TooManyRedirects,
    fetch_json,
)
from tests.support.tls import FakeTLS
from tests.unit.activitypub_fetch.conftest import ACTIVITY_JSON, NAMES, POLICY, LoopbackServer, Remote


# -- the happy path ---------------------------------------------------------------------------------------

async def test_fetches_an_activitystreams_document_over_https(remote: Remote) -> None:
    url = remote.actor("/users/alice", name="Alice")
    fetched = await fetch_json(remote.session, url + "#main-key", policy=POLICY)
    assert fetched.url == url and fetched.status == 200
    assert fetched.document["name"] == "Alice" and orjson.loads(fetched.raw_bytes) == fetched.document
    assert fetched.headers["Content-Type"] == ACTIVITY_JSON
    assert remote.server.requests[0].headers["Accept"] == AS_ACCEPT
    assert remote.server.requests[0].path == "/users/alice"  # the fragment never goes on the wire


async def test_connections_are_kept_alive(remote: Remote) -> None:
    url = remote.actor("/users/alice")
    for _ in range(5):
        await fetch_json(remote.session, url, policy=POLICY)
    assert remote.server.connections == 1


async def test_plain_http_only_for_allowed_hosts(remote: Remote) -> None:
    url = remote.actor("/users/alice").replace("https://", "http://")
    with pytest.raises(BlockedDestination):
        await fetch_json(remote.session, url, policy=POLICY)
    assert remote.server.connections == 0


# -- content type -----------------------------------------------------------------------------------------

AS_TYPES = [
    "application/activity+json",
    "application/activity+json; charset=utf-8",
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams"',
    'Application/LD+JSON;PROFILE="https://www.w3.org/ns/activitystreams"; charset=UTF-8',
    'application/ld+json; profile="https://www.w3.org/ns/activitystreams https://w3id.org/security/v1"',
    "application/ld+json; profile=https://www.w3.org/ns/activitystreams",
]
NOT_AS_TYPES = [
    "application/json", "text/html", "text/plain", "image/png", "application/octet-stream",
    "application/ld+json", 'application/ld+json; profile="https://www.w3.org/ns/activitystreams/evil"',
    'application/ld+json; profile="https://example.com/other"', "application/activity+jsonx",
    "application/activity+json+evil", 'text/html; x="application/activity+json"', "application/activity",
    "application/activity+json; profile", "", "application/ld+json; charset=utf-8",
]


@pytest.mark.parametrize("content_type", AS_TYPES)
async def test_activitystreams_content_types_accepted(remote: Remote, content_type: str) -> None:
    url = remote.url("/note")
    remote.server.document("/note", {"id": url}, content_type=content_type)
    assert (await fetch_json(remote.session, url, policy=POLICY)).document == {"id": url}


@pytest.mark.parametrize("content_type", NOT_AS_TYPES)
async def test_other_content_types_rejected(remote: Remote, content_type: str) -> None:
    url = remote.url("/note")
    remote.server.document("/note", {"id": url}, content_type=content_type)
    with pytest.raises(BadContentType):
        await fetch_json(remote.session, url, policy=POLICY)


async def test_content_type_check_can_be_turned_off(remote: Remote) -> None:
    url = remote.url("/nodeinfo")
    remote.server.document("/nodeinfo", {"version": "2.1"}, content_type="application/json")
    fetched = await fetch_json(remote.session, url, policy=POLICY, require_activitystreams=False, check_id=False)
    assert fetched.document == {"version": "2.1"}


async def test_two_content_type_headers_are_ambiguous(remote: Remote) -> None:
    url = remote.url("/note")

    async def two(request: web.Request) -> web.StreamResponse:
        response = web.Response(body=orjson.dumps({"id": url}))
        response.headers.add("Content-Type", ACTIVITY_JSON)
        response.headers.add("Content-Type", "text/html")
        return response

    remote.server.route("/note", two)
    with pytest.raises(BadContentType):
        await fetch_json(remote.session, url, policy=POLICY)


@pytest.mark.parametrize("body", [b"[1, 2]", b'"a string"', b"null", b"{not json", b"\xff\xfe{}", b""])
async def test_body_must_be_a_json_object(remote: Remote, body: bytes) -> None:
    remote.server.document("/note", body)
    with pytest.raises(InvalidDocument):
        await fetch_json(remote.session, remote.url("/note"), policy=POLICY)


# -- id ---------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("claimed", [
    "https://remote.example:{port}/other", "https://b.example:{port}/note", "https://remote.example:{port}/note/",
    "https://remote.example:{port}/note#x", "https://remote.example/note", "http://remote.example:{port}/note",
    "https://remote.example:{port}/note?", "https://remote.example:{port}/Note",
    "https://remote.example.:{port}/note", "https://x@remote.example:{port}/note", None, 42,
])
async def test_id_must_be_the_url_fetched(remote: Remote, claimed: object) -> None:
    port = remote.server.port
    remote.server.document("/note", {"id": claimed.format(port=port) if isinstance(claimed, str) else claimed})
    with pytest.raises(IdMismatch):
        await fetch_json(remote.session, remote.url("/note"), policy=POLICY)
    await fetch_json(remote.session, remote.url("/note"), policy=POLICY, check_id=False)


async def test_id_comparison_ignores_scheme_and_host_case_only(remote: Remote) -> None:
    remote.server.document("/note", {"id": f"HTTPS://Remote.EXAMPLE:{remote.server.port}/note"})
    await fetch_json(remote.session, remote.url("/note"), policy=POLICY)


async def test_id_must_be_the_final_url_after_a_redirect(remote: Remote) -> None:
    # security.md item 6: a 302 from a/x to evil/y whose body claims id a/x (CVE-2024-23832).
    original = remote.url("/x", "a.example")
    remote.server.redirect("/x", remote.url("/y", "b.example"))
    remote.server.document("/y", {"id": original, "type": "Person"})
    with pytest.raises(IdMismatch):
        await fetch_json(remote.session, original, policy=POLICY)


async def test_redirected_document_is_reported_at_its_final_url(remote: Remote) -> None:
    final = remote.actor("/users/alice", "b.example")
    remote.server.redirect("/@alice", final, status=301)
    fetched = await fetch_json(remote.session, remote.url("/@alice", "a.example"), policy=POLICY)
    assert fetched.url == final


# -- redirects --------------------------------------------------------------------------------------------

def chain(remote: Remote, hops: int) -> str:
    """/r0 -> /r1 -> ... -> /r{hops} (the document), alternating hosts; returns the first URL."""
    for i in range(hops):
        remote.server.redirect(f"/r{i}", remote.url(f"/r{i + 1}", NAMES[(i + 1) % len(NAMES)]))
    remote.actor(f"/r{hops}", NAMES[hops % len(NAMES)])
    return remote.url("/r0", NAMES[0])


async def test_three_redirects_are_followed(remote: Remote) -> None:
    fetched = await fetch_json(remote.session, chain(remote, 3), policy=POLICY)
    assert fetched.url == remote.url("/r3", NAMES[3]) and len(remote.server.requests) == 4


async def test_a_fourth_redirect_is_not(remote: Remote) -> None:
    with pytest.raises(TooManyRedirects):
        await fetch_json(remote.session, chain(remote, 4), policy=POLICY)
    assert [r.path for r in remote.server.requests] == ["/r0", "/r1", "/r2", "/r3"]


async def test_redirect_limit_is_a_parameter(remote: Remote) -> None:
    with pytest.raises(TooManyRedirects):
        await fetch_json(remote.session, chain(remote, 1), policy=POLICY, max_redirects=0)


async def test_relative_redirect(remote: Remote) -> None:
    final = remote.actor("/users/alice")
    remote.server.redirect("/@alice", "/users/alice", status=308)
    assert (await fetch_json(remote.session, remote.url("/@alice"), policy=POLICY)).url == final


@pytest.mark.parametrize("location", [
    "file:///etc/passwd", "gopher://remote.example:70/_GET", "ftp://remote.example/", "data:,hello",
    "https://169.254.169.254/latest/meta-data/", "https://127.0.0.2:{port}/users/alice", "https://[::1]/",
    "https://2130706434:{port}/", "https://0x7f.2:{port}/", "https://[64:ff9b::7f00:1]/",
    "http://remote.example:{port}/users/alice",  # downgrade to plain http
])
async def test_redirects_to_refused_destinations(remote: Remote, location: str) -> None:
    # (127.0.0.1 itself is allow-listed here: it stands for the public internet in these tests)
    remote.actor("/users/alice")
    remote.server.redirect("/@alice", location.replace("{port}", str(remote.server.port)))
    with pytest.raises(BlockedDestination):
        await fetch_json(remote.session, remote.url("/@alice"), policy=POLICY)
    assert len(remote.server.requests) == 1


async def test_redirect_to_a_name_resolving_to_a_refused_address(stack: AsyncExitStack, remote: Remote,
                                                                 test_tls: FakeTLS) -> None:
    internal = await LoopbackServer(host="127.0.0.2", ssl_context=test_tls.server_context()).start(stack)
    internal.document("/secret", {"id": f"https://blocked.example:{internal.port}/secret"})
    remote.resolver.answers["blocked.example"] = [("127.0.0.2", None)]
    remote.server.redirect("/@alice", f"https://blocked.example:{internal.port}/secret")
    with pytest.raises(BlockedDestination):
        await fetch_json(remote.session, remote.url("/@alice"), policy=POLICY)
    assert internal.connections == 0


async def test_redirect_without_location_is_a_status_error(remote: Remote) -> None:
    async def bare(request: web.Request) -> web.StreamResponse:
        return web.Response(status=302)

    remote.server.route("/bare", bare)
    with pytest.raises(HTTPStatusError) as caught:
        await fetch_json(remote.session, remote.url("/bare"), policy=POLICY)
    assert caught.value.status == 302


# -- signing ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("asynchronous", [False, True])
async def test_every_hop_is_signed_for_its_own_url(remote: Remote, asynchronous: bool) -> None:
    calls: list[tuple[str, str, dict[str, str], bytes]] = []

    def signature(method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        calls.append((method, url, dict(headers), body))
        return {"Signature": f'keyId="https://local.example/actor#main-key",sig="{method} {url}"',
                "Date": "Sun, 06 Nov 1994 08:49:37 GMT"}

    async def async_signature(method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
        return signature(method, url, headers, body)

    first = chain(remote, 2)
    await fetch_json(remote.session, first, policy=POLICY, sign=async_signature if asynchronous else signature)
    urls = [first, remote.url("/r1", NAMES[1]), remote.url("/r2", NAMES[2])]
    assert [(method, url, body) for method, url, _, body in calls] == [("GET", url, b"") for url in urls]
    assert all(headers["Accept"] == AS_ACCEPT for _, _, headers, _ in calls)
    assert [r.headers["Signature"] for r in remote.server.requests] == [
        f'keyId="https://local.example/actor#main-key",sig="GET {url}"' for url in urls]


# -- statuses ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("status", "retry_after", "expected"), [
    (404, None, None), (410, None, None), (401, None, None), (500, "garbage", None), (429, "120", 120.0),
    (503, "0", 0.0), (204, None, None),
])
async def test_error_statuses(remote: Remote, status: int, retry_after: str | None, expected: float | None) -> None:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    remote.server.document("/x", b"" if status == 204 else {"error": "no"}, status=status, headers=headers)
    if status == 204:
        with pytest.raises(InvalidDocument):
            await fetch_json(remote.session, remote.url("/x"), policy=POLICY)
        return
    with pytest.raises(HTTPStatusError) as caught:
        await fetch_json(remote.session, remote.url("/x"), policy=POLICY)
    assert caught.value.status == status and caught.value.retry_after == expected


async def test_retry_after_as_an_http_date(remote: Remote) -> None:
    when = datetime.now(UTC) + timedelta(minutes=10)
    remote.server.document("/x", {}, status=503, headers={"Retry-After": format_datetime(when, usegmt=True)})
    with pytest.raises(HTTPStatusError) as caught:
        await fetch_json(remote.session, remote.url("/x"), policy=POLICY)
    assert caught.value.retry_after is not None and 500 < caught.value.retry_after <= 600
