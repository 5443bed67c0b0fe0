"""The Mastodon admin API subset for admin apps (issue 7 point 6; docs: methods/admin/*): accounts,
reports, domain blocks and domain allows. Registered from api/routes.py through :func:`blueprints`."""

from __future__ import annotations

from quart import Blueprint


def blueprints() -> list[Blueprint]:
    from cara_fed.api.admin.accounts import bp as accounts_bp
    from cara_fed.api.admin.domains import bp as domains_bp
    from cara_fed.api.admin.reports import bp as reports_bp

    return [accounts_bp, reports_bp, domains_bp]
