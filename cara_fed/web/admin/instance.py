"""``/admin/settings`` (admins): the instance's title, short and extended description, contact address,
registration mode, who may read the blocked domains, and the AI-signal settings in force (read-only:
they come from the settings file's ``[noai]`` section, which has no run-time override). ``/admin/rules``
(admins): add, edit, order and delete the rules. ``/admin/invites`` (moderators and admins, as the
services allow): create invite links with an expiry and a number of uses, list and revoke them."""

from __future__ import annotations

from datetime import timedelta

from quart import Blueprint, Response, current_app, request

from cara_fed.errors import CaraError
from cara_fed.services import admin_instance, instance_rules, invites
from cara_fed.services.admin_instance import InstanceForm
from cara_fed.services.instance_rules import AUDIENCES, MAX_RULE_HINT, MAX_RULE_TEXT
from cara_fed.settings import Settings
from cara_fed.web.admin.common import ADMINS, STAFF, form_bool, install_errors, message, path_id, render, \
    settings, staff_user
from cara_fed.web.admin.overrides import BASE_KEY, refresh
from cara_fed.web.sessions import see_other, signed_in

bp = Blueprint("admin_instance", __name__)
install_errors(bp)

MODE_CHOICES = (("open", "Open: anyone can sign up"),
                ("approval", "Approval: anyone can ask, a moderator approves each sign-up"),
                ("invite", "Invite only: sign-up needs an invite code"),
                ("closed", "Closed: nobody signs up"))
AUDIENCE_CHOICES = tuple((a, {"all": "Everyone", "users": "Signed-in users", "disabled": "Nobody"}[a])
                         for a in AUDIENCES)
USES_CHOICES = (("", "No limit"), ("1", "1 use"), ("5", "5 uses"), ("10", "10 uses"), ("25", "25 uses"),
                ("50", "50 uses"), ("100", "100 uses"))
EXPIRY_CHOICES = (("", "Never"), ("1800", "30 minutes"), ("3600", "1 hour"), ("21600", "6 hours"),
                  ("43200", "12 hours"), ("86400", "1 day"), ("604800", "1 week"))


def _file_settings() -> Settings:
    """The settings file's values (before the admin's overrides)."""
    file: Settings = current_app.extensions.get(BASE_KEY, settings())
    return file


# -- settings -------------------------------------------------------------------------------------------


async def _settings_page(form: InstanceForm, status: int = 200,
                         errors: dict[str, str] | None = None) -> Response:
    return await render("admin/settings.html", status, nav="settings", form=form, errors=errors or {},
                        modes=MODE_CHOICES, audiences=AUDIENCE_CHOICES, file=_file_settings().instance,
                        noai=settings().noai)


@bp.get("/admin/settings")
@signed_in(roles=ADMINS)
async def settings_page() -> Response:
    return await _settings_page(await admin_instance.current_form(_file_settings()))


@bp.post("/admin/settings")
@signed_in(roles=ADMINS)
async def settings_submit() -> Response:
    data = await request.form
    form = InstanceForm(
        title=data.get("title") or "", description=data.get("description") or "",
        contact_email=data.get("contact_email") or "",
        extended_description=data.get("extended_description") or "",
        registration_mode=data.get("registration_mode") or "",
        show_domain_blocks=data.get("show_domain_blocks") or "",
        show_domain_blocks_rationale=data.get("show_domain_blocks_rationale") or "")
    errors = await admin_instance.save_form(await staff_user(), _file_settings(), form)
    if errors:
        return await _settings_page(form, 422, errors)
    await refresh(current_app._get_current_object())  # type: ignore[attr-defined]
    return see_other("/admin/settings?done=saved")


# -- rules ----------------------------------------------------------------------------------------------


async def _rules_page(status: int = 200, errors: dict[str, str] | None = None,
                      values: dict[str, str] | None = None) -> Response:
    return await render("admin/rules.html", status, nav="rules", rules=await instance_rules.list_rules(),
                        errors=errors or {}, values=values or {}, text_max=MAX_RULE_TEXT,
                        hint_max=MAX_RULE_HINT)


@bp.get("/admin/rules")
@signed_in(roles=ADMINS)
async def rules_page() -> Response:
    return await _rules_page()


@bp.post("/admin/rules")
@signed_in(roles=ADMINS)
async def rule_create() -> Response:
    form = await request.form
    text, hint = form.get("text") or "", form.get("hint") or ""
    errors = admin_instance.check_rule(text, hint)
    if not errors:
        await admin_instance.add_rule(await staff_user(), text, hint)
        return see_other("/admin/rules?done=added")
    return await _rules_page(422, {f"new_{k}": v for k, v in errors.items()},
                             {"new_text": text, "new_hint": hint})


@bp.post("/admin/rules/<rule_id>")
@signed_in(roles=ADMINS)
async def rule_update(rule_id: str) -> Response:
    ident = path_id(rule_id)
    form = await request.form
    user = await staff_user()
    move = form.get("move") or ""
    if move:
        await admin_instance.move_rule(user, ident, move)
        return see_other(f"/admin/rules?done=moved#rule-{ident}")
    text, hint = form.get("text") or "", form.get("hint") or ""
    errors = admin_instance.check_rule(text, hint)
    if errors:
        return await _rules_page(422, {f"rule_{ident}_{k}": v for k, v in errors.items()},
                                 {f"rule_{ident}_text": text, f"rule_{ident}_hint": hint})
    await admin_instance.update_rule(user, ident, text, hint)
    return see_other(f"/admin/rules?done=saved#rule-{ident}")


@bp.post("/admin/rules/<rule_id>/delete")
@signed_in(roles=ADMINS)
async def rule_delete(rule_id: str) -> Response:
    await admin_instance.delete_rule(await staff_user(), path_id(rule_id))
    return see_other("/admin/rules?done=deleted")


# -- invites --------------------------------------------------------------------------------------------


async def _invites_page(status: int = 200, errors: dict[str, str] | None = None) -> Response:
    user = await staff_user()
    rows = await invites.list_invites(user, include_inactive=request.args.get("all") == "1")
    return await render("admin/invites.html", status, nav="invites", invites=rows, errors=errors or {},
                        uses=USES_CHOICES, expiries=EXPIRY_CHOICES, base_url=settings().base_url,
                        show_all=request.args.get("all") == "1")


@bp.get("/admin/invites")
@signed_in(roles=STAFF)
async def invites_page() -> Response:
    return await _invites_page()


@bp.post("/admin/invites")
@signed_in(roles=STAFF)
async def invite_create() -> Response:
    form = await request.form
    errors: dict[str, str] = {}
    uses_text, expiry_text = form.get("max_uses") or "", form.get("expires_in") or ""
    if uses_text not in dict(USES_CHOICES):
        errors["max_uses"] = "Choose how many times the invite can be used."
    if expiry_text not in dict(EXPIRY_CHOICES):
        errors["expires_in"] = "Choose when the invite expires."
    if not errors:
        try:
            expires_in = timedelta(seconds=int(expiry_text)) if expiry_text else None
            await invites.create_invite(await staff_user(), max_uses=int(uses_text) if uses_text else None,
                                        expires_in=expires_in, autofollow=form_bool(form, "autofollow"))
        except CaraError as exc:
            errors["max_uses"] = message(exc)
    if errors:
        return await _invites_page(422, errors)
    return see_other("/admin/invites?done=created")


@bp.post("/admin/invites/<invite_id>/revoke")
@signed_in(roles=STAFF)
async def invite_revoke(invite_id: str) -> Response:
    await invites.revoke_invite(await staff_user(), path_id(invite_id))
    return see_other("/admin/invites?done=revoked")
