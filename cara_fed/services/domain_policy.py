"""Domain policy, the admin's use cases (issue 7 point 4): block a domain (suspend, silence, or noop with
reject_media / reject_reports), change or lift the block, the public list of blocks, and allow-list mode.

Mastodon is the model (app/services/block_domain_service.rb, unblock_domain_service.rb,
app/models/domain_block.rb, app/serializers/rest/domain_block_serializer.rb):
- suspend: the domain's accounts are marked suspended with the block's creation time, follows both ways
  end at once, and their cached posts and media files are purged by a job written in the same transaction
  (services/domain_purge.py). Nothing is fetched from or delivered to the domain again
  (federation/domains.py is_suspended, checked by the inbox, fetches, deliveries and the media cache).
- silence (Mastodon's "limit"): the accounts are marked silenced with the block's time, which hides them
  from public timelines and turns their follows into requests; accounts first seen later are marked when
  stored (federation/domains.py new_account_policy).
- reject_media: their media is never fetched, and what was cached is removed (the attachments stay links).
- reject_reports: their ``Flag`` activities are ignored (federation/handlers/moderation.py).
- Lifting or softening a block un-marks exactly the accounts it marked (same timestamp); purged content
  stays purged, severed follows stay severed.

The checks callers must make (who may do this) are the callers': these functions do what they are asked.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.federation.domains import ALLOWLIST_MODE_KEY, domain_and_parents
from cara_fed.jobs.queue import enqueue
from cara_fed.models import (
    Account, DomainAllow, DomainBlock, Follow, FollowRequest, InstanceSetting, Notification,
)
from cara_fed.models.domain_blocks import SEVERITIES
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.domain_purge import PURGE_JOB

# Mastodon's by_severity order for lists: noop, silence, suspend; then by domain.
_SEVERITY_ORDER = {"noop": 0, "silence": 1, "suspend": 2}
MAX_COMMENT = 1000


@dataclass(frozen=True)
class PublicDomainBlock:
    """One entry of ``GET /api/v1/instance/domain_blocks`` (docs: entities/DomainBlock)."""
    domain: str  # obfuscated when the block says so
    digest: str  # SHA-256 hex of the real domain: lets others check a domain without publishing it
    severity: str
    comment: str | None


# -- domain blocks ----------------------------------------------------------------------------------------

def _check_options(severity: str, private_comment: str, public_comment: str) -> None:
    if severity not in SEVERITIES:
        raise ValidationFailed(f"Validation failed: Severity must be one of {', '.join(SEVERITIES)}")
    for name, text in (("Private comment", private_comment), ("Public comment", public_comment)):
        if len(text) > MAX_COMMENT:
            raise ValidationFailed(f"Validation failed: {name} is too long (maximum is {MAX_COMMENT} "
                                   "characters)")


async def list_domain_blocks() -> list[DomainBlock]:
    """Every block, mildest first then by domain (Mastodon's by_severity)."""
    blocks = await DomainBlock.all()
    return sorted(blocks, key=lambda b: (_SEVERITY_ORDER.get(b.severity, 9), b.domain))


async def get_domain_block(block_id: int) -> DomainBlock:
    block = await DomainBlock.get_or_none(id=block_id)
    if block is None:
        raise NotFound("Record not found")
    return block


async def find_domain_block(domain: str) -> DomainBlock | None:
    """The block of exactly this domain (normalised), if any."""
    return await DomainBlock.get_or_none(domain=normalize_domain(domain))


async def covering_block(domain: str) -> DomainBlock | None:
    """The block that already covers ``domain``: its own, or one of a parent domain (the most specific),
    as Mastodon's DomainBlock.rule_for (the import skips such domains)."""
    candidates = domain_and_parents(normalize_domain(domain))
    blocks = {b.domain: b for b in await DomainBlock.filter(domain__in=candidates)}
    return next((blocks[c] for c in candidates if c in blocks), None)


async def block_domain(domain: str, *, severity: str = "suspend", reject_media: bool = False,
                       reject_reports: bool = False, private_comment: str = "", public_comment: str = "",
                       obfuscate: bool = False) -> DomainBlock:
    """Block ``domain`` (and its subdomains) and apply the block at once. 422 when the domain is invalid,
    is ours, or has a block already (change that one with :func:`update_domain_block`)."""
    name = normalize_domain(domain)
    _check_options(severity, private_comment, public_comment)
    async with in_transaction() as conn:
        if await DomainBlock.filter(domain=name).using_db(conn).exists():
            raise ValidationFailed("Validation failed: Domain has already been taken")
        block = await DomainBlock.create(domain=name, severity=severity, reject_media=reject_media,
                                         reject_reports=reject_reports, private_comment=private_comment,
                                         public_comment=public_comment, obfuscate=obfuscate, using_db=conn)
        await _apply(block, None, conn)
    return block


async def update_domain_block(block_id: int, **changes: Any) -> DomainBlock:
    """Change a block's severity, reject_media, reject_reports, comments or obfuscate (the domain stays);
    the accounts' marks follow the new severity."""
    allowed = {"severity", "reject_media", "reject_reports", "private_comment", "public_comment", "obfuscate"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValueError(f"not a domain block option: {', '.join(sorted(unknown))}")
    async with in_transaction() as conn:
        block = await DomainBlock.filter(id=block_id).using_db(conn).first()
        if block is None:
            raise NotFound("Record not found")
        before = _Before(block.severity, block.reject_media)
        for key, value in changes.items():
            if value is not None:
                setattr(block, key, value)
        _check_options(block.severity, block.private_comment, block.public_comment)
        await block.save(using_db=conn)
        await _apply(block, before, conn)
    return block


async def unblock_domain(block_id: int) -> None:
    """Lift the block: the accounts it suspended or silenced are restored (their purged posts are not)."""
    async with in_transaction() as conn:
        block = await DomainBlock.filter(id=block_id).using_db(conn).first()
        if block is None:
            raise NotFound("Record not found")
        await _unmark(block, conn, suspended=True, silenced=True)
        await block.delete(using_db=conn)


@dataclass(frozen=True)
class _Before:
    severity: str
    reject_media: bool


def accounts_of(domain: str) -> Q:
    """Remote accounts of ``domain`` and its subdomains, with or without a port."""
    return Q(domain=domain) | Q(domain__startswith=f"{domain}:") | Q(domain__endswith=f".{domain}") | \
        Q(domain__contains=f".{domain}:")


async def _unmark(block: DomainBlock, conn: BaseDBAsyncClient, *, suspended: bool, silenced: bool) -> None:
    scope = Account.filter(accounts_of(block.domain))
    if suspended:
        await scope.filter(suspended_at=block.created_at).using_db(conn).update(suspended_at=None)
    if silenced:
        await scope.filter(silenced_at=block.created_at).using_db(conn).update(silenced_at=None)


async def _apply(block: DomainBlock, before: _Before | None, conn: BaseDBAsyncClient) -> None:
    """Bring the domain's accounts in line with the block (Mastodon's BlockDomainService, including its
    process_retroactive_updates for a changed block)."""
    if before is not None:
        await _unmark(block, conn, suspended=before.severity == "suspend" and block.severity != "suspend",
                      silenced=before.severity == "silence" and block.severity != "silence")
    accounts = Account.filter(accounts_of(block.domain))
    if block.severity == "suspend":
        if before is None or before.severity != "suspend":  # (a changed comment changes nothing here)
            await accounts.filter(suspended_at=None).using_db(conn).update(suspended_at=block.created_at)
            await _sever_follows(block.domain, conn)
            await enqueue(PURGE_JOB, {"domain": block.domain, "content": True}, using_db=conn)
        return
    if block.severity == "silence":
        await accounts.filter(silenced_at=None).using_db(conn).update(silenced_at=block.created_at)
    if block.reject_media and (before is None or not before.reject_media or before.severity == "suspend"):
        await enqueue(PURGE_JOB, {"domain": block.domain, "content": False}, using_db=conn)


async def _sever_follows(domain: str, conn: BaseDBAsyncClient) -> None:
    """Follows and follow requests between our accounts and the domain's end, both ways, with the
    notifications they caused. Nothing is sent to the domain: it is suspended."""
    ids = list(await Account.filter(accounts_of(domain)).using_db(conn).values_list("id", flat=True))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        for model in (Follow, FollowRequest):
            await model.filter(account_id__in=chunk).using_db(conn).delete()
            await model.filter(target_account_id__in=chunk).using_db(conn).delete()
        await Notification.filter(from_account_id__in=chunk, type__in=("follow", "follow_request")
                                  ).using_db(conn).delete()


# -- the public list ----------------------------------------------------------------------------------------

def obfuscated(domain: str) -> str:
    """Mastodon's DomainBlock#public_domain: the middle characters (not the dots) become ``*``."""
    length = len(domain)
    visible = length // 4
    return "".join("*" if visible < i < length - visible and c != "." else c for i, c in enumerate(domain))


async def public_domain_blocks(*, with_comments: bool = True) -> list[PublicDomainBlock]:
    """The blocks people are told about: suspended and silenced domains (Mastodon's
    with_user_facing_limitations), mildest first; obfuscated where the block asks; the public comment only."""
    blocks = [b for b in await list_domain_blocks() if b.severity in ("silence", "suspend")]
    return [PublicDomainBlock(domain=obfuscated(b.domain) if b.obfuscate else b.domain,
                              digest=hashlib.sha256(b.domain.encode()).hexdigest(), severity=b.severity,
                              comment=(b.public_comment or None) if with_comments else None)
            for b in blocks]


# -- allow-list mode --------------------------------------------------------------------------------------

async def allowlist_mode() -> bool:
    row = await InstanceSetting.get_or_none(key=ALLOWLIST_MODE_KEY)
    return row is not None and row.value is True


async def set_allowlist_mode(enabled: bool) -> None:
    """Federate only with the domains in the allow-list (on) or with everyone not blocked (off). Turning it
    on purges nothing: the others are simply refused from then on."""
    async with in_transaction() as conn:
        updated = await InstanceSetting.filter(key=ALLOWLIST_MODE_KEY).using_db(conn).update(
            value=enabled, updated_at=datetime.now(UTC))
        if not updated:
            await InstanceSetting.create(key=ALLOWLIST_MODE_KEY, value=enabled, using_db=conn)


async def list_domain_allows() -> list[DomainAllow]:
    return await DomainAllow.all().order_by("domain")


async def get_domain_allow(allow_id: int) -> DomainAllow:
    allow = await DomainAllow.get_or_none(id=allow_id)
    if allow is None:
        raise NotFound("Record not found")
    return allow


async def allow_domain(domain: str) -> DomainAllow:
    """Add ``domain`` (and its subdomains) to the allow-list; allowing it again returns the same row."""
    allow, _ = await DomainAllow.get_or_create(domain=normalize_domain(domain))
    return allow


async def remove_domain_allow(allow_id: int) -> None:
    if not await DomainAllow.filter(id=allow_id).delete():
        raise NotFound("Record not found")
