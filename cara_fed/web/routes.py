"""Every web blueprint (ActivityPub, discovery, media files, pages, studio, admin), registered in one place
(create_app calls :func:`install_web`). Blueprints are imported here, when the app is made."""

from __future__ import annotations

from quart import Blueprint, Quart


def install_web(app: Quart) -> None:
    for blueprint in _blueprints():
        app.register_blueprint(blueprint)


def _blueprints() -> list[Blueprint]:
    from cara_fed.web.actors import bp as actors_bp
    from cara_fed.web.admin import blueprints as admin
    from cara_fed.web.collections import bp as collections_bp
    from cara_fed.web.health import bp as health_bp
    from cara_fed.web.inbox import bp as inbox_bp
    from cara_fed.web.media import bp as media_bp
    from cara_fed.web.objects import bp as objects_bp
    from cara_fed.web.pages import bp as pages_bp
    from cara_fed.web.portfolio import bp as portfolio_bp
    from cara_fed.web.registrations import bp as registrations_bp
    from cara_fed.web.remote_follow import bp as remote_follow_bp
    from cara_fed.web.studio import blueprints as studio
    from cara_fed.web.wellknown import bp as wellknown_bp

    return [health_bp, wellknown_bp, actors_bp, objects_bp, collections_bp, inbox_bp, media_bp, pages_bp,
            portfolio_bp, remote_follow_bp, registrations_bp, *studio(), *admin()]
