"""``POST /api/v1/accounts``: signing up through the Mastodon API (docs: methods/accounts#create).

As Mastodon's Api::V1::AccountsController#create and AppSignUpService: an app token (client credentials)
with ``write`` or ``write:accounts``; parameters username, email, password, agreement (must be true),
locale, reason, invite_code; the answer is a Token for the new user with the app's scopes. A sign-up that
waits for approval gets its token too, which works once a moderator approves the account (until then
every API call with it is 401, and the password grant and the authorize page say the account is pending).
Errors: 403 when registrations are closed, 422 ``{"error": "Validation failed: ...", "details": {field:
[{"error": "ERR_TAKEN", "description": "..."}]}}`` otherwise.

The other ``/api/v1/accounts/...`` routes (GET by id, follow...) are cara_fed/api/accounts.py's; this
blueprint owns only the POST on the collection."""

from __future__ import annotations

from quart import Blueprint, Response, current_app

from cara_fed.api.auth import authorized, token_auth
from cara_fed.api.params import params
from cara_fed.errors import CaraError
from cara_fed.models import OAuthApp
from cara_fed.services import registrations
from cara_fed.services.registrations import SignUpForm, SignUpInvalid
from cara_fed.web.negotiation import json_response
from cara_fed.web.state import app_state

bp = Blueprint("api_registrations", __name__)

_LIMITS = {"username": 64, "email": 400, "password": 2048, "locale": 64, "reason": 4000, "invite_code": 128}


class AppRequired(CaraError):
    status = 403


@bp.errorhandler(SignUpInvalid)
async def invalid(exc: SignUpInvalid) -> Response:
    return json_response({"error": exc.message, "details": exc.details_json()}, status=422)


@bp.post("/api/v1/accounts")
@authorized("write:accounts", user=False)
async def create() -> Response:
    auth = token_auth()
    app = await OAuthApp.get_or_none(id=auth.app_id) if auth is not None and auth.app_id else None
    if app is None:
        raise AppRequired("This method requires an application token")
    p = await params()
    # Over-long values are reported per field by the service; these caps only keep absurd input cheap.
    values = {name: p.str(name, max_length=limit) for name, limit in _LIMITS.items()}
    form = SignUpForm(username=values["username"], email=values["email"], password=values["password"],
                      agreement=bool(p.bool("agreement")), locale=values["locale"], reason=values["reason"],
                      invite_code=values["invite_code"])
    result = await registrations.sign_up(app_state(current_app).settings, form, app=app)
    token = result.token
    assert token is not None
    response = json_response({"access_token": token.access_token, "token_type": "Bearer",
                              "scope": " ".join(token.scopes),
                              "created_at": int(token.created_at.timestamp())})
    response.headers["Cache-Control"] = "no-store"  # a credential (RFC 6749 section 5.1)
    return response
