"""What the instance endpoints (api/instance.py) answer about the instance's policy: its rules
(docs: entities/Rule), its extended description (entities/ExtendedDescription) and the domains it blocks
(``GET /api/v1/instance/domain_blocks``, entities/DomainBlock), rendered from services."""

from __future__ import annotations

from typing import Any

from cara_fed.api.auth import Unauthorized
from cara_fed.api.entities.common import api_datetime
from cara_fed.errors import NotFound
from cara_fed.services import domain_policy, instance_rules
from cara_fed.settings import Settings


async def rules_answer() -> list[dict[str, Any]]:
    return [{"id": str(rule.id), "text": rule.text, "hint": rule.hint}
            for rule in await instance_rules.list_rules()]


async def extended_description_answer(settings: Settings) -> dict[str, Any]:
    description = await instance_rules.extended_description(settings)
    return {"updated_at": api_datetime(description.updated_at), "content": description.content}


async def domain_blocks_answer(*, signed_in: bool) -> list[dict[str, Any]]:
    """Mastodon's Api::V1::Instances::DomainBlocksController: 404 when the admins keep the list private,
    401 for anonymous readers when it is for users only; comments by the same rule."""
    shown, rationale = await instance_rules.domain_blocks_audience()
    if shown == "disabled":
        raise NotFound("Record not found")
    if shown == "users" and not signed_in:
        raise Unauthorized("This API requires an authenticated user")
    with_comments = rationale == "all" or (rationale == "users" and signed_in)
    return [{"domain": b.domain, "digest": b.digest, "severity": b.severity, "comment": b.comment}
            for b in await domain_policy.public_domain_blocks(with_comments=with_comments)]
