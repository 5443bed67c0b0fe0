"""``/api/v1/admin/domain_blocks`` and ``/api/v1/admin/domain_allows`` (docs: methods/admin/domain_blocks,
methods/admin/domain_allows), for admins (Mastodon's "Manage Federation"): list (paged by id, 100 by
default), one, create, change (blocks), delete. Blocks apply at once, as on the admin pages.

As Mastodon: a new block whose domain already has one is 422 with the existing block's details
(Api::V1::Admin::DomainBlocksController#create, ``existing_domain_block``); allowing a domain already
allowed answers the existing row."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from cara_fed.api.admin.common import acting_user, admin_endpoint, no_content, page_of, path_id
from cara_fed.api.admin.entities import domain_allow_to_api, domain_block_to_api
from cara_fed.api.pagination import page_params, with_link
from cara_fed.api.params import Params, params
from cara_fed.errors import ValidationFailed
from cara_fed.models import DomainBlock
from cara_fed.services import admin_domains, domain_policy
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.domain_policy import MAX_COMMENT
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_admin_domains", __name__)

LIMIT = 100
MAX_LIMIT = 200


def _options(p: Params, *, defaults: bool) -> dict[str, Any]:
    options: dict[str, Any] = {}
    severity = p.str("severity", max_length=16)
    if severity is not None or defaults:
        options["severity"] = severity or "silence"  # Mastodon's default severity
    for name in ("reject_media", "reject_reports", "obfuscate"):
        value = p.bool(name)
        if value is not None or defaults:
            options[name] = bool(value)
    for name in ("private_comment", "public_comment"):
        text = p.str(name, max_length=MAX_COMMENT)
        if text is not None or defaults:
            options[name] = (text or "").strip()
    return options


_STRICTNESS = {"noop": 0, "silence": 1, "suspend": 2}


def _conflicts(existing: DomainBlock, domain: str, options: dict[str, Any]) -> bool:
    """Mastodon's conflicts_with_existing_block?: the same domain, or a parent's block that is at least as
    strict (DomainBlock#stricter_than?)."""
    if existing.domain == normalize_domain(domain):
        return True
    severity = options.get("severity", "silence")
    stricter = _STRICTNESS.get(severity, 0) > _STRICTNESS.get(existing.severity, 0) or (
        bool(options.get("reject_media")) and not existing.reject_media) or (
        bool(options.get("reject_reports")) and not existing.reject_reports)
    return not stricter


@bp.get("/api/v1/admin/domain_blocks")
@admin_endpoint("admin:read:domain_blocks", admins_only=True)
async def blocks_index() -> Response:
    blocks = await admin_domains.list_blocks(acting_user())
    rows = page_of(blocks, page_params(LIMIT, MAX_LIMIT), lambda b: b.id)
    return with_link(json_response([domain_block_to_api(b) for b in rows]), [b.id for b in rows])


@bp.get("/api/v1/admin/domain_blocks/<block_id>")
@admin_endpoint("admin:read:domain_blocks", admins_only=True)
async def blocks_show(block_id: str) -> Response:
    return json_response(domain_block_to_api(await admin_domains.get_block(acting_user(), path_id(block_id))))


@bp.post("/api/v1/admin/domain_blocks")
@admin_endpoint("admin:write:domain_blocks", admins_only=True)
async def blocks_create() -> Response:
    p = await params()
    domain = p.str("domain", max_length=300) or ""
    if not domain.strip():
        raise ValidationFailed("Validation failed: Domain can't be blank")
    options = _options(p, defaults=True)
    existing = await domain_policy.covering_block(domain)
    if existing is not None and _conflicts(existing, domain, options):
        return json_response({"error": f"You have already imposed stricter limits on {existing.domain}.",
                              "existing_domain_block": domain_block_to_api(existing)}, status=422)
    block = await admin_domains.block(acting_user(), domain, **options)
    return json_response(domain_block_to_api(block))


@bp.put("/api/v1/admin/domain_blocks/<block_id>")
@admin_endpoint("admin:write:domain_blocks", admins_only=True)
async def blocks_update(block_id: str) -> Response:
    ident = path_id(block_id)
    await admin_domains.get_block(acting_user(), ident)
    block = await admin_domains.update_block(acting_user(), ident, **_options(await params(), defaults=False))
    return json_response(domain_block_to_api(block))


@bp.delete("/api/v1/admin/domain_blocks/<block_id>")
@admin_endpoint("admin:write:domain_blocks", admins_only=True)
async def blocks_delete(block_id: str) -> Response:
    await admin_domains.unblock(acting_user(), path_id(block_id))
    return no_content()


@bp.get("/api/v1/admin/domain_allows")
@admin_endpoint("admin:read:domain_allows", admins_only=True)
async def allows_index() -> Response:
    allows = await admin_domains.list_allows(acting_user())
    rows = page_of(allows, page_params(LIMIT, MAX_LIMIT), lambda a: a.id)
    return with_link(json_response([domain_allow_to_api(a) for a in rows]), [a.id for a in rows])


@bp.get("/api/v1/admin/domain_allows/<allow_id>")
@admin_endpoint("admin:read:domain_allows", admins_only=True)
async def allows_show(allow_id: str) -> Response:
    return json_response(domain_allow_to_api(await admin_domains.get_allow(acting_user(), path_id(allow_id))))


@bp.post("/api/v1/admin/domain_allows")
@admin_endpoint("admin:write:domain_allows", admins_only=True)
async def allows_create() -> Response:
    p = await params()
    domain = p.str("domain", max_length=300) or ""
    if not domain.strip():
        raise ValidationFailed("Validation failed: Domain can't be blank")
    return json_response(domain_allow_to_api(await admin_domains.allow(acting_user(), domain)))


@bp.delete("/api/v1/admin/domain_allows/<allow_id>")
@admin_endpoint("admin:write:domain_allows", admins_only=True)
async def allows_delete(allow_id: str) -> Response:
    await admin_domains.disallow(acting_user(), path_id(allow_id))
    return no_content()
