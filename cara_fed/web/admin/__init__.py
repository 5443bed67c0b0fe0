"""The admin pages (issue 7 point 6): server-rendered, for moderators and admins, on the studio's sign-in,
layout and forms. Registered from web/routes.py through :func:`blueprints`.

* web/admin/dashboard.py: figures, federation health, dead jobs (retry);
* web/admin/accounts.py: the accounts list and an account's page with its moderation actions;
* web/admin/reports.py: the report queue and a report's page;
* web/admin/domains.py: domain blocks, the allow-list, CSV import and export;
* web/admin/instance.py: instance settings, rules and invites;
* web/admin/overrides.py: keeps the server's settings in step with the admin's instance texts.

What moderators may do follows Mastodon's default Moderator role (view the dashboard, manage users and
reports, invite); domain policy, settings, rules, roles and the job queue are the admins'."""

from __future__ import annotations

from quart import Blueprint


def blueprints() -> list[Blueprint]:
    from cara_fed.web.admin.accounts import bp as accounts_bp
    from cara_fed.web.admin.dashboard import bp as dashboard_bp
    from cara_fed.web.admin.domains import bp as domains_bp
    from cara_fed.web.admin.instance import bp as instance_bp
    from cara_fed.web.admin.overrides import bp as overrides_bp
    from cara_fed.web.admin.reports import bp as reports_bp

    return [overrides_bp, dashboard_bp, accounts_bp, reports_bp, domains_bp, instance_bp]
