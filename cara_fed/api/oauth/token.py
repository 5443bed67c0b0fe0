"""``POST /oauth/token`` (RFC 6749 sections 4.1.3, 4.3, 4.4), ``POST /oauth/revoke`` (RFC 7009) and the
RFC 8414 metadata document. Errors are RFC 6749 section 5.2 JSON, ``{"error", "error_description"}``;
client credentials come in the body or in HTTP Basic (Mastodon advertises both). A login a moderator
disabled gets no token, by password or by code (invalid_grant "Your login is currently disabled")."""

from __future__ import annotations

import base64
import binascii
from typing import Any
from urllib.parse import unquote_plus

from quart import Blueprint, Response, current_app, request

from cara_fed.api.params import Params, params
from cara_fed.errors import CaraError
from cara_fed.services import oauth
from cara_fed.services.oauth import OAuthError
from cara_fed.services.tokens import ADMIN_OBJECTS, READ_SCOPES, TOP_SCOPES, WRITE_SCOPES, revoke_token
from cara_fed.web.negotiation import json_response
from cara_fed.web.rate_limits import login_limited, login_refused
from cara_fed.web.state import app_state

bp = Blueprint("oauth_token", __name__)

GRANT_TYPES = ("authorization_code", "password", "client_credentials")
# RFC 6749 section 5.1: token responses and errors must not be cached.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _json(document: Any, status: int = 200) -> Response:
    response = json_response(document, status=status)
    response.headers.update(_NO_STORE)
    return response


@bp.errorhandler(CaraError)
async def oauth_error(exc: CaraError) -> Response:
    if isinstance(exc, OAuthError):
        error, status = exc.error, exc.status
    else:  # an unreadable body or a parameter of the wrong type (api/params.py)
        error, status = "invalid_request", 400
    response = _json({"error": error, "error_description": exc.message}, status)
    if status == 401 and request.headers.get("Authorization", "").lower().startswith("basic"):
        response.headers["WWW-Authenticate"] = 'Basic realm="oauth"'  # RFC 6749 section 5.2
    return response


def client_credentials(p: Params) -> tuple[str | None, str | None]:
    """(client_id, client_secret) from HTTP Basic (RFC 6749 section 2.3.1: each form-urlencoded, then
    base64) or from the body; one method per request."""
    body_id, body_secret = p.str("client_id"), p.str("client_secret")
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return body_id, body_secret
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "The Basic authorization header is malformed.", 401) from None
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        raise OAuthError("invalid_client", "The Basic authorization header is malformed.", 401)
    client_id, secret = unquote_plus(client_id), unquote_plus(secret)
    if body_secret is not None or (body_id is not None and body_id != client_id):
        raise OAuthError("invalid_request", "Use one client authentication method, not two.")
    return client_id, secret


@bp.post("/oauth/token")
async def token() -> Response:
    p = await params()
    grant_type = p.str("grant_type")
    if not grant_type:
        raise OAuthError("invalid_request", "The grant_type parameter is missing.")
    if grant_type not in GRANT_TYPES:
        raise OAuthError("unsupported_grant_type", f"The grant type {grant_type[:64]!r} is not supported.")
    app = await oauth.authenticate_client(*client_credentials(p))
    if grant_type == "authorization_code":
        issued = await oauth.exchange_code(app, p.str("code"), p.str("redirect_uri"), p.str("code_verifier"),
                                           p.str("scope"))
    elif grant_type == "password":
        refused = await login_limited(p.str("username") or "")  # Mastodon's login attempt limits
        if refused is not None:
            return login_refused(refused, _NO_STORE)
        issued = await oauth.password_grant(app, p.str("username"), p.str("password"), p.str("scope"))
    else:
        issued = await oauth.client_credentials_grant(app, p.str("scope"))
    return _json({"access_token": issued.access_token, "token_type": "Bearer",
                  "scope": " ".join(issued.scopes), "created_at": int(issued.created_at.timestamp())})


@bp.post("/oauth/revoke")
async def revoke() -> Response:
    p = await params()
    app = await oauth.authenticate_client(*client_credentials(p))
    secret = p.str("token")
    if not secret:
        raise OAuthError("invalid_request", "The token parameter is missing.")
    if len(secret) <= 512 and not await revoke_token(secret, app.id):
        raise OAuthError("unauthorized_client", "You are not authorized to revoke this token.", 403)
    return _json({})


def scopes_supported() -> list[str]:
    return [*TOP_SCOPES, *(f"read:{s}" for s in READ_SCOPES), *(f"write:{s}" for s in WRITE_SCOPES),
            *(f"admin:read:{s}" for s in ADMIN_OBJECTS), *(f"admin:write:{s}" for s in ADMIN_OBJECTS)]


@bp.get("/.well-known/oauth-authorization-server")
async def metadata() -> Response:
    base = app_state(current_app).settings.base_url
    return json_response({
        "issuer": base,
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "scopes_supported": scopes_supported(),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        # `password` must be listed or Mastodon.py refuses its log_in(username, password) (issue 4).
        "grant_types_supported": list(GRANT_TYPES),
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    })
