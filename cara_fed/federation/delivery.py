"""Outgoing activities (DESIGN.md section 3, "Outgoing post"): a fan-out job resolves the audience to inboxes
(shared inboxes preferred, de-duplicated) and writes one delivery job per inbox; a delivery job signs and
POSTs. 2xx: done. 404, 410 and other 4xx except 408/429: permanent. 5xx, timeouts and 429: retried with
backoff and jitter for two days, honouring Retry-After. Every attempt's outcome is on the job row.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import orjson
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from activitypub.fetch import BlockedDestination, FetchError, InvalidURL, post_json
from activitypub.parsing import addressed
from activitypub.signatures import sign_request
from cara_fed.federation import host_health
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import is_suspended
from cara_fed.jobs import queue
from cara_fed.jobs.registry import JobContext, PermanentJobError, RetryJobLater, job_kind
from cara_fed.models import Account, Follow

log = logging.getLogger(__name__)

FANOUT_JOB = "federation.fanout"
DELIVER_JOB = "federation.deliver"
AS_CONTENT_TYPE = "application/activity+json"


async def enqueue_fanout(activity: dict[str, Any], signer: Account,
                         using_db: BaseDBAsyncClient | None = None) -> None:
    """Deliver ``activity`` to its audience later. Pass the transaction that made the change it announces."""
    await queue.enqueue(FANOUT_JOB, {"activity": activity, "signer_id": signer.id}, using_db=using_db)


async def enqueue_deliveries(activity: dict[str, Any], signer: Account, inboxes: Iterable[str],
                             using_db: BaseDBAsyncClient | None = None, *, once: bool = True) -> int:
    """One delivery job per inbox. ``once``: an activity goes to an inbox once (a re-run fan-out adds
    nothing); False to send it again on purpose (a re-sent Accept)."""
    count = 0
    activity_id = activity.get("id")
    for inbox in dict.fromkeys(i for i in inboxes if i):  # ordered de-duplication
        unique = f"deliver:{activity_id}:{inbox}" if once and isinstance(activity_id, str) else None
        if await queue.enqueue(DELIVER_JOB, {"inbox": inbox, "activity": activity, "signer_id": signer.id},
                               unique_key=unique, using_db=using_db) is not None:
            count += 1
    return count


async def audience_inboxes(activity: dict[str, Any], signer: Account, federation: Federation) -> list[str]:
    """Remote inboxes for everyone the activity addresses: the signer's followers (if addressed) by their
    shared inbox where they have one, and each addressed remote actor."""
    targets = addressed(activity)
    object_ = activity.get("object")
    if isinstance(object_, dict):
        targets |= addressed(object_)
    accounts: list[Account] = []
    if federation.urls.followers(signer.username) in targets:
        accounts += [f.account for f in await Follow.filter(target_account_id=signer.id,
                                                            account__domain__not_isnull=True)
                     .select_related("account")]
    accounts += await Account.filter(uri__in=list(targets), domain__not_isnull=True)
    inboxes: list[str] = []
    for account in accounts:
        inbox = account.shared_inbox_url or account.inbox_url
        if inbox and account.suspended_at is None and not await is_suspended(inbox):
            inboxes.append(inbox)
    return list(dict.fromkeys(inboxes))


@job_kind(FANOUT_JOB)
async def fanout(ctx: JobContext) -> None:
    federation: Federation = ctx.services["federation"]
    signer = await Account.get_or_none(id=ctx.payload["signer_id"])
    if signer is None:
        return
    inboxes = await audience_inboxes(ctx.payload["activity"], signer, federation)
    async with in_transaction() as conn:  # all deliveries or none: a crash here re-runs the fan-out
        await enqueue_deliveries(ctx.payload["activity"], signer, inboxes, using_db=conn)


async def _signing_key(federation: Federation, account_id: int) -> tuple[str, str]:
    cached = federation.signing_keys.get(account_id)
    if cached is not None:
        return cached
    signer = await Account.get_or_none(id=account_id, domain=None)
    if signer is None or not signer.private_key_pem:
        raise PermanentJobError("the signing account is gone")
    key_id = (federation.urls.instance_key_id if signer.actor_type == "Application"
              else federation.urls.key_id(signer.username))
    federation.signing_keys[account_id] = (key_id, signer.private_key_pem)
    return key_id, signer.private_key_pem


@job_kind(DELIVER_JOB)
async def deliver(ctx: JobContext) -> None:
    federation: Federation = ctx.services["federation"]
    inbox: str = ctx.payload["inbox"]
    key_id, pem = await _signing_key(federation, ctx.payload["signer_id"])
    if await is_suspended(inbox):
        # Suspended (or off the allow-list) since this was queued: dropped, as Mastodon drops it; not a
        # failure for the admins' dead-job list, which a retry could never clear.
        log.info("delivery dropped: the destination is refused", extra={"inbox": inbox})
        return
    failing = await host_health.failures(inbox)  # read once: the success below needs it too
    if host_health.unreachable(failing):
        raise PermanentJobError("the destination's host is marked unreachable (failing for days)")
    body = orjson.dumps(ctx.payload["activity"])

    def sign(method: str, url: str, headers: dict[str, str], payload: bytes) -> dict[str, str]:
        return sign_request(method, url, headers, payload, key_id, pem)

    try:
        result = await post_json(federation.http, inbox, body, policy=federation.policy,
                                 headers={"Content-Type": AS_CONTENT_TYPE}, sign=sign)
    except (BlockedDestination, InvalidURL) as exc:
        raise PermanentJobError(str(exc)) from exc
    except FetchError as exc:  # timeouts, refused connections: worth retrying
        await host_health.record_failure(inbox, f"{type(exc).__name__}: {exc}")
        raise RuntimeError(f"{type(exc).__name__}: {exc}") from exc
    status = result.status
    if 200 <= status < 300:
        await host_health.reset_failures(inbox, failing)
        return
    if status == 429 or status == 408 or status >= 500:
        await host_health.record_failure(inbox, f"HTTP {status}")
        if result.retry_after is not None:
            raise RetryJobLater(f"HTTP {status}", after_seconds=result.retry_after)
        raise RuntimeError(f"HTTP {status}")
    raise PermanentJobError(f"HTTP {status}")  # 3xx (not followed for POSTs), 404, 410, other 4xx
