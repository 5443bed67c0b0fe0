"""Search (Mastodon's /api/v2/search and /api/v1/accounts/search without a full-text index): accounts by
handle, username or display-name prefix; hashtags by name prefix; statuses by URL. With ``resolve``, a
``user@host`` handle is looked up with WebFinger and its actor fetched, and a URL is fetched from its
origin (an actor or a post), as Mastodon's ResolveAccountService and ResolveURLService do.

Every remote fetch goes through the federation package (signed, SSRF-safe); failures mean "not found",
never an error for the searcher.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from tortoise.expressions import Q

from activitypub.fetch import FetchError, fetch_json
from activitypub.parsing import ref, types
from cara_fed.db import raw_rows
from cara_fed.federation.actors import ActorUnavailable
from cara_fed.federation.context import Federation
from cara_fed.federation.domains import is_suspended
from cara_fed.federation.handlers.notes import NOTE_TYPES, store_note
from cara_fed.federation.inbox import Incoming
from cara_fed.federation.remote_actors import ACTOR_TYPES, origin
from cara_fed.models import Account, Follow, Status, Tag
from cara_fed.models.accounts import acct_key
from cara_fed.services.account_views import split_handle, visible
from cara_fed.services.visibility import can_see
from webfinger.acct import AcctError
from webfinger.client import WebFingerError, lookup

log = logging.getLogger(__name__)

JRD_ACCEPT = "application/jrd+json, application/json;q=0.9"
TAG_NAME_RE = re.compile(r"\w{1,255}", re.UNICODE)


def is_url(q: str) -> bool:
    return q.startswith(("https://", "http://")) and " " not in q


def _like_prefix(text: str) -> str:
    """A LIKE pattern for ``text%`` with the wildcards in ``text`` escaped (ESCAPE '!')."""
    return text.replace("!", "!!").replace("%", "!%").replace("_", "!_") + "%"


# -- accounts ---------------------------------------------------------------------------------------------

async def search_accounts(federation: Federation, viewer: Account | None, q: str, *, resolve: bool = False,
                          following: bool = False, limit: int = 40, offset: int = 0) -> list[Account]:
    """Accounts matching ``q``: an exact handle first, then username and display-name prefixes (local
    accounts before remote ones). ``following``: only accounts ``viewer`` follows. ``resolve`` (callers
    allow it to signed-in users only): an unknown ``user@host`` is looked up on its server."""
    q = q.strip()
    if not q or limit <= 0:
        return []
    found: list[Account] = []
    if is_url(q):
        if offset == 0:
            result = await resolve_url(federation, q, resolve=resolve)
            if isinstance(result, Account):
                found.append(result)
        return await _only_followed(viewer, found) if following else found
    local_domain = federation.settings.instance.domain
    username, domain = split_handle(q, local_domain)
    if not username:
        return []
    if "@" in q.lstrip("@") and offset == 0:
        exact = await Account.filter(visible(), acct_key=acct_key(username, domain)).first()
        if exact is None and resolve and domain is not None:
            exact = await resolve_handle(federation, username, domain)
        if exact is not None:
            found.append(exact)
    rows = await _prefix_matches(viewer, username, domain if "@" in q.lstrip("@") else None, following,
                                 limit, offset)
    for account in rows:
        if all(a.id != account.id for a in found):
            found.append(account)
    if following:
        found = await _only_followed(viewer, found)
    return found[:limit]


async def _prefix_matches(viewer: Account | None, username: str, domain: str | None, following: bool,
                          limit: int, offset: int) -> list[Account]:
    word = username.lower()
    clauses = ["a.suspended_at IS NULL",
               # remote, or local with an approved login (as account_views.visible)
               "(a.domain IS NOT NULL OR EXISTS (SELECT 1 FROM users u WHERE u.account_id = a.id "
               "AND u.approved = ?))"]
    values: list[object] = [True]
    if domain is not None:
        clauses.append("LOWER(a.username) LIKE ? ESCAPE '!' AND LOWER(COALESCE(a.domain, '')) LIKE ? ESCAPE '!'")
        values += [_like_prefix(word), _like_prefix(domain.lower())]
    else:
        clauses.append("(LOWER(a.username) LIKE ? ESCAPE '!' OR LOWER(a.display_name) LIKE ? ESCAPE '!' "
                       "OR LOWER(a.display_name) LIKE ? ESCAPE '!')")
        values += [_like_prefix(word), _like_prefix(word), "% " + _like_prefix(word)]
    if following:
        if viewer is None:
            return []
        clauses.append("EXISTS (SELECT 1 FROM follows f WHERE f.account_id = ? AND f.target_account_id = a.id)")
        values.append(viewer.id)
    rows = await raw_rows(
        f"SELECT a.id AS id FROM accounts a WHERE {' AND '.join(clauses)} "
        f"ORDER BY CASE WHEN LOWER(a.username) = ? THEN 0 ELSE 1 END, "
        f"CASE WHEN a.domain IS NULL THEN 0 ELSE 1 END, LOWER(a.username), a.id LIMIT ? OFFSET ?",
        [*values, word, limit, offset])
    ids = [int(r["id"]) for r in rows]  # type: ignore[call-overload]
    accounts = {a.id: a for a in await Account.filter(id__in=ids)}
    return [accounts[i] for i in ids if i in accounts]


async def _only_followed(viewer: Account | None, accounts: list[Account]) -> list[Account]:
    if viewer is None or not accounts:
        return []
    followed = set(await Follow.filter(account_id=viewer.id, target_account_id__in=[a.id for a in accounts]
                                       ).values_list("target_account_id", flat=True))
    return [a for a in accounts if a.id in followed]


async def resolve_handle(federation: Federation, username: str, domain: str) -> Account | None:
    """WebFinger ``username@domain`` on its server and fetch the actor it names; None when that fails."""
    if await is_suspended(domain):
        return None

    async def fetch_jrd(url: str) -> Any:
        fetched = await fetch_json(federation.http, url, policy=federation.policy, accept=JRD_ACCEPT,
                                   require_activitystreams=False, check_id=False)
        return fetched.document

    try:
        try:
            found = await lookup(f"{username}@{domain}", fetch_jrd)
        except FetchError:
            if not federation.settings.http_allowed_for(domain.rsplit(":", 1)[0]):
                raise
            # A loopback or explicitly allowed plain-http peer (development, interop tests).
            found = await lookup(f"{username}@{domain}", fetch_jrd, scheme="http")
        if await is_suspended(found.actor_url):
            return None
        account = await federation.actors.get_actor(found.actor_url)
    except (AcctError, WebFingerError, FetchError, ActorUnavailable) as exc:
        log.info("account not resolved", extra={"handle": f"{username}@{domain}", "error": str(exc)})
        return None
    return account if account.suspended_at is None else None


# -- URLs: accounts and statuses ------------------------------------------------------------------------

async def resolve_url(federation: Federation, url: str, *, resolve: bool) -> Account | Status | None:
    """What ``url`` names: one of our accounts or posts, a known remote one, or (``resolve``) one fetched
    from its server now."""
    urls = federation.urls
    if urls.is_local(url):
        local = urls.status_from_url(url)
        if local is not None:
            return await Status.filter(id=local[1], account__username=local[0], account__domain=None,
                                       deleted_at=None).first()
        username = urls.username_from_url(url)
        if username is not None:
            return await Account.filter(visible(), acct_key=acct_key(username, None)).first()
        return await _local_status_page(federation, url)
    known_account = await Account.filter(visible(), Q(uri=url) | Q(url=url)).first()
    if known_account is not None:
        return known_account
    known_status = await Status.filter(Q(uri=url) | Q(url=url), deleted_at=None, reblog_of_id=None).first()
    if known_status is not None:
        return known_status
    if not resolve or await is_suspended(url):
        return None
    return await _fetch_remote(federation, url)


async def _local_status_page(federation: Federation, url: str) -> Status | None:
    """``/@NAME/ID``, the HTML page of a local post."""
    prefix = federation.urls.base + "/@"
    if not url.startswith(prefix):
        return None
    name, _, status_id = url[len(prefix):].partition("/")
    if not status_id.isdigit() or len(status_id) > 19:
        return None
    return await Status.filter(id=int(status_id), account__acct_key=acct_key(name, None), deleted_at=None).first()


async def _fetch_remote(federation: Federation, url: str) -> Account | Status | None:
    try:
        document = await federation.actors.fetch_document(url, follow_id=True)
    except (FetchError, ActorUnavailable) as exc:
        log.info("URL not resolved", extra={"url": url, "error": str(exc)})
        return None
    kinds = types(document)
    try:
        if kinds & set(ACTOR_TYPES):
            account = await federation.actors.actor_from_document(document)
            return account if account.suspended_at is None else None
        if kinds & NOTE_TYPES:
            author_uri = ref(document.get("attributedTo"))
            object_id = ref(document)
            if author_uri is None or object_id is None or origin(author_uri) != origin(object_id):
                return None  # a post is only believed from its author's own server (security.md A2)
            author = await federation.actors.get_actor(author_uri)
            if author.suspended_at is not None:
                return None
            # The inbox's own way of storing a post (federation/handlers/notes.py), with the author as the
            # sender: the document came from the author's server, fetched by its id.
            return await store_note(Incoming(federation=federation, activity={}, actor=author, recipient=None),
                                    document)
    except (FetchError, ActorUnavailable) as exc:
        log.info("URL not resolved", extra={"url": url, "error": str(exc)})
    return None


async def search_statuses(federation: Federation, viewer: Account | None, q: str, *, resolve: bool = False,
                          account_id: int | None = None, offset: int = 0) -> list[Status]:
    """Statuses by URL only (there is no full-text index): the post ``q`` names, if ``viewer`` may see it."""
    q = q.strip()
    if offset > 0 or not is_url(q):
        return []
    found = await resolve_url(federation, q, resolve=resolve)
    if not isinstance(found, Status) or (account_id is not None and found.account_id != account_id):
        return []
    await found.fetch_related("account")
    if not await can_see(found, viewer):
        return []
    return [found]


# -- hashtags ---------------------------------------------------------------------------------------------

async def search_tags(q: str, *, limit: int = 20, offset: int = 0) -> list[Tag]:
    """Hashtags whose name starts with ``q`` (``#`` optional), the exact one and shorter names first."""
    name = q.strip().lstrip("#").lower()
    if not name or not TAG_NAME_RE.fullmatch(name) or limit <= 0:
        return []
    rows = await raw_rows(
        "SELECT id FROM tags WHERE name LIKE ? ESCAPE '!' "
        "ORDER BY CASE WHEN name = ? THEN 0 ELSE 1 END, LENGTH(name), name LIMIT ? OFFSET ?",
        [_like_prefix(name), name, limit, offset])
    ids = [int(r["id"]) for r in rows]  # type: ignore[call-overload]
    tags = {t.id: t for t in await Tag.filter(id__in=ids)}
    return [tags[i] for i in ids if i in tags]
