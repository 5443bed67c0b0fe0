"""Domain policy as the admins change it (admin pages, the admin API, the CLI): services/domain_policy.py
and services/domain_blocks_csv.py with the permission check they leave to their callers. Mastodon gives
domain blocks and allows to "Manage Federation" (DomainBlockPolicy, DomainAllowPolicy), which its default
roles give to admins only, so here too: moderators can read nothing of this but the public list."""

from __future__ import annotations

from typing import Any

from cara_fed.models import DomainAllow, DomainBlock, User
from cara_fed.services import domain_blocks_csv, domain_policy
from cara_fed.services.domain_blocks_csv import ImportResult
from cara_fed.services.staff import require_admin


async def list_blocks(by: User | None) -> list[DomainBlock]:
    require_admin(by)
    return await domain_policy.list_domain_blocks()


async def get_block(by: User | None, block_id: int) -> DomainBlock:
    require_admin(by)
    return await domain_policy.get_domain_block(block_id)


async def block(by: User | None, domain: str, **options: Any) -> DomainBlock:
    require_admin(by)
    return await domain_policy.block_domain(domain, **options)


async def update_block(by: User | None, block_id: int, **changes: Any) -> DomainBlock:
    require_admin(by)
    return await domain_policy.update_domain_block(block_id, **changes)


async def unblock(by: User | None, block_id: int) -> None:
    require_admin(by)
    await domain_policy.unblock_domain(block_id)


async def list_allows(by: User | None) -> list[DomainAllow]:
    require_admin(by)
    return await domain_policy.list_domain_allows()


async def get_allow(by: User | None, allow_id: int) -> DomainAllow:
    require_admin(by)
    return await domain_policy.get_domain_allow(allow_id)


async def allow(by: User | None, domain: str) -> DomainAllow:
    require_admin(by)
    return await domain_policy.allow_domain(domain)


async def disallow(by: User | None, allow_id: int) -> None:
    require_admin(by)
    await domain_policy.remove_domain_allow(allow_id)


async def allowlist_mode(by: User | None) -> bool:
    require_admin(by)
    return await domain_policy.allowlist_mode()


async def set_allowlist_mode(by: User | None, enabled: bool) -> None:
    require_admin(by)
    await domain_policy.set_allowlist_mode(enabled)


async def import_csv(by: User | None, text: str, *, source: str) -> ImportResult:
    require_admin(by)
    return await domain_blocks_csv.import_csv(text, source=source)


async def export_csv(by: User | None) -> str:
    require_admin(by)
    return await domain_blocks_csv.export_csv()
