"""Every client-API blueprint, registered in one place (create_app calls :func:`install_api`)."""

from __future__ import annotations

from quart import Quart

from cara_fed.api.cors import install_cors


def install_api(app: Quart) -> None:
    install_cors(app)
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)


def _blueprints() -> list:  # type: ignore[type-arg]
    # Imported here so that importing cara_fed.api.routes stays cheap and cycle-free.
    from cara_fed.api.account_lists import bp as account_lists_bp
    from cara_fed.api.accounts import bp as accounts_bp
    from cara_fed.api.admin import blueprints as admin_blueprints
    from cara_fed.api.follows import bp as follows_bp
    from cara_fed.api.instance import bp as instance_bp
    from cara_fed.api.media import bp as media_bp
    from cara_fed.api.misc import bp as misc_bp
    from cara_fed.api.notifications import bp as notifications_bp
    from cara_fed.api.oauth import blueprints as oauth_blueprints
    from cara_fed.api.portfolio import bp as portfolio_bp
    from cara_fed.api.registrations import bp as registrations_bp
    from cara_fed.api.reports import bp as reports_bp
    from cara_fed.api.search import bp as search_bp
    from cara_fed.api.statuses import bp as statuses_bp
    from cara_fed.api.streaming import bp as streaming_bp
    from cara_fed.api.timelines import bp as timelines_bp

    return [instance_bp, accounts_bp, statuses_bp, timelines_bp, notifications_bp, misc_bp, account_lists_bp,
            follows_bp, search_bp, streaming_bp, media_bp, registrations_bp, *oauth_blueprints(), reports_bp,
            portfolio_bp, *admin_blueprints()]
