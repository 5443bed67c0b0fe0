"""The web studio for signed-in artists (issue 6 point 6): its blueprints, registered from web/routes.py.

* web/auth_pages.py: sign in, sign out, change the password;
* web/studio_works.py: the list of works, upload a work, edit and delete it;
* web/studio_order.py: the order of the portfolio and of each series;
* web/studio_profile.py: the profile and the artist's choices.

Every page is server-rendered and works without JavaScript; static/studio.js adds upload progress and
drag-and-drop ordering on top of the plain forms."""

from __future__ import annotations

from quart import Blueprint


def blueprints() -> list[Blueprint]:
    from cara_fed.web.auth_pages import bp as auth_bp
    from cara_fed.web.studio_order import bp as order_bp
    from cara_fed.web.studio_profile import bp as profile_bp
    from cara_fed.web.studio_works import bp as works_bp

    return [auth_bp, works_bp, order_bp, profile_bp]
