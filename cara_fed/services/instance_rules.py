"""The instance's rules and texts the admins edit at run time: the rules (Mastodon's Rule: text up to 300
characters, an optional hint, an order), the extended description (the ``/about`` text, overriding the
settings file's description), and who may read the list of blocked domains (Mastodon's
``show_domain_blocks`` and ``show_domain_blocks_rationale``: all, users or disabled).

Values live in ``instance_settings`` (models/admin.py InstanceSetting), so every process sees a change."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import InstanceSetting, Rule
from cara_fed.sanitize import sanitize_html
from cara_fed.services.instance import instance_actor
from cara_fed.settings import Settings

EXTENDED_DESCRIPTION_KEY = "instance.extended_description"
SHOW_DOMAIN_BLOCKS_KEY = "instance.show_domain_blocks"
SHOW_DOMAIN_BLOCKS_RATIONALE_KEY = "instance.show_domain_blocks_rationale"
AUDIENCES = ("all", "users", "disabled")
MAX_RULE_TEXT = 300  # Mastodon's Rule::TEXT_SIZE_LIMIT
MAX_RULE_HINT = 2000
MAX_DESCRIPTION = 100_000


# -- settings rows ------------------------------------------------------------------------------------------

async def get_setting(key: str, default: Any = None) -> Any:
    row = await InstanceSetting.get_or_none(key=key)
    return default if row is None or row.value is None else row.value


async def set_setting(key: str, value: Any) -> None:
    # tortoise's JSONField reads a str as JSON text (in update()) and decodes it when building a model
    # (in create()), so a string value is written as its JSON text, through update() only.
    stored = json.dumps(value) if isinstance(value, str) else value
    async with in_transaction() as conn:
        rows = InstanceSetting.filter(key=key).using_db(conn)
        if not await rows.update(value=stored, updated_at=datetime.now(UTC)):
            await InstanceSetting.create(key=key, value=None, using_db=conn)
            await rows.update(value=stored)


# -- rules --------------------------------------------------------------------------------------------------

def _check_rule(text: str, hint: str) -> None:
    if not text.strip():
        raise ValidationFailed("Validation failed: Text can't be blank")
    if len(text) > MAX_RULE_TEXT:
        raise ValidationFailed(f"Validation failed: Text is too long (maximum is {MAX_RULE_TEXT} characters)")
    if len(hint) > MAX_RULE_HINT:
        raise ValidationFailed(f"Validation failed: Hint is too long (maximum is {MAX_RULE_HINT} characters)")


async def list_rules() -> list[Rule]:
    return list(await Rule.all().order_by("position", "id"))


async def add_rule(text: str, hint: str = "") -> Rule:
    """A new rule, last in the list."""
    _check_rule(text, hint)
    last = await Rule.all().order_by("-position").first()
    position = (last.position + 1) if last else 0
    return await Rule.create(text=text.strip(), hint=hint.strip(), position=position)


async def update_rule(rule_id: int, *, text: str | None = None, hint: str | None = None,
                      position: int | None = None) -> Rule:
    rule = await Rule.get_or_none(id=rule_id)
    if rule is None:
        raise NotFound("Record not found")
    rule.text = text.strip() if text is not None else rule.text
    rule.hint = hint.strip() if hint is not None else rule.hint
    _check_rule(rule.text, rule.hint)
    if position is not None:
        rule.position = position
    await rule.save()
    return rule


async def delete_rule(rule_id: int) -> None:
    """Reports keep citing the rule's id; the rule itself is gone."""
    if not await Rule.filter(id=rule_id).delete():
        raise NotFound("Record not found")


# -- the extended description --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExtendedDescription:
    content: str  # sanitised HTML
    updated_at: datetime


def _as_html(text: str) -> str:
    """HTML as the admin wrote it (through the strict allow-list), or plain text made into paragraphs."""
    if "<" in text and ">" in text:
        return sanitize_html(text)
    paragraphs = [p.strip() for p in text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    return "".join(f"<p>{html.escape(p).replace(chr(10), '<br>')}</p>" for p in paragraphs)


async def extended_description(settings: Settings) -> ExtendedDescription:
    """The admin's text if set, else the settings file's description."""
    row = await InstanceSetting.get_or_none(key=EXTENDED_DESCRIPTION_KEY)
    if row is not None and isinstance(row.value, str) and row.value.strip():
        return ExtendedDescription(content=_as_html(row.value), updated_at=row.updated_at)
    actor = await instance_actor()
    since = actor.created_at if actor is not None else datetime.fromtimestamp(0, UTC)
    return ExtendedDescription(content=_as_html(settings.instance.description), updated_at=since)


async def set_extended_description(text: str) -> None:
    """Empty text goes back to the settings file's description."""
    if len(text) > MAX_DESCRIPTION:
        raise ValidationFailed("Validation failed: the description is too long "
                               f"(maximum is {MAX_DESCRIPTION} characters)")
    await set_setting(EXTENDED_DESCRIPTION_KEY, text)


# -- who may read the domain blocks ------------------------------------------------------------------------

async def domain_blocks_audience() -> tuple[str, str]:
    """(who may read the list, who may read the public comments): each all, users or disabled."""
    shown = await get_setting(SHOW_DOMAIN_BLOCKS_KEY, "all")
    rationale = await get_setting(SHOW_DOMAIN_BLOCKS_RATIONALE_KEY, "all")
    return (shown if shown in AUDIENCES else "all", rationale if rationale in AUDIENCES else "all")


async def set_domain_blocks_audience(shown: str, rationale: str) -> None:
    if shown not in AUDIENCES or rationale not in AUDIENCES:
        raise ValidationFailed(f"Validation failed: must be one of {', '.join(AUDIENCES)}")
    await set_setting(SHOW_DOMAIN_BLOCKS_KEY, shown)
    await set_setting(SHOW_DOMAIN_BLOCKS_RATIONALE_KEY, rationale)
