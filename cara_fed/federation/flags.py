"""Outgoing ``Flag``: a report forwarded to the reported account's server (Mastodon's ReportService
#forward_to_origin! and #forward_to_replied_to!, ActivityPub::FlagSerializer).

Mastodon sends it from its instance actor (``Account.representative``), never from the reporter, so the
other server's moderators learn what was reported and why but not by whom. ``object`` lists the account
then the reported posts; ``content`` is the reporter's comment. The id is a fresh URL under our origin
(Mastodon's TagManager#generate_uri_for: root URL + a random UUID), not a dereferenceable document."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from cara_fed.federation.contexts import AS_CONTEXT
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account, Status


def new_flag_id(urls: LocalUrls) -> str:
    return f"{urls.base}/{uuid.uuid4()}"


def flag_activity(urls: LocalUrls, flag_id: str, target: Account, statuses: Iterable[Status], comment: str
                  ) -> dict[str, Any]:
    objects = [target.uri or urls.actor(target.username)]
    objects += [s.uri or urls.status(target.username, s.id) for s in statuses]
    return {"@context": AS_CONTEXT, "id": flag_id, "type": "Flag", "actor": urls.instance_actor,
            "content": comment, "object": objects}


async def enqueue_flag(instance_actor: Account, activity: dict[str, Any], inboxes: Iterable[str],
                       using_db: BaseDBAsyncClient | None = None) -> int:
    """One delivery per inbox, signed with the instance actor's key; in the caller's transaction."""
    return await enqueue_deliveries(activity, instance_actor, inboxes, using_db=using_db)
