"""Drives a bovine-herd user with bovine's own client (``bovine.BovineClient``, Moo-Auth-1).

Runs in the bovine virtualenv (not the cara_fed one):

  bovine_driver.py setup --domain URL --handle NAME
      creates the tables, registers NAME, gives it a new Ed25519 key; prints {"secret", "actor_id", ...}
  bovine_driver.py serve --domain URL --secret S
      one client for the whole test: reads one JSON command per line on stdin, answers one JSON line:
        {"command": "follow", "target": ACTOR_URL}
        {"command": "accept", "follower": ACTOR_URL, "timeout": T}   waits for that actor's Follow, accepts it
        {"command": "post", "text": TEXT}                             a public Note to alice's followers
        {"command": "wait-inbox", "type": TYPE, "actor": URL, "timeout": T}
        {"command": "inbox"}
      An answer is {"ok": RESULT} or {"error": TEXT, ...}. Waiting polls the inbox (never a fixed sleep).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import traceback
from typing import Any


def _emit(value: Any) -> None:
    print(json.dumps(value, default=str), flush=True)


async def setup(domain: str, handle: str) -> dict[str, str]:
    from bovine.crypto import generate_ed25519_private_key, private_key_to_did_key
    from bovine_store import bovine_admin_store
    from tortoise import Tortoise

    db_url = "sqlite://herd.sqlite3"
    async with bovine_admin_store(db_url=db_url):
        await Tortoise.generate_schemas()
    async with bovine_admin_store(db_url=db_url, domain=domain) as store:
        bovine_name = await store.register(handle)
        secret = generate_ed25519_private_key()
        did_key = private_key_to_did_key(secret)
        await store.add_identity_string_to_actor(bovine_name, did_key.removeprefix("did:key:"), did_key)
        actor = await store.actor_for_name(bovine_name)
        actor_id = actor.actor_object.id
        await actor.session.close()
    return {"bovine_name": bovine_name, "secret": secret, "actor_id": actor_id}


class TimedOut(Exception):
    def __init__(self, details: dict[str, Any]) -> None:
        super().__init__("timed out")
        self.details = details


async def _items(client: Any) -> list[dict[str, Any]]:
    return [item async for item in client.inbox()]


def _id(value: Any) -> Any:
    return value.get("id") if isinstance(value, dict) else value


async def wait_for(client: Any, kind: str, actor: str | None, timeout: float) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        items = await _items(client)
        for item in items:
            if item.get("type") == kind and (actor is None or _id(item.get("actor")) == actor):
                return item
        if time.monotonic() > deadline:
            raise TimedOut({"wanted": kind, "actor": actor, "inbox": items})
        await asyncio.sleep(0.2)


async def handle(client: Any, command: dict[str, Any]) -> Any:
    activity_factory, object_factory = client.factories
    name = command["command"]
    timeout = float(command.get("timeout", 15))
    if name == "follow":
        follow = activity_factory.follow(command["target"]).build()
        response = await client.send_to_outbox(follow)
        return {"status": response.status, "location": response.headers.get("location"), "sent": follow}
    if name == "accept":
        follow = await wait_for(client, "Follow", command["follower"], timeout)
        accept = activity_factory.accept(follow).build()
        response = await client.send_to_outbox(accept)
        return {"status": response.status, "location": response.headers.get("location"), "follow": follow,
                "sent": accept}
    if name == "post":
        note = object_factory.note(content=command["text"]).as_public().build()
        create = activity_factory.create(note).build()
        response = await client.send_to_outbox(create)
        return {"status": response.status, "location": response.headers.get("location"), "sent": create}
    if name == "wait-inbox":
        return await wait_for(client, command["type"], command.get("actor"), timeout)
    if name == "inbox":
        return await _items(client)
    raise ValueError(f"unknown command {name!r}")


async def serve(domain: str, secret: str) -> None:
    from bovine import BovineClient

    loop = asyncio.get_running_loop()
    async with BovineClient(domain=domain, secret=secret) as client:
        _emit({"ok": {"ready": client.actor_id}})
        while line := await loop.run_in_executor(None, sys.stdin.readline):
            try:
                _emit({"ok": await handle(client, json.loads(line))})
            except TimedOut as exc:
                _emit({"error": "timed out", **exc.details})
            except Exception as exc:  # noqa: BLE001 - reported to the test, which fails with it
                _emit({"error": f"{type(exc).__name__}: {exc}", "traceback": traceback.format_exc()})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["setup", "serve"])
    parser.add_argument("--domain", required=True)
    parser.add_argument("--handle")
    parser.add_argument("--secret")
    args = parser.parse_args()
    if args.mode == "setup":
        _emit(asyncio.run(setup(args.domain, args.handle)))
    else:
        asyncio.run(serve(args.domain, args.secret))


if __name__ == "__main__":
    main()
