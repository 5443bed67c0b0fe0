"""The instance settings an admin changes at run time (the admin settings page): the title, the short
description and the contact address (each overriding the settings file's ``instance.name``,
``instance.description`` and ``instance.contact_email``), the extended description, the registration mode,
who may read the list of blocked domains, and the rules (add, edit, order, delete).

Overrides live in ``instance_settings`` rows (``instance.title``, ``instance.description``,
``instance.contact_email``), so every process sees them; :func:`effective_settings` applies them to the
file's settings (web/admin/overrides.py keeps each server process's settings current with it). A value
equal to the file's removes the override. The whole settings form is saved in one transaction, after
every field was checked: nothing is half-saved."""

from __future__ import annotations

import json
from dataclasses import dataclass

from tortoise.transactions import in_transaction

from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import InstanceSetting, Rule, User
from cara_fed.services import instance_rules, registrations
from cara_fed.services.accounts import EMAIL_RE
from cara_fed.services.instance_rules import AUDIENCES, MAX_DESCRIPTION, MAX_RULE_HINT, MAX_RULE_TEXT
from cara_fed.services.registrations import MODES
from cara_fed.services.staff import require_admin
from cara_fed.settings import Settings

TITLE_KEY = "instance.title"
DESCRIPTION_KEY = "instance.description"
CONTACT_KEY = "instance.contact_email"
OVERRIDE_KEYS = (TITLE_KEY, DESCRIPTION_KEY, CONTACT_KEY)
TITLE_MAX = 200
SHORT_DESCRIPTION_MAX = 1000
EMAIL_MAX = 320


async def overrides() -> dict[str, str]:
    """The admin's values for the instance texts, by key (only those set), in one query."""
    found: dict[str, str] = {}
    for row in await InstanceSetting.filter(key__in=OVERRIDE_KEYS):
        if isinstance(row.value, str):
            found[row.key] = row.value
    return found


def apply_overrides(base: Settings, values: dict[str, str]) -> Settings:
    """``base`` (the file's settings) with the admin's texts; an empty title keeps the file's."""
    changes: dict[str, str] = {}
    if values.get(TITLE_KEY, "").strip():
        changes["name"] = values[TITLE_KEY]
    if DESCRIPTION_KEY in values:
        changes["description"] = values[DESCRIPTION_KEY]
    if CONTACT_KEY in values:
        changes["contact_email"] = values[CONTACT_KEY]
    return base.replace(instance=changes) if changes else base


async def effective_settings(base: Settings) -> Settings:
    return apply_overrides(base, await overrides())


# -- the settings form ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceForm:
    title: str
    description: str
    contact_email: str
    extended_description: str
    registration_mode: str
    show_domain_blocks: str
    show_domain_blocks_rationale: str


async def current_form(base: Settings) -> InstanceForm:
    """The values in force (the admin's where set, else the settings file's)."""
    effective = await effective_settings(base)
    extended = await instance_rules.get_setting(instance_rules.EXTENDED_DESCRIPTION_KEY, "")
    shown, rationale = await instance_rules.domain_blocks_audience()
    return InstanceForm(title=effective.instance.name, description=effective.instance.description,
                        contact_email=effective.instance.contact_email,
                        extended_description=extended if isinstance(extended, str) else "",
                        registration_mode=await registrations.effective_mode(base),
                        show_domain_blocks=shown, show_domain_blocks_rationale=rationale)


def check_form(form: InstanceForm) -> dict[str, str]:
    """Every problem, by field name (empty: the form can be saved)."""
    errors: dict[str, str] = {}
    if not form.title.strip():
        errors["title"] = "The instance needs a title."
    elif len(form.title) > TITLE_MAX:
        errors["title"] = f"At most {TITLE_MAX} characters."
    if len(form.description) > SHORT_DESCRIPTION_MAX:
        errors["description"] = (f"At most {SHORT_DESCRIPTION_MAX} characters "
                                 f"(this has {len(form.description)}).")
    email = form.contact_email.strip()
    if email and (len(email) > EMAIL_MAX or not EMAIL_RE.fullmatch(email)):
        errors["contact_email"] = "An email address such as admin@example.org, or nothing."
    if len(form.extended_description) > MAX_DESCRIPTION:
        errors["extended_description"] = f"At most {MAX_DESCRIPTION} characters."
    if form.registration_mode not in MODES:
        errors["registration_mode"] = "Choose one of the registration modes."
    if form.show_domain_blocks not in AUDIENCES:
        errors["show_domain_blocks"] = "Choose who may see the list."
    if form.show_domain_blocks_rationale not in AUDIENCES:
        errors["show_domain_blocks_rationale"] = "Choose who may see the reasons."
    return errors


async def _set_override(key: str, value: str, file_value: str) -> None:
    if value == file_value:
        await InstanceSetting.filter(key=key).delete()
        return
    # A str goes through update() as its JSON text (see services/instance_rules.set_setting).
    if not await InstanceSetting.filter(key=key).update(value=json.dumps(value)):
        await InstanceSetting.create(key=key, value=None)
        await InstanceSetting.filter(key=key).update(value=json.dumps(value))


async def save_form(by: User | None, base: Settings, form: InstanceForm) -> dict[str, str]:
    """Check and save the whole form (admins only). Returns the errors by field; nothing is stored unless
    there are none."""
    require_admin(by)
    errors = check_form(form)
    if errors:
        return errors
    file = base.instance
    async with in_transaction():
        await _set_override(TITLE_KEY, form.title.strip(), file.name)
        await _set_override(DESCRIPTION_KEY, form.description.strip(), file.description)
        await _set_override(CONTACT_KEY, form.contact_email.strip(), file.contact_email)
        await instance_rules.set_extended_description(form.extended_description.strip())
        await registrations.set_mode(by, form.registration_mode)
        await instance_rules.set_domain_blocks_audience(form.show_domain_blocks,
                                                        form.show_domain_blocks_rationale)
    return {}


# -- rules ----------------------------------------------------------------------------------------------


def check_rule(text: str, hint: str) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not text.strip():
        errors["text"] = "Write the rule."
    elif len(text.strip()) > MAX_RULE_TEXT:
        errors["text"] = f"At most {MAX_RULE_TEXT} characters (this has {len(text.strip())})."
    if len(hint.strip()) > MAX_RULE_HINT:
        errors["hint"] = f"At most {MAX_RULE_HINT} characters."
    return errors


async def add_rule(by: User | None, text: str, hint: str = "") -> Rule:
    require_admin(by)
    return await instance_rules.add_rule(text, hint)


async def update_rule(by: User | None, rule_id: int, text: str, hint: str) -> Rule:
    require_admin(by)
    return await instance_rules.update_rule(rule_id, text=text, hint=hint)


async def delete_rule(by: User | None, rule_id: int) -> None:
    require_admin(by)
    await instance_rules.delete_rule(rule_id)


async def move_rule(by: User | None, rule_id: int, direction: str) -> list[Rule]:
    """Move a rule one place up or down; positions are renumbered 0, 1, 2... in one transaction."""
    require_admin(by)
    if direction not in ("up", "down"):
        raise ValidationFailed("Validation failed: direction must be up or down")
    async with in_transaction():
        rules = list(await Rule.all().order_by("position", "id"))
        ids = [r.id for r in rules]
        if rule_id not in ids:
            raise NotFound("Record not found")
        at = ids.index(rule_id)
        to = at - 1 if direction == "up" else at + 1
        if 0 <= to < len(ids):
            ids[at], ids[to] = ids[to], ids[at]
        for position, ident in enumerate(ids):
            await Rule.filter(id=ident).update(position=position)
    return list(await Rule.all().order_by("position", "id"))
