"""The instance itself: its actor (created once, at start-up, with its key pair) and its public figures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from tortoise.exceptions import IntegrityError

from activitypub.keys import generate_rsa_keypair
from cara_fed.models import Account, Status, User
from cara_fed.settings import Settings, split_host_port

INSTANCE_ACTOR_TYPE = "Application"


async def ensure_instance_actor(settings: Settings) -> Account:
    """The instance actor's row, created with its RSA key pair the first time (never on a request path).
    Its username is the instance's host name, as Mastodon's (so no user can take that name)."""
    existing = await instance_actor()
    if existing is not None:
        return existing
    keys = await asyncio.to_thread(generate_rsa_keypair)
    username = split_host_port(settings.instance.domain)[0]
    try:
        return await Account.create(username=username, domain=None, actor_type=INSTANCE_ACTOR_TYPE,
                                    display_name=settings.instance.name, discoverable=False,
                                    public_key_pem=keys.public_pem, private_key_pem=keys.private_pem)
    except IntegrityError:  # another process created it first
        created = await instance_actor()
        if created is None:
            raise
        return created


async def instance_actor() -> Account | None:
    return await Account.filter(domain=None, actor_type=INSTANCE_ACTOR_TYPE).order_by("id").first()


async def node_stats() -> tuple[int, int, int, int]:
    """(users, active in 30 days, active in 180 days, local posts). Active = signed in or posted."""
    now = datetime.now(UTC)
    users = await User.filter(approved=True, account__suspended_at=None).count()

    async def active_since(days: int) -> int:
        since = now - timedelta(days=days)
        signed_in = set(await User.filter(last_sign_in_at__gte=since).values_list("account_id", flat=True))
        posted = set(await Status.filter(local=True, created_at__gte=since, account__user__isnull=False)
                     .distinct().values_list("account_id", flat=True))
        return len(signed_in | posted)

    posts = await Status.filter(local=True, deleted_at=None, reblog_of=None).count()
    return users, await active_since(30), await active_since(180), posts
