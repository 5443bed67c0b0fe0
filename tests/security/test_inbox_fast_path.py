"""The inbox's shortcut for signing keys already in memory (web/inbox.py, federation/inbox_intake.py): the
signature is verified before the recipient and domain checks, which then run in the job's write
transaction. Nothing it skips may change an answer: a domain or a recipient suspended after the key was
cached is refused at once (nothing cached there), a bad signature still costs one refetch at most (security.md
item 18), and deliveries arriving together share a transaction without losing or doubling one (item 20)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from activitypub.keycache import NOT_CACHED
from cara_fed.models import Account, DomainBlock, Job
from tests.security.conftest import EVE, EVE_KEY, LOCAL, MIRA, Site, activity, create, note


async def known_key(site: Site) -> None:
    """A first delivery puts Eve's key in memory: the next ones take the shortcut."""
    assert (await site.post(create(EVE, note(EVE))))[0] == 202
    assert site.instance.federation.actors.keys.peek(EVE_KEY) is not NOT_CACHED


async def test_a_domain_suspended_after_its_key_was_cached_is_dropped_at_once(site: Site) -> None:
    await known_key(site)
    await site.drain()
    with site.db():
        await DomainBlock.create(domain="remote.example", severity="suspend")
    jobs, before = await site.inbox_jobs(), await site.snapshot()
    site.fediverse.requests.clear()

    status, _ = await site.post(create(EVE, note(EVE)))

    assert status == 202
    assert await site.inbox_jobs() == jobs  # dropped, not queued
    await site.drain()
    assert site.fediverse.requests == []
    await site.assert_unchanged(before)


async def test_allow_list_mode_turned_on_after_the_key_was_cached_drops_at_once(site: Site) -> None:
    from cara_fed.services import domain_policy

    await known_key(site)
    with site.db():
        await domain_policy.set_allowlist_mode(True)
    jobs = await site.inbox_jobs()

    assert (await site.post(create(EVE, note(EVE))))[0] == 202
    assert await site.inbox_jobs() == jobs


async def test_a_recipient_suspended_or_missing_after_the_key_was_cached_is_refused(site: Site) -> None:
    await known_key(site)
    with site.db():
        await Account.filter(id=site.mira.id).update(suspended_at=datetime.now(UTC))
    jobs = await site.inbox_jobs()

    suspended, _ = await site.post(activity("Follow", EVE, MIRA), path="/users/mira/inbox")
    missing, _ = await site.post(activity("Follow", EVE, f"{LOCAL}/users/ghost"), path="/users/ghost/inbox")

    assert (suspended, missing) == (410, 404)
    assert await site.inbox_jobs() == jobs


async def test_a_bad_signature_with_a_cached_key_is_refused_with_one_refetch(site: Site) -> None:
    await known_key(site)
    site.fediverse.requests.clear()
    other = site.bob_keys.private_pem  # signed with another key than the one Eve publishes

    answers = [(await site.post(create(EVE, note(EVE)), private_pem=other))[0] for _ in range(5)]

    assert answers == [401] * 5
    assert len(site.requests_to(EVE)) <= 1  # the refetch budget is untouched by the shortcut


async def test_deliveries_arriving_together_are_each_stored_once(site: Site) -> None:
    await known_key(site)
    jobs = await site.inbox_jobs()
    creates = [create(EVE, note(EVE)) for _ in range(12)]

    # every activity twice, all at once: they share transactions, the unique key keeps one of each
    answers = await asyncio.gather(*(site.post(body, path=path) for body in creates
                                     for path in ("/inbox", "/users/mira/inbox")))

    assert [status for status, _ in answers] == [202] * 24
    assert await site.inbox_jobs() == jobs + 12
    with site.db():
        recipients = await Job.filter(kind="inbox.activity").values_list("payload", flat=True)
    assert {p["activity"]["id"] for p in recipients} >= {c["id"] for c in creates}
    await site.drain()
    await site.assert_no_failed_jobs()
