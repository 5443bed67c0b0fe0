"""Incoming activities as durable jobs (DESIGN.md section 3, steps 4 and 5): the inbox stores each one once
(per activity id) and answers 202; this job runs its side effects, with the handler for its type."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from activitypub.parsing import types
from cara_fed.federation import sqlite_batches
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import suspension_query
from cara_fed.federation.host_health import host_is_alive
from cara_fed.federation.stored_actors import forget, row_query, stored_actor
from cara_fed.jobs import queue
from cara_fed.jobs.registry import JobContext, RetryPolicy, job_kind
from cara_fed.models import Account

log = logging.getLogger(__name__)

INBOX_JOB = "inbox.activity"
# Incoming work is retried for a day: the actor's server may be briefly away when we fetch it.
INBOX_POLICY = RetryPolicy(base_seconds=30, factor=2, max_delay_seconds=3600, max_attempts=12,
                           give_up_after_seconds=24 * 3600)


@dataclass(frozen=True)
class Incoming:
    federation: Federation
    activity: dict[str, Any]
    actor: Account  # the verified sender, stored
    recipient: str | None  # local username for a personal inbox, None for the shared inbox


Handler = Callable[[Incoming], Awaitable[None]]
HANDLERS: dict[str, Handler] = {}


def handles(*activity_types: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for activity_type in activity_types:
            HANDLERS[activity_type] = handler
        return handler

    return register


async def enqueue_incoming(activity: dict[str, Any], *, signer: str, recipient: str | None) -> bool:
    """Store the activity as a job; a second delivery of the same id is not stored again (False).
    The inbox's request path goes through federation/inbox_intake.py, which writes the same row."""
    activity_id = activity.get("id")
    unique = f"inbox:{activity_id}" if isinstance(activity_id, str) else None
    job = await queue.enqueue(INBOX_JOB, {"activity": activity, "signer": signer, "recipient": recipient},
                              unique_key=unique)
    return job is not None


@job_kind(INBOX_JOB, policy=INBOX_POLICY)
async def process_incoming(ctx: JobContext) -> None:
    federation: Federation = ctx.services["federation"]
    activity = ctx.payload["activity"]
    activity_types = types(activity)
    handler = next((HANDLERS[t] for t in sorted(activity_types) if t in HANDLERS), None)
    if handler is None:
        log.debug("activity type not handled", extra={"types": sorted(activity_types)})
        return
    signer = ctx.payload["signer"]
    # The sender's row and whether its domain is refused, in one read (with other jobs' reads on SQLite).
    refused = suspension_query(signer)
    found = await sqlite_batches.run(Account._meta.db, [row_query(signer), *([refused] if refused else [])],
                                     write=False)
    if refused and found[1]:
        return  # its domain was suspended (or left the allow-list) after the activity was accepted
    await host_is_alive(signer)  # it talks to us: deliver to it again (if we had stopped)
    actor = await stored_actor(federation.actors, signer, found[0])  # ActorUnavailable: retried later
    if actor.suspended_at is not None:
        return
    try:
        await handler(Incoming(federation, activity, actor, ctx.payload.get("recipient")))
    except BaseException:
        forget(federation.actors, signer)  # the handler may have changed the actor's object without saving it
        raise
