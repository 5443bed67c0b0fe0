"""``/admin/domains`` (admins): the domain blocks with their options (suspend, limit or none; reject media;
reject reports; obfuscate; private and public comments), a block's own page to change or lift it, the
allow-list mode and its domains, and Mastodon's domain-block CSV: an uploaded file imported (each new
block applied; skipped rows listed with their reason) and the export downloaded."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response, request
from werkzeug.datastructures import MultiDict

from cara_fed.errors import CaraError
from cara_fed.models.domain_blocks import SEVERITIES
from cara_fed.services import admin_domains
from cara_fed.services.domain_blocks_csv import MAX_ROWS
from cara_fed.services.domain_names import normalize_domain
from cara_fed.services.domain_policy import MAX_COMMENT
from cara_fed.web.admin.common import ADMINS, form_bool, install_errors, message, path_id, render, staff_user
from cara_fed.web.sessions import see_other, signed_in

bp = Blueprint("admin_domains", __name__)
install_errors(bp)

SEVERITY_CHOICES = (("suspend", "Suspend: nothing from or to this server"),
                    ("silence", "Limit: hidden from public timelines, follows need approval"),
                    ("noop", "None (only the options below)"))
MAX_CSV_BYTES = 4 * 1024 * 1024  # 20 000 rows of Mastodon's export stay well under this
OPTION_NAMES = ("reject_media", "reject_reports", "obfuscate")


def _block_values(form: MultiDict[str, str]) -> dict[str, Any]:
    return {"domain": (form.get("domain") or "").strip(), "severity": form.get("severity") or "",
            **{name: form_bool(form, name) for name in OPTION_NAMES},
            "private_comment": (form.get("private_comment") or "").strip(),
            "public_comment": (form.get("public_comment") or "").strip()}


def _check_block(values: dict[str, Any], *, new: bool) -> dict[str, str]:
    errors: dict[str, str] = {}
    if new:
        try:
            normalize_domain(values["domain"])
        except CaraError:
            errors["domain"] = "A domain name such as spam.example (its subdomains are covered too)."
    if values["severity"] not in SEVERITIES:
        errors["severity"] = "Choose what the block does."
    for name in ("private_comment", "public_comment"):
        if len(values[name]) > MAX_COMMENT:
            errors[name] = f"At most {MAX_COMMENT} characters."
    return errors


async def _domains_page(status: int = 200, *, errors: dict[str, str] | None = None,
                        values: dict[str, Any] | None = None, import_result: Any = None,
                        allow_value: str = "") -> Response:
    user = await staff_user()
    return await render(
        "admin/domains.html", status, nav="domains", blocks=await admin_domains.list_blocks(user),
        allows=await admin_domains.list_allows(user), allowlist=await admin_domains.allowlist_mode(user),
        errors=errors or {}, import_result=import_result, severities=SEVERITY_CHOICES,
        allow_value=allow_value, max_rows=MAX_ROWS,
        values=values or {"domain": "", "severity": "suspend", "reject_media": False, "reject_reports": False,
                          "obfuscate": False, "private_comment": "", "public_comment": ""})


@bp.get("/admin/domains")
@signed_in(roles=ADMINS)
async def domains_page() -> Response:
    return await _domains_page()


@bp.post("/admin/domains/blocks")
@signed_in(roles=ADMINS)
async def block_create() -> Response:
    values = _block_values(await request.form)
    errors = _check_block(values, new=True)
    if not errors:
        try:
            options = {k: v for k, v in values.items() if k != "domain"}
            await admin_domains.block(await staff_user(), values["domain"], **options)
        except CaraError as exc:
            errors["domain"] = message(exc)
    if errors:
        return await _domains_page(422, errors=errors, values=values)
    return see_other("/admin/domains?done=blocked#blocks")


async def _block_page(block_id: int, status: int = 200, errors: dict[str, str] | None = None,
                      values: dict[str, Any] | None = None) -> Response:
    block = await admin_domains.get_block(await staff_user(), block_id)
    shown = values or {"severity": block.severity, "reject_media": block.reject_media,
                       "reject_reports": block.reject_reports, "obfuscate": block.obfuscate,
                       "private_comment": block.private_comment, "public_comment": block.public_comment}
    return await render("admin/domain_block.html", status, nav="domains", block=block, values=shown,
                        errors=errors or {}, severities=SEVERITY_CHOICES)


@bp.get("/admin/domains/blocks/<block_id>")
@signed_in(roles=ADMINS)
async def block_page(block_id: str) -> Response:
    return await _block_page(path_id(block_id))


@bp.post("/admin/domains/blocks/<block_id>")
@signed_in(roles=ADMINS)
async def block_update(block_id: str) -> Response:
    ident = path_id(block_id)
    values = _block_values(await request.form)
    errors = _check_block(values, new=False)
    if not errors:
        try:
            changes = {k: v for k, v in values.items() if k != "domain"}
            await admin_domains.update_block(await staff_user(), ident, **changes)
        except CaraError as exc:
            if exc.status == 404:
                raise
            errors["severity"] = message(exc)
    if errors:
        return await _block_page(ident, 422, errors, values)
    return see_other(f"/admin/domains/blocks/{ident}?done=saved")


@bp.post("/admin/domains/blocks/<block_id>/delete")
@signed_in(roles=ADMINS)
async def block_delete(block_id: str) -> Response:
    await admin_domains.unblock(await staff_user(), path_id(block_id))
    return see_other("/admin/domains?done=unblocked#blocks")


@bp.get("/admin/domains/blocks.csv")
@signed_in(roles=ADMINS)
async def export() -> Response:
    text = await admin_domains.export_csv(await staff_user())
    return Response(text, content_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": 'attachment; filename="domain_blocks.csv"', "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff"})


@bp.post("/admin/domains/import")
@signed_in(roles=ADMINS)
async def import_blocks() -> Response:
    files = await request.files
    upload = files.get("csv")
    if upload is None or not upload.filename:
        return await _domains_page(422, errors={"csv": "Choose a CSV file (Mastodon's domain-block export)."})
    data = upload.read(MAX_CSV_BYTES + 1)
    if len(data) > MAX_CSV_BYTES:
        too_big = f"The file is larger than {MAX_CSV_BYTES // 1048576} MB."
        return await _domains_page(422, errors={"csv": too_big})
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return await _domains_page(422, errors={"csv": "The file is not UTF-8 text."})
    try:
        result = await admin_domains.import_csv(await staff_user(), text, source=upload.filename[:200])
    except CaraError as exc:
        return await _domains_page(exc.status, errors={"csv": message(exc)})
    return await _domains_page(import_result=result)


@bp.post("/admin/domains/allowlist")
@signed_in(roles=ADMINS)
async def allowlist_switch() -> Response:
    enabled = form_bool(await request.form, "enabled")
    await admin_domains.set_allowlist_mode(await staff_user(), enabled)
    return see_other(f"/admin/domains?done=allowlist_{'on' if enabled else 'off'}#allows")


@bp.post("/admin/domains/allows")
@signed_in(roles=ADMINS)
async def allow_create() -> Response:
    domain = ((await request.form).get("allow_domain") or "").strip()
    try:
        await admin_domains.allow(await staff_user(), domain)
    except CaraError:
        return await _domains_page(422, errors={"allow_domain": "A domain name such as friends.example."},
                                   allow_value=domain)
    return see_other("/admin/domains?done=allowed#allows")


@bp.post("/admin/domains/allows/<allow_id>/delete")
@signed_in(roles=ADMINS)
async def allow_delete(allow_id: str) -> Response:
    await admin_domains.disallow(await staff_user(), path_id(allow_id))
    return see_other("/admin/domains?done=disallowed#allows")

