"""OAuth2 for Mastodon clients: app registration (apps), the sign-in and consent page (authorize), and
the token, revocation and metadata endpoints (token). Each is its own blueprint because each answers
errors its own way: API JSON, HTML pages, RFC 6749 JSON."""

from __future__ import annotations

from quart import Blueprint


def blueprints() -> list[Blueprint]:
    from cara_fed.api.oauth.apps import bp as apps_bp
    from cara_fed.api.oauth.authorize import bp as authorize_bp
    from cara_fed.api.oauth.token import bp as token_bp

    return [apps_bp, authorize_bp, token_bp]
