"""Portfolios of other servers' artists (issue 6 point 3): an actor whose document links ``portfolio`` (our
context term: another cara_fed) has that collection read and its works kept here as ``Work`` rows of the
remote account, in order, with their series, so its profile here can show them.

When: the actor's document was fetched (federation/actors.py, at most once a day per actor) or sent in an
``Update``; an ``Add``/``Remove``/``Update`` names a collection of the actor's that is not ``featured``
(federation/handlers/updates.py). Each is a job (``SYNC_JOB``) that reads the whole collection again: order
and membership are then always the origin's, whatever order the activities arrive in. (A change to a
collection of the actor's that is no portfolio, e.g. Mastodon's featured tags, costs one fetch of the
actor's document, which then shows no portfolio.)

Trust and bounds (security.md A, DESIGN.md section 3): every fetch is a signed GET through the SSRF-safe
client (RemoteActors.fetch_document: the id must be the URL); the collection, its pages, its series and
its works must all be on the actor's own origin, and a Note must be attributed to the actor. At most
``MAX_PAGES`` pages and ``MAX_WORKS`` works of the portfolio, ``MAX_SERIES`` series of one page each, and the
actor's ``featured`` collection (its pins here are set to what it holds, among the posts we have); a Note
not stored yet is fetched once and stored by handlers/notes.store_note (its images cached by their job).
A Note we cannot fetch is left out this time; a collection we cannot fetch retries the job later, except
404/410: the portfolio is gone and so are its works here.

There is no Account column for the portfolio's URL: a change naming a collection makes the job read the
actor's document again to learn it (one more signed GET).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from activitypub.fetch import FetchError, HTTPStatusError
from activitypub.parsing import as_list, ref, types
from cara_fed.federation.actors import ActorUnavailable
from cara_fed.federation.context import Federation
from cara_fed.federation.handlers.notes import NOTE_TYPES, store_note
from cara_fed.federation.inbox import Incoming
from cara_fed.federation.portfolio import licence_from_url
from cara_fed.federation.remote_actors import origin, plain_text
from cara_fed.jobs.queue import enqueue
from cara_fed.jobs.registry import JobContext, RetryPolicy, job_kind
from cara_fed.models import Account, Series, Status, StatusPin, Work

log = logging.getLogger(__name__)

SYNC_JOB = "portfolio.sync_remote"
# The origin may be briefly away: retried for a day (as incoming activities are: federation/inbox.py).
SYNC_POLICY = RetryPolicy(base_seconds=60, factor=2, max_delay_seconds=3600, max_attempts=10,
                          give_up_after_seconds=24 * 3600)
MAX_PAGES = 2
MAX_WORKS = 80
MAX_SERIES = 10
MAX_PINS = 20  # of the featured collection (Mastodon allows 5 manual pins; we mirror 4 works besides)
COLLECTION_TYPES = frozenset({"OrderedCollection", "Collection"})
PAGE_TYPES = frozenset({"OrderedCollectionPage", "CollectionPage", *COLLECTION_TYPES})


def portfolio_of(document: dict[str, Any], actor_uri: str) -> str | None:
    """The ``portfolio`` an actor document links, if it is on the actor's origin."""
    url = ref(document.get("portfolio"))
    return url if url and url.startswith(("https://", "http://")) and origin(url) == origin(actor_uri) else None


async def actor_seen(account: Account, document: dict[str, Any], *, reason: str) -> None:
    """An actor document was stored: read its portfolio (or forget the works of one it no longer has).
    ``reason`` keeps one job per cause (a day, an activity id)."""
    if account.domain is None or not account.uri:
        return
    url = portfolio_of(document, account.uri)
    if url is None and not await Work.filter(account_id=account.id).exists():
        return
    await enqueue(SYNC_JOB, {"account_id": account.id, "portfolio": url, "known": True},
                  unique_key=f"{SYNC_JOB}:{account.id}:{reason}")


async def fetched_actor(account: Account, document: dict[str, Any]) -> None:
    """federation/actors.py stored a fetched actor document (at most one job per actor and day)."""
    await actor_seen(account, document, reason=f"fetched:{datetime.now(UTC).date().isoformat()}")


async def collection_changed(incoming: Incoming, collection: str | None) -> None:
    """An ``Add``/``Remove``/``Update`` names ``collection``, one of the actor's but not ``featured``:
    if it is their portfolio or one of its series, read the portfolio again."""
    actor = incoming.actor
    if collection is None or not actor.uri or origin(collection) != origin(actor.uri):
        return
    activity_id = ref(incoming.activity) or f"{collection}:{datetime.now(UTC).timestamp()}"
    await enqueue(SYNC_JOB, {"account_id": actor.id, "portfolio": None, "target": collection},
                  unique_key=f"{SYNC_JOB}:{actor.id}:{activity_id}")


async def note_updated(status: Status, document: dict[str, Any]) -> None:
    """A remote Note was updated (handlers/updates.py): its work's fields follow."""
    fields = work_fields(document)
    if fields:
        await Work.filter(status_id=status.id).update(**fields, updated_at=datetime.now(UTC))


def work_fields(document: dict[str, Any]) -> dict[str, Any]:
    year = document.get("year")
    return {"title": plain_text(document.get("name"), 255), "medium": plain_text(document.get("medium"), 255),
            "year": year if isinstance(year, int) and not isinstance(year, bool) and 0 < year < 10_000 else None,
            "licence": licence_from_url(ref(document.get("license")))}


# -- the job ------------------------------------------------------------------------------------------------

class _Reader:
    """Signed, bounded reads on one actor's origin."""

    def __init__(self, federation: Federation, account: Account) -> None:
        self.federation = federation
        self.account = account
        self.origin = origin(account.uri or "")

    def mine(self, url: str | None) -> bool:
        return bool(url) and origin(url or "") == self.origin

    async def get(self, url: str) -> dict[str, Any]:
        if not self.mine(url):
            raise FetchError(f"{url} is not on {self.origin}")
        return await self.federation.actors.fetch_document(url)

    async def items(self, collection: dict[str, Any], limit: int, pages: int) -> list[str]:
        """The ids a collection lists, in order: its own items, then its pages (``first``, ``next``)."""
        found: list[str] = []
        page: Any = collection
        fetched = 0
        while True:
            for item in as_list(page.get("orderedItems") or page.get("items")):
                item_id = ref(item)
                if self.mine(item_id) and item_id not in found:
                    found.append(item_id)  # type: ignore[arg-type]
            link = page.get("first") if page is collection else page.get("next")
            if len(found) >= limit or link is None or fetched >= pages:
                return found[:limit]
            if not isinstance(link, dict):
                link = await self.get(ref(link) or "")
                fetched += 1
            page = link
            if not types(page) & PAGE_TYPES:
                return found[:limit]


async def _note(reader: _Reader, federation: Federation, account: Account, uri: str
                ) -> tuple[Status, dict[str, Any] | None] | None:
    """The stored post of ``uri`` (fetched and stored when new), with its document when it was fetched.
    None when it is not a Note of this actor we can have."""
    status = await Status.filter(uri=uri).first()
    if status is not None and await Work.filter(status_id=status.id).exists():
        return (status, None) if status.account_id == account.id and status.deleted_at is None else None
    try:
        document = await reader.get(uri)
    except (FetchError, ActorUnavailable) as exc:
        log.info("portfolio work not fetched", extra={"uri": uri, "error": str(exc)[:200]})
        return None
    if ref(document) != uri or not types(document) & NOTE_TYPES or ref(document.get("attributedTo")) != account.uri:
        return None
    if status is None:
        status = await store_note(Incoming(federation, {}, account, None), document)
    if status is None or status.account_id != account.id or status.deleted_at is not None:
        return None
    return status, document


async def sync(federation: Federation, account: Account, portfolio_url: str | None) -> None:
    """Make the account's works here the first ``MAX_WORKS`` of its portfolio, in its order."""
    reader = _Reader(federation, account)
    ordered: list[str] = []
    series_docs: list[tuple[dict[str, Any], list[str]]] = []
    if portfolio_url is not None:
        try:
            root = await reader.get(portfolio_url)
        except HTTPStatusError as exc:
            if exc.status not in (404, 410):
                raise
            root = {}  # gone: so are its works
        if root and types(root) & COLLECTION_TYPES:
            ordered = await reader.items(root, MAX_WORKS, MAX_PAGES)
            for entry in as_list(root.get("series"))[:MAX_SERIES]:
                series_id = ref(entry)
                if not reader.mine(series_id):
                    continue
                try:
                    document = await reader.get(series_id or "")
                    series_docs.append((document, await reader.items(document, MAX_WORKS, 1)))
                except FetchError as exc:
                    log.info("portfolio series not fetched", extra={"uri": series_id, "error": str(exc)[:200]})
    works: list[tuple[Status, dict[str, Any] | None]] = []
    for uri in ordered:
        found = await _note(reader, federation, account, uri)
        if found is not None:
            works.append(found)
    await _store(account, works, series_docs)
    await _sync_featured(reader, account)


async def _sync_featured(reader: _Reader, account: Account) -> None:
    """The actor's pins here become its ``featured`` collection as it is now (the mirrored top works
    included), among the posts we have: Add/Remove keep them in step afterwards (handlers/updates.py), but
    pins made before we knew the actor never came as activities. Mastodon reads featured the same way
    (ActivityPub::FetchFeaturedCollectionService)."""
    if not reader.mine(account.featured_url):
        return
    try:
        document = await reader.get(account.featured_url or "")
    except FetchError as exc:
        log.info("featured collection not fetched", extra={"uri": account.featured_url, "error": str(exc)[:200]})
        return
    if not types(document) & COLLECTION_TYPES:
        return
    uris = await reader.items(document, MAX_PINS, 1)
    pinned = {s.id for s in await Status.filter(uri__in=uris or [""], account_id=account.id, deleted_at=None)}
    async with in_transaction() as conn:
        await StatusPin.filter(account_id=account.id).exclude(status_id__in=pinned or [0]).using_db(conn).delete()
        have = set(await StatusPin.filter(account_id=account.id).using_db(conn).values_list("status_id", flat=True))
        for status_id in pinned - have:
            await StatusPin.create(account_id=account.id, status_id=status_id, using_db=conn)


async def _store(account: Account, works: list[tuple[Status, dict[str, Any] | None]],
                 series_docs: list[tuple[dict[str, Any], list[str]]]) -> None:
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        # Series: the origin's, by collection id, in its order (a repeated name is skipped: names are unique).
        kept_series: dict[str, tuple[int, list[str]]] = {}
        names: set[str] = set()
        for position, (document, items) in enumerate(series_docs):
            uri, name = ref(document), plain_text(document.get("name"), 255) or "Series"
            if uri is None or name in names:
                continue
            names.add(name)
            row = await Series.filter(uri=uri, account_id=account.id).using_db(conn).first()
            values = {"name": name, "description": plain_text(document.get("summary"), 2000), "position": position}
            if row is None:
                await Series.filter(account_id=account.id, name=name).exclude(uri=uri).using_db(conn).delete()
                row = await Series.create(account=account, uri=uri, **values, using_db=conn)
            else:
                await Series.filter(id=row.id).using_db(conn).update(**values)
            kept_series[uri] = (row.id, items)
        await Series.filter(account_id=account.id).exclude(id__in=[v[0] for v in kept_series.values()] or [0]).using_db(
            conn).delete()
        membership = {note: (series_id, index) for series_id, items in kept_series.values()
                      for index, note in enumerate(items)}
        # Works: in the portfolio's order; those it no longer lists go (their posts stay).
        status_ids = [status.id for status, _ in works]
        await Work.filter(account_id=account.id).exclude(status_id__in=status_ids or [0]).using_db(conn).delete()
        existing = {w.status_id: w for w in await Work.filter(account_id=account.id).using_db(conn)}
        for position, (status, document) in enumerate(works):
            series_id, series_position = membership.get(status.uri or "", (None, 0))
            values: dict[str, Any] = {"position": position, "series_id": series_id,
                                      "series_position": series_position, "updated_at": now}
            if document is not None:
                values.update(work_fields(document))
            if status.id in existing:
                await Work.filter(id=existing[status.id].id).using_db(conn).update(**values)
            else:
                await Work.create(account=account, status=status, **values, using_db=conn)


@job_kind(SYNC_JOB, policy=SYNC_POLICY)
async def sync_job(ctx: JobContext) -> None:
    federation: Federation = ctx.services["federation"]
    account = await Account.filter(id=ctx.payload["account_id"], suspended_at=None).first()
    if account is None or account.domain is None or not account.uri:
        return
    portfolio_url = ctx.payload.get("portfolio")
    if not ctx.payload.get("known"):
        try:
            document = await federation.actors.fetch_document(account.uri)
        except FetchError as exc:
            raise RuntimeError(f"actor {account.uri}: {exc}") from exc
        portfolio_url = portfolio_of(document, account.uri)
        if portfolio_url is None and not await Work.filter(account_id=account.id).exists():
            return  # not a cara_fed portfolio: the change was to some other collection of theirs
    try:
        await sync(federation, account, portfolio_url)
    except FetchError as exc:  # the origin is away: later
        raise RuntimeError(f"portfolio {portfolio_url}: {exc}") from exc
