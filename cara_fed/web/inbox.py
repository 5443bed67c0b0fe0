"""``POST /users/NAME/inbox``, ``/inbox`` (shared) and ``/actor/inbox``: the request path of DESIGN.md
section 3. Only checks and one INSERT happen here; the side effects run later as a job.

1. the personal inbox's account must exist and be active -> 404, 410;
2. body over 1 MiB -> 413; not a JSON object with type and actor -> 400;
3. from a suspended domain -> 202 and dropped, before any fetch;
4. HTTP signature (draft-cavage or RFC 9421) -> 401, or 503 when the key's server cannot be reached;
5. the key's owner must be the activity's actor -> 401;
6. stored as a job, once per activity id -> 202.

The answers are those of that order, but a delivery signed with a key already in memory takes a shortcut
(bench/inbox.py: the statements were most of a request's CPU): its signature is verified first, which
needs no fetch, and steps 1, 3 and 6 then run together in one write transaction shared with the requests
arriving meanwhile (federation/inbox_intake.py). Anything else on that shortcut -- an unknown or stale key,
a failed check -- goes back to the steps in order, so every refusal is the one the order gives.

Most deliveries take that shortcut before reaching these routes at all: web/inbox_lane.py runs it on the
ASGI request (:func:`accept_with_known_key`) and hands the routes only what it does not answer with 202.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from quart import Blueprint, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from activitypub import jsonld
from activitypub.keycache import NOT_CACHED
from activitypub.parsing import ref, types
from activitypub.signatures import (
    PublicKeyRecord, SignatureError, UnknownKey, VerifiedSignature, verify_request, verify_with_known_key,
)
from cara_fed.federation import inbox_intake
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import is_suspended
from cara_fed.federation.inbox_intake import Delivery, Outcome
from cara_fed.federation.remote_actors import origin
from cara_fed.services import accounts
from cara_fed.web.durability import commits_durably
from cara_fed.web.state import app_state

log = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__)

MAX_INBOX_BYTES = 1024 * 1024  # Mastodon and GoToSocial cap at 1 MiB too (security.md item 29)


def _accepted() -> Response:
    # An empty bytes body, not ``Response(status=202)``: Quart wraps a missing body as an iterable and pulls
    # each item of it through the thread pool (quart/utils.py run_sync_iterable), a thread hop per request.
    return Response(b"", status=202)


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"error": message}), status=status, content_type="application/json")


# Each of them answers 202 only after its activity's commit on the durable connection (inbox_intake).
@bp.post("/users/<username>/inbox")
@commits_durably
async def user_inbox(username: str) -> Response:
    return await _receive(username)


@bp.post("/inbox")
@commits_durably
async def shared_inbox() -> Response:
    return await _receive(None)


@bp.post("/actor/inbox")
@commits_durably
async def instance_inbox() -> Response:
    return await _receive(None)


async def _receive(username: str | None) -> Response:
    parsed = await _parse()
    if isinstance(parsed, Response):
        if username is not None:
            await accounts.check_inbox_owner(username)  # step 1 comes first: 404/410 before 413/400
        return parsed
    body, activity, actor = parsed
    federation = app_state(current_app).federation
    assert federation is not None
    req = request._get_current_object()  # type: ignore[attr-defined]  # the proxy costs a lookup per use
    signed = SignedRequest(req.method, request_target(req.scope), req.headers, req.scheme)
    if await accept_with_known_key(federation, username, signed, body, activity, actor):
        return _accepted()
    return await _in_order(federation, username, body, activity, actor, _signature_key_id())


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """What signature verification reads of a request (the shortcut's callers: this blueprint and
    web/inbox_lane.py, which has no framework request)."""

    method: str
    target: str  # the request target exactly as received
    headers: Mapping[str, str]  # whose ``items()`` yields every repeated field (normalize_headers)
    scheme: str


async def accept_with_known_key(federation: Federation, username: str | None, signed: SignedRequest,
                                body: bytes, activity: dict[str, Any], actor: str) -> bool:
    """The shortcut of the module docstring: True once the activity is stored (or rightly dropped) and 202
    is the answer; False when the steps in order must decide (nothing was stored then). A refused recipient
    raises the route's answer (404 or 410), as ``accounts.check_inbox_owner`` does."""
    verified = _verify_with_known_key(federation, signed, body)
    if verified is None or verified.owner != actor or _foreign_id(activity, actor):
        return False
    # verified.key_id is the keyId the request names (the key cache answers for that id only)
    delivery = Delivery(activity, signer=verified.owner, username=username, hosts=(actor, verified.key_id))
    outcome = await inbox_intake.store(delivery)
    if outcome in (Outcome.STORED, Outcome.DUPLICATE, Outcome.DOMAIN_REFUSED):
        return True
    inbox_intake.raise_for(outcome)
    return False


async def _in_order(federation: Federation, username: str | None, body: bytes, activity: dict[str, Any],
                    actor: str, key_id: str | None) -> Response:
    """Steps 1 and 3 to 6 of the module docstring, one after the other (step 2 is done)."""
    recipient = await accounts.check_inbox_owner(username) if username is not None else None
    if await is_suspended(actor, key_id):
        return _accepted()  # suspended domain: dropped before any fetch (DESIGN.md section 3, step 1)
    try:
        verified = await _verify(federation, body)
    except SignatureError as exc:
        if isinstance(exc, UnknownKey) and _is_self_delete_of_unknown_actor(activity, actor):
            return _accepted()  # a deleted actor's own Delete: nothing to do (security.md item 19)
        log.info("inbox signature refused", extra={"actor": actor, "reason": str(exc)})
        return _error(exc.http_status, "Signature could not be verified" if exc.http_status == 401
                      else "The signing key cannot be fetched now; retry later")
    if verified.owner != actor:
        return _error(401, "The signature belongs to another actor")  # security.md item 1
    if _foreign_id(activity, actor):
        return _accepted()  # an id on another server: accepting it would let it squat that server's ids
    # The intake checks recipient and domain again, in its transaction: a change since is not missed.
    outcome = await inbox_intake.store(Delivery(activity, signer=verified.owner, username=recipient,
                                                hosts=(actor, key_id)))
    inbox_intake.raise_for(outcome)
    return _accepted()


async def _parse() -> tuple[bytes, dict[str, Any], str] | Response:
    """Step 2: the body, the activity (JSON-LD normalised) and its actor, or the error to answer."""
    body = await _read_body(MAX_INBOX_BYTES)
    if body is None:
        return _error(413, "Payload too large")
    parsed = parse_activity(body)
    if isinstance(parsed, str):
        return _error(400, parsed)
    return (body, *parsed)


def parse_activity(body: bytes) -> tuple[dict[str, Any], str] | str:
    """The activity (JSON-LD normalised) and its actor, or why the body is not one (a 400)."""
    try:
        activity: Any = orjson.loads(body)
        if isinstance(activity, dict):
            activity = jsonld.normalize(activity)  # the same dict unless terms are spelled unusually
    except orjson.JSONDecodeError:
        return "Body is not JSON"
    except jsonld.JsonLdError as exc:
        return str(exc)
    actor = ref(activity.get("actor")) if isinstance(activity, dict) else None
    if not isinstance(activity, dict) or not types(activity) or actor is None:
        return "Not an activity: type and actor are required"
    if not actor.startswith(("https://", "http://")) or origin(actor).endswith("://"):  # no host
        return "actor must be an http(s) URL"
    return activity, actor


async def _verify(federation: Federation, body: bytes) -> VerifiedSignature:
    """Step 4 in full: the key from the cache or fetched, refetched once if it does not verify."""
    req = request._get_current_object()  # type: ignore[attr-defined]  # the proxy costs a lookup per use
    # expected_host: a request signed for another server is not replayable here (security.md item 17).
    return await verify_request(req.method, request_target(req.scope), req.headers, body,
                                resolve_key=federation.actors.resolve_key, scheme=req.scheme,
                                expected_host=federation.settings.instance.domain)


def _verify_with_known_key(federation: Federation, signed: SignedRequest,
                           body: bytes) -> VerifiedSignature | None:
    """The shortcut's verification: only with a key already in memory (never a fetch, never a refetch),
    None on any failure (the steps in order then decide the answer)."""
    keys = federation.actors.keys

    def known_key(key_id: str) -> PublicKeyRecord | None:
        found = keys.peek(key_id)
        return None if found is NOT_CACHED else found

    return verify_with_known_key(signed.method, signed.target, signed.headers, body, known_key,
                                 scheme=signed.scheme, expected_host=federation.settings.instance.domain)


def request_target(scope: Mapping[str, Any]) -> str:
    """The ASGI request's target exactly as received (the signature covers it as sent, not re-encoded)."""
    target: str = scope.get("raw_path", scope["path"].encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    return target


async def _read_body(limit: int) -> bytes | None:
    """The body, or None past ``limit`` bytes, read chunk by chunk: the request's body object was created
    with the app-wide (media upload) limit, so the inbox counts for itself and stops at once."""
    if request.content_length is not None and request.content_length > limit:
        return None
    received = bytearray()
    try:
        async for chunk in request.body:
            received += chunk
            if len(received) > limit:
                return None
    except RequestEntityTooLarge:
        return None
    return bytes(received)


def _signature_key_id() -> str | None:
    """keyId (cavage) or keyid (RFC 9421) as sent, only for the domain-block check before verifying."""
    header = request.headers.get("Signature-Input") or request.headers.get("Signature") or ""
    for marker in ('keyId="', 'keyid="'):
        start = header.find(marker)
        if start >= 0:
            end = header.find('"', start + len(marker))
            if end > start:
                return header[start + len(marker):end]
    return None


def _foreign_id(activity: dict[str, Any], actor: str) -> bool:
    activity_id = activity.get("id")
    if not isinstance(activity_id, str):
        return False
    actor_origin = origin(actor)
    # Usually the id starts with the actor's origin and a "/": then urlsplit would find that same scheme and
    # netloc (the netloc ends at the first "/"), so the id (new every time) need not be split and cached.
    return not activity_id.startswith(actor_origin + "/") and origin(activity_id) != actor_origin


def _is_self_delete_of_unknown_actor(activity: dict[str, Any], actor: str) -> bool:
    return "Delete" in types(activity) and ref(activity.get("object")) == actor
