"""The streaming API (docs: methods/streaming): ``GET /api/v1/streaming`` as a WebSocket. The token comes in
the ``Authorization`` header, the ``access_token`` query parameter, or as ``Sec-WebSocket-Protocol`` (then
echoed back, or Chrome drops the socket: GoToSocial internal/api/client/streaming/stream.go). Streams:
``user``, ``user:notification``, ``public`` (``:local``, ``:remote``, ``:media``), ``hashtag``
(``:local``); events ``update``, ``notification``, ``delete``, ``status.update``. Frames from the client
(``{"type": "subscribe", "stream": "hashtag", "tag": "art"}``) add and remove streams."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import orjson
from quart import Blueprint, Response, current_app, websocket

from cara_fed.api.entities.notifications import notifications_to_api
from cara_fed.api.entities.statuses import statuses_to_api
from cara_fed.federation.urls import LocalUrls
from cara_fed.services.streaming import KNOWN_STREAMS, Batch, StreamHub, Subscriber
from cara_fed.services.tokens import authenticate
from cara_fed.web.state import app_state

bp = Blueprint("api_streaming", __name__)

READ_SCOPES = ("read", "read:statuses", "read:notifications")


def hub() -> StreamHub:
    state = app_state(current_app)
    if state.streams is None:
        settings = state.settings
        urls = LocalUrls(settings)

        async def render(subscriber: Subscriber, batch: Batch) -> None:
            await deliver(subscriber, batch, urls)

        state.streams = StreamHub(settings.api.streaming_poll_seconds, render)
    return state.streams


async def deliver(subscriber: Subscriber, batch: Batch, urls: LocalUrls) -> None:
    """Send one poll's news to one stream, rendered for its viewer."""
    await subscriber.refresh_scope()
    wanted_names = {name for name, _ in subscriber.subscriptions}
    for event, statuses in (("update", batch.statuses), ("status.update", batch.edited)):
        routed = [(status, subscriber.streams_for(status)) for status in statuses]
        routed = [(status, streams) for status, streams in routed if streams]
        if routed:
            entities = await statuses_to_api([s for s, _ in routed], urls, subscriber.viewer)
            for (_status, streams), entity in zip(routed, entities, strict=True):
                for stream in streams:
                    await subscriber.send(stream, event, entity)
    if batch.deleted and wanted_names & {"user", "public", "public:local", "public:remote", "hashtag",
                                         "hashtag:local", "public:media"}:
        for status_id in batch.deleted:
            await subscriber.send(["user"] if "user" in wanted_names else [sorted(wanted_names)[0]], "delete",
                                  str(status_id))
    mine = [n for n in batch.notifications if n.account_id == subscriber.viewer.id
            and n.from_account_id not in subscriber.hidden]
    if mine and wanted_names & {"user", "user:notification"}:
        for entity in await notifications_to_api(mine, urls, subscriber.viewer):
            for name in ("user", "user:notification"):
                if name in wanted_names:
                    await subscriber.send([name], "notification", entity)


def _subscription(stream: str | None, tag: str | None) -> tuple[str, str | None] | None:
    if not stream or stream not in KNOWN_STREAMS:
        return None
    if stream.startswith("hashtag"):
        if not tag:
            return None
        return stream, tag.lstrip("#").lower()
    return stream, None


@bp.websocket("/api/v1/streaming")
@bp.websocket("/api/v1/streaming/")
async def streaming() -> Response | None:
    header = websocket.headers.get("Authorization", "")
    protocol = websocket.headers.get("Sec-WebSocket-Protocol", "").strip()
    token = (header[7:].strip() if header.lower().startswith("bearer ") else "") or websocket.args.get(
        "access_token", "") or protocol
    auth = await authenticate(token) if token else None
    if auth is None or auth.account is None or not auth.acts:
        return Response(orjson.dumps({"error": "Missing access token"}), status=401,
                        content_type="application/json")
    if not auth.allows(*READ_SCOPES):
        return Response(orjson.dumps({"error": "This action is outside the authorized scopes"}), status=403,
                        content_type="application/json")
    await websocket.accept(subprotocol=protocol if protocol and protocol == token else None)
    outgoing: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1000)

    async def send(stream: list[str], event: str, payload: Any) -> None:
        body = payload if isinstance(payload, str) else orjson.dumps(payload).decode()
        frame = orjson.dumps({"stream": stream, "event": event, "payload": body})
        with contextlib.suppress(asyncio.QueueFull):  # a client that stops reading loses events, not memory
            outgoing.put_nowait(frame)

    subscriber = Subscriber(viewer=auth.account, send=send)
    first = _subscription(websocket.args.get("stream"), websocket.args.get("tag"))
    if first is not None:
        subscriber.subscriptions.add(first)
    streams = hub()
    streams.subscribe(subscriber)

    async def writer() -> None:
        while True:
            await websocket.send((await outgoing.get()).decode())

    async def watchdog() -> None:
        """A stream lives only as long as its token: revoked, suspended or locked out, it is closed
        (security.md F-43: a suspended account must not keep reading)."""
        interval = min(10.0, max(0.5, 20 * streams.poll_seconds))
        while True:
            await asyncio.sleep(interval)
            auth = await authenticate(token)
            if auth is None or not auth.acts:
                await websocket.close(1008, "The access token is invalid")
                return

    writing = asyncio.create_task(writer())
    watching = asyncio.create_task(watchdog())
    try:
        while True:
            message = await websocket.receive()
            try:
                command = orjson.loads(message)
            except orjson.JSONDecodeError:
                continue
            if not isinstance(command, dict):
                continue
            wanted = _subscription(command.get("stream"), command.get("tag"))
            if wanted is None:
                continue
            if command.get("type") == "subscribe":
                subscriber.subscriptions.add(wanted)
            elif command.get("type") == "unsubscribe":
                subscriber.subscriptions.discard(wanted)
    finally:
        streams.unsubscribe(subscriber)
        for task in (writing, watching):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    return None
