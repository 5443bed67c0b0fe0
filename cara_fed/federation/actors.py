"""The remote actor and key cache (DESIGN.md section 2): fetch actors with a signed GET as the instance
actor, keep them as ``Account`` rows, and resolve signature keys for the inbox.

Keys are looked up in memory first (activitypub.keycache: TTL, one fetch per key however many requests
wait, at most one refetch per cool-off), then in the database (it survives restarts), then on the network.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urldefrag

import aiohttp
from tortoise.exceptions import IntegrityError

from activitypub import jsonld
from activitypub.fetch import (
    BadContentType,
    BlockedDestination,
    FetchError,
    HTTPStatusError,
    IdMismatch,
    InvalidDocument,
    InvalidURL,
    TooLarge,
    fetch_json,
)
from activitypub.keycache import KeyCache
from activitypub.netpolicy import NetworkPolicy
from activitypub.signatures import KeyUnavailable, PublicKeyRecord, sign_request
from cara_fed.federation.domains import is_suspended, new_account_policy
from cara_fed.federation.remote_actors import InvalidActor, ap_to_account_fields, origin, public_keys
from cara_fed.federation.urls import LocalUrls
from cara_fed.models import Account

log = logging.getLogger(__name__)

ACTOR_REFRESH_AFTER = timedelta(days=1)


class ActorUnavailable(Exception):
    """The actor could not be fetched (network, policy or a bad document)."""


async def _refuse_blocked(url: str) -> None:
    if await is_suspended(url):
        raise BlockedDestination(url, "the domain is suspended or not allowed here")


async def _portfolio_seen(account: Account, document: dict[str, Any]) -> None:
    """Another cara_fed's artist: their portfolio is read in a job (federation/portfolio_remote.py)."""
    from cara_fed.federation import portfolio_remote  # imported late: it imports this module

    await portfolio_remote.fetched_actor(account, document)


class RemoteActors:
    def __init__(self, http: aiohttp.ClientSession, policy: NetworkPolicy, urls: LocalUrls) -> None:
        self.http = http
        self.policy = policy
        self.urls = urls
        self._instance_key: tuple[str, str] | None = None
        self._distrusted: set[str] = set()  # key ids whose stored copy just failed a verification
        self._from_database: set[str] = set()  # cached key ids last read from the database, not fetched
        self.keys = KeyCache(self._load_key)

    # -- signed fetches -----------------------------------------------------------------------------------

    async def _signer(self) -> Any:
        if self._instance_key is None:
            # The instance actor (services.instance creates it at start-up; federation only reads it).
            actor = await Account.filter(domain=None, actor_type="Application").order_by("id").first()
            if actor is None or not actor.private_key_pem:
                raise ActorUnavailable("the instance actor has no key yet")
            self._instance_key = (self.urls.instance_key_id, actor.private_key_pem)
        key_id, pem = self._instance_key

        def sign(method: str, url: str, headers: Mapping[str, str], body: bytes) -> dict[str, str]:
            return sign_request(method, url, headers, body or None, key_id, pem)

        return sign

    async def fetch_document(self, url: str, *, follow_id: bool = False) -> dict[str, Any]:
        """GET an ActivityStreams document as the instance actor (bovine and authorized-fetch Mastodon
        refuse unsigned GETs), through the SSRF-safe client; its id must be the URL.

        ``follow_id``: a page URL (``/@artist/123``) may answer with the object whose id is its canonical
        URL; then that id is fetched once more and only what the id itself answers is believed (Mastodon's
        FetchResourceService does the same, one hop and no more)."""
        sign = await self._signer()
        await _refuse_blocked(url)  # a suspended (or, in allow-list mode, unlisted) domain: never fetched
        try:
            fetched = await fetch_json(self.http, url, policy=self.policy, sign=sign)
        except IdMismatch as exc:
            if not follow_id or not exc.document_id:
                raise
            await _refuse_blocked(exc.document_id)
            fetched = await fetch_json(self.http, exc.document_id, policy=self.policy, sign=sign)
        try:
            return jsonld.normalize(fetched.document)
        except jsonld.JsonLdError as exc:
            raise InvalidDocument(url, str(exc)) from None

    # -- actors -------------------------------------------------------------------------------------------

    async def fetch_actor(self, uri: str) -> Account:
        """Fetch ``uri`` and store it; raises ActorUnavailable."""
        try:
            document = await self.fetch_document(uri)
        except FetchError as exc:
            raise ActorUnavailable(f"{uri}: {exc}") from exc
        return await self.actor_from_document(document)

    async def actor_from_document(self, document: dict[str, Any]) -> Account:
        """Store an actor document fetched from its own id (fetch_document checked that)."""
        try:
            fields = ap_to_account_fields(document, self.urls.base)
        except InvalidActor as exc:
            raise ActorUnavailable(f"{document.get('id')}: {exc}") from exc
        account = await self._store(fields)
        await _portfolio_seen(account, document)
        return account

    async def get_actor(self, uri: str) -> Account:
        """The stored actor, refreshed from its server when older than a day."""
        account = await Account.filter(uri=uri).first()
        if account is not None and account.last_fetched_at and \
                datetime.now(UTC) - account.last_fetched_at < ACTOR_REFRESH_AFTER:
            return account
        try:
            return await self.fetch_actor(uri)
        except ActorUnavailable:
            if account is not None:
                return account  # keep working with what we know while its server is away
            raise

    async def _store(self, fields: dict[str, Any]) -> Account:
        fields = {**fields, "last_fetched_at": datetime.now(UTC)}
        account = await Account.filter(uri=fields["uri"]).first()
        if account is None:
            # Same handle, new id (the remote re-created the account): the host vouched for both.
            account = await Account.filter(domain=fields["domain"], username=fields["username"]).first()
        if account is None:
            # A new account of a silenced domain starts silenced, stamped with the block's time so that
            # lifting the block unsilences it (Mastodon's ProcessAccountService#auto_silence?).
            fields.update(await new_account_policy(fields.get("domain")))
            try:
                return await Account.create(**fields)
            except IntegrityError:  # a concurrent fetch stored it first
                account = await Account.filter(uri=fields["uri"]).first()
                if account is None:
                    raise
        old_key = account.key_id
        account.update_from_dict(fields)
        await account.save()
        if old_key and old_key != account.key_id:
            self.keys.invalidate(old_key)
        return account

    # -- keys ---------------------------------------------------------------------------------------------

    async def resolve_key(self, key_id: str, refresh: bool = False) -> PublicKeyRecord | None:
        """For activitypub.signatures.verify_request. ``refresh``: the known key just failed (rotation?)."""
        if refresh:
            self._distrusted.add(key_id)
            if key_id in self._from_database:
                # The cache's copy came from the database, not from the network: a refetch is due now, not
                # after the cool-off (which protects against repeated refetches of a fresh network copy).
                self._from_database.discard(key_id)
                self.keys.invalidate(key_id)
        try:
            return await self.keys.get(key_id, refresh)
        finally:
            self._distrusted.discard(key_id)

    async def _load_key(self, key_id: str) -> PublicKeyRecord | None:
        if key_id not in self._distrusted:
            stored = await Account.filter(key_id=key_id).exclude(domain=None).first()
            if stored is not None and stored.uri and stored.last_fetched_at and \
                    datetime.now(UTC) - stored.last_fetched_at < ACTOR_REFRESH_AFTER:
                self._from_database.add(key_id)
                return PublicKeyRecord(key_id=key_id, owner=stored.uri, public_key_pem=stored.public_key_pem)
        self._from_database.discard(key_id)
        url = urldefrag(key_id).url
        try:
            document = await self.fetch_document(url)
            if document.get("id") != url or "publicKeyPem" in document:
                # A separate key document (GoToSocial's /main-key): its owner must list it (security.md A11).
                owner = document.get("owner")
                if not isinstance(owner, str) or origin(owner) != origin(key_id):
                    return None
                document = await self.fetch_document(owner)
            fields = ap_to_account_fields(document, self.urls.base)
        except HTTPStatusError as exc:
            if exc.status in (404, 410):
                return None  # gone: the caller answers 401 (or 202 for the actor's own Delete)
            raise KeyUnavailable(f"key fetch failed: HTTP {exc.status}") from exc
        except InvalidActor as exc:
            log.info("unusable actor for key", extra={"key_id": key_id, "error": str(exc)})
            return None
        except (IdMismatch, BadContentType, InvalidDocument, TooLarge, BlockedDestination, InvalidURL) as exc:
            log.info("key document refused", extra={"key_id": key_id, "error": str(exc)})
            return None  # wrong for good: 401, not "retry later"
        except FetchError as exc:  # timeouts, refused connections: the sender may retry
            raise KeyUnavailable(f"key fetch failed: {type(exc).__name__}") from exc
        listed = {k.key_id: k for k in public_keys(document)}
        if key_id not in listed:
            return None  # the actor does not list this key: not theirs
        fields["key_id"], fields["public_key_pem"] = key_id, listed[key_id].public_key_pem
        account = await self._store(fields)
        await _portfolio_seen(account, document)
        return PublicKeyRecord(key_id=key_id, owner=account.uri or fields["uri"],
                               public_key_pem=listed[key_id].public_key_pem)
