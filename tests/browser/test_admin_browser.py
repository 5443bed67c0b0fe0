"""Issue 7 acceptance in a real browser: an admin signs in, approves a pending account, resolves a report and
blocks a domain through the admin pages, as a person would (links, buttons, labelled fields). Screenshots of
the dashboard, the account, the report and the domain pages are saved under tests/browser/artifacts/; the
studio test's in-browser accessibility check (img alt, labelled controls, named buttons) runs on every admin
page visited."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cara_fed.models import Account, DomainBlock, Report, User
from cara_fed.settings import Settings
from tests.browser.test_portfolio_studio import accessible
from tests.integration.admin_data import world


async def test_an_admin_approves_resolves_and_blocks(page: Any, database: None, settings: Settings,
                                                     artifacts: Path) -> None:
    w = await world(settings)
    # Signing in on the way to the dashboard.
    await page.goto("/admin")
    await page.wait_for_url(re.compile(r"/auth/sign_in\?next=/admin$"))
    await page.get_by_label("Email or username").fill("root_admin")
    await page.get_by_label("Password").fill("correct horse battery")
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url(re.compile(r"/admin$"))
    await page.get_by_role("heading", name="Dashboard").wait_for()
    await page.get_by_text("HTTP 503 from https://down.example/inbox").wait_for()  # federation health
    await accessible(page)
    await page.screenshot(path=str(artifacts / "admin-dashboard.png"), full_page=True)

    # Approve the pending sign-up, from the dashboard's count.
    await page.get_by_role("link", name="1 sign-up").click()
    await page.wait_for_url(re.compile(r"/admin/accounts\?status=pending$"))
    await accessible(page)
    await page.get_by_role("link", name="@pem").click()
    await page.wait_for_url(re.compile(rf"/admin/accounts/{w.pending.account_id}$"))
    await page.get_by_text("I paint harbours and want to show them here").wait_for()
    await accessible(page)
    await page.get_by_role("button", name="Approve").click()
    await page.wait_for_url(re.compile(r"\?done=approved$"))
    await page.get_by_text("The account is approved: it can sign in now.").wait_for()
    await accessible(page)
    await page.screenshot(path=str(artifacts / "admin-account-approved.png"), full_page=True)
    assert (await User.get(id=w.pending.id)).approved

    # Resolve the report about the spammer, with a note.
    await page.get_by_role("navigation", name="Administration").get_by_role("link", name="Reports").click()
    await page.wait_for_url(re.compile(r"/admin/reports$"))
    await accessible(page)
    await page.get_by_role("link", name=f"Report {w.report.id}").click()
    await page.wait_for_url(re.compile(rf"/admin/reports/{w.report.id}$"))
    await page.get_by_text("Buy cheap prints").wait_for()
    assert await page.get_by_alt_text("A stolen painting").is_visible()
    await accessible(page)
    await page.get_by_role("button", name="Assign to me").click()
    await page.wait_for_url(re.compile(r"\?done=assign$"))
    await page.get_by_label("New note").fill("Sells prints of Ada's harbour without asking.")
    await page.get_by_role("button", name="Add and resolve").click()
    await page.wait_for_url(re.compile(r"\?done=note$"))
    await page.get_by_text("Sells prints of Ada's harbour without asking.").wait_for()
    await accessible(page)
    await page.screenshot(path=str(artifacts / "admin-report-resolved.png"), full_page=True)
    report = await Report.get(id=w.report.id)
    assert report.action_taken_at is not None and report.action_taken_by_account_id == w.admin.account.id

    # Block the spammer's domain: suspended, its reports ignored.
    await page.get_by_role("navigation", name="Administration").get_by_role("link", name="Domains").click()
    await page.wait_for_url(re.compile(r"/admin/domains$"))
    await accessible(page)
    await page.get_by_label("Domain", exact=True).fill("bad.example")
    await page.get_by_label("Severity").select_option("suspend")
    await page.get_by_label("Reject reports from this domain").check()
    await page.get_by_label("Public comment (shown with the list of blocked domains)").fill("Art theft")
    await page.get_by_role("button", name="Block", exact=True).click()
    await page.wait_for_url(re.compile(r"/admin/domains\?done=blocked#blocks$"))
    await page.get_by_role("link", name="bad.example", exact=True).wait_for()
    await accessible(page)
    await page.screenshot(path=str(artifacts / "admin-domains.png"), full_page=True)
    block = await DomainBlock.get(domain="bad.example")
    assert block.severity == "suspend" and block.reject_reports and block.public_comment == "Art theft"
    assert (await Account.get(id=w.remote.id)).suspended_at is not None  # applied at once

    # A form error comes back beside its field, and every other admin page passes the same check.
    await page.get_by_label("Domain", exact=True).fill("not a domain")
    await page.get_by_role("button", name="Block", exact=True).click()
    await page.locator("#domain-error").wait_for()
    assert await page.get_by_label("Domain", exact=True).get_attribute("aria-invalid") == "true"
    await accessible(page)
    for path in ("/admin/jobs", "/admin/accounts", f"/admin/accounts/{w.remote.id}",
                 "/admin/reports?resolved=1", f"/admin/domains/blocks/{block.id}", "/admin/settings",
                 "/admin/rules", "/admin/invites"):
        await page.goto(path)
        await accessible(page)
