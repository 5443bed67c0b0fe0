"""``POST /users/NAME/inbox``, ``/inbox`` (shared) and ``/actor/inbox``: the request path of DESIGN.md
section 3. Only checks and one INSERT happen here; the side effects run later as a job.

1. body over 1 MiB -> 413; not a JSON object with type and actor -> 400;
2. from a suspended domain -> 202 and dropped, before any fetch;
3. HTTP signature (draft-cavage or RFC 9421) -> 401, or 503 when the key's server cannot be reached;
4. the key's owner must be the activity's actor -> 401;
5. stored as a job, once per activity id -> 202.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import orjson
from quart import Blueprint, Response, abort, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge

from activitypub import jsonld
from activitypub.parsing import ref, types
from activitypub.signatures import SignatureError, UnknownKey, verify_request
from cara_fed.federation.domains import is_suspended
from cara_fed.federation.inbox import enqueue_incoming
from cara_fed.services import accounts
from cara_fed.web.state import app_state

log = logging.getLogger(__name__)
bp = Blueprint("inbox", __name__)

MAX_INBOX_BYTES = 1024 * 1024  # Mastodon and GoToSocial cap at 1 MiB too (security.md item 29)


def _accepted() -> Response:
    return Response(status=202)


def _error(status: int, message: str) -> Response:
    return Response(orjson.dumps({"error": message}), status=status, content_type="application/json")


@bp.post("/users/<username>/inbox")
async def user_inbox(username: str) -> Response:
    return await _receive(recipient=await accounts.check_inbox_owner(username))


@bp.post("/inbox")
async def shared_inbox() -> Response:
    return await _receive(recipient=None)


@bp.post("/actor/inbox")
async def instance_inbox() -> Response:
    return await _receive(recipient=None)


async def _receive(recipient: str | None) -> Response:
    body = await _read_body(MAX_INBOX_BYTES)
    if body is None:
        return _error(413, "Payload too large")
    try:
        activity: Any = orjson.loads(body)
        if isinstance(activity, dict):
            activity = jsonld.normalize(activity)  # the same dict unless terms are spelled unusually
    except orjson.JSONDecodeError:
        return _error(400, "Body is not JSON")
    except jsonld.JsonLdError as exc:
        return _error(400, str(exc))
    actor = ref(activity.get("actor")) if isinstance(activity, dict) else None
    if not isinstance(activity, dict) or not types(activity) or actor is None:
        return _error(400, "Not an activity: type and actor are required")
    if not actor.startswith(("https://", "http://")) or not urlsplit(actor).netloc:
        return _error(400, "actor must be an http(s) URL")

    key_id = _signature_key_id()
    if await is_suspended(actor, key_id):
        return _accepted()  # suspended domain: dropped before any fetch (DESIGN.md section 3, step 1)

    federation = app_state(current_app).federation
    assert federation is not None
    scope = request.scope
    target = scope.get("raw_path", request.path.encode()).decode("latin-1")
    if scope.get("query_string"):
        target += "?" + scope["query_string"].decode("latin-1")
    try:
        # expected_host: a request signed for another server is not replayable here (security.md item 17).
        verified = await verify_request(request.method, target, request.headers, body,
                                        resolve_key=federation.actors.resolve_key, scheme=request.scheme,
                                        expected_host=federation.settings.instance.domain)
    except SignatureError as exc:
        if isinstance(exc, UnknownKey) and _is_self_delete_of_unknown_actor(activity, actor):
            return _accepted()  # a deleted actor's own Delete: nothing to do (security.md item 19)
        log.info("inbox signature refused", extra={"actor": actor, "reason": str(exc)})
        return _error(exc.http_status, "Signature could not be verified" if exc.http_status == 401
                      else "The signing key cannot be fetched now; retry later")
    if verified.owner != actor:
        return _error(401, "The signature belongs to another actor")  # security.md item 1
    activity_id = activity.get("id")
    if isinstance(activity_id, str) and _origin(activity_id) != _origin(actor):
        return _accepted()  # an id on another server: accepting it would let it squat that server's ids
    await enqueue_incoming(activity, signer=verified.owner, recipient=recipient)
    return _accepted()


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


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def _is_self_delete_of_unknown_actor(activity: dict[str, Any], actor: str) -> bool:
    return "Delete" in types(activity) and ref(activity.get("object")) == actor
