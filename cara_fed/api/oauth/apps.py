"""``POST /api/v1/apps`` and ``GET /api/v1/apps/verify_credentials`` (docs: methods/apps)."""

from __future__ import annotations

from typing import Any

from quart import Blueprint, Response

from cara_fed.api.auth import authorized, token_auth
from cara_fed.api.params import params
from cara_fed.errors import NotFound, ValidationFailed
from cara_fed.models import OAuthApp
from cara_fed.services import oauth
from cara_fed.services.tokens import parse_scopes
from cara_fed.web.negotiation import json_response

bp = Blueprint("api_apps", __name__)


def application_to_api(app: OAuthApp, *, credentials: bool = False) -> dict[str, Any]:
    """The Application entity; with ``credentials``, the CredentialApplication returned at registration."""
    uris = oauth.registered_uris(app)
    document: dict[str, Any] = {
        "id": str(app.id), "name": app.name, "website": app.website, "scopes": oauth.app_scopes(app),
        "redirect_uri": "\n".join(uris), "redirect_uris": uris,
        "vapid_key": "",  # no Web Push yet; deprecated, but Elk still reads it
    }
    if credentials:
        document.update(client_id=app.client_id, client_secret=app.client_secret, client_secret_expires_at=0)
    return document


@bp.post("/api/v1/apps")
async def create_app() -> Response:
    p = await params()
    raw_scopes = p.raw("scopes")
    if isinstance(raw_scopes, list):  # a JSON array or scopes[]=...
        if not all(isinstance(s, str) for s in raw_scopes):
            raise ValidationFailed("Validation failed: scopes must be strings")
        raw_scopes = " ".join(raw_scopes)
    elif raw_scopes is not None:
        raw_scopes = p.str("scopes")
    app = await oauth.register_app(p.str("client_name"), p.raw("redirect_uris"), parse_scopes(raw_scopes),
                                   p.str("website"))
    return json_response(application_to_api(app, credentials=True))


@bp.get("/api/v1/apps/verify_credentials")
@authorized(user=False)
async def verify_credentials() -> Response:
    auth = token_auth()
    app = await OAuthApp.filter(id=auth.app_id).first() if auth is not None and auth.app_id else None
    if app is None:
        raise NotFound("Record not found")
    return json_response(application_to_api(app))
