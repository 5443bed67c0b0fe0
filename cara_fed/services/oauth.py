"""OAuth2 for Mastodon clients: app registration, client authentication, the authorization-code grant with
PKCE (RFC 6749 section 4.1, RFC 7636), the password and client-credentials grants, and the key that signs
the consent form. No Quart here: the web layer (cara_fed/api/oauth) turns the errors into pages or RFC 6749
JSON.

What real clients send is in shared/reference/mastodon-api.md section 1; the attack cases this guards
against are security.md F-42 and F-43."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from cara_fed.errors import CaraError, ValidationFailed
from cara_fed.models import OAuthApp, OAuthCode, OAuthToken, User
from cara_fed.services import instance
from cara_fed.services.sign_in import LoginBlocked, LoginFailed, can_act, sign_in
from cara_fed.services.tokens import (
    DISABLED, IssuedToken, digest, issue_token, parse_scopes, scopes_subset, unknown_scopes,
)

OOB = "urn:ietf:wg:oauth:2.0:oob"
CODE_LIFETIME = timedelta(minutes=10)  # Doorkeeper's default, which Mastodon keeps
# Mastodon's limits (app/models/concerns/application/..., APP_NAME_LIMIT and APP_REDIRECT_URI_LIMIT).
APP_NAME_LIMIT = 60
REDIRECT_URIS_LIMIT = 2000
WEBSITE_LIMIT = 2000
# Doorkeeper's forbid_redirect_uri in Mastodon: schemes that run code in the browser.
_FORBIDDEN_SCHEMES = frozenset({"javascript", "data", "vbscript"})
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*):")  # RFC 3986 scheme, used with match
# Only RFC 3986 characters (unreserved, reserved, percent): no spaces, controls, backslashes or non-ASCII.
_URI_CHARS = re.compile(r"[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")  # used with fullmatch
# RFC 7636 section 4.1/4.2: a verifier is 43-128 unreserved characters; an S256 challenge is 43 base64url.
_VERIFIER = re.compile(r"[A-Za-z0-9\-._~]{43,128}")
_S256_CHALLENGE = re.compile(r"[A-Za-z0-9_-]{43}")


class OAuthError(CaraError):
    """An RFC 6749 section 5.2 error: ``{"error": code, "error_description": message}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.status = status


class AuthorizeRefused(CaraError):
    """A bad authorization request. Shown to the person as a page, never redirected: the redirect URI may
    be unknown, and apps are registered by anyone, so redirecting errors would make the server an open
    redirector (OAuth 2.0 Security BCP, RFC 9700 section 4.11)."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


# -- applications -------------------------------------------------------------------------------------


def check_redirect_uri(uri: str) -> None:
    """Any scheme (custom app schemes such as ``oauth2redirect://`` and ``com.tapbots.Ivory.19:/...``,
    and the out-of-band URN) except those that run code; no fragment (RFC 6749 section 3.1.2)."""
    if not _URI_CHARS.fullmatch(uri):
        raise ValidationFailed(f"Validation failed: Redirect URI {uri!r} is not a valid URI")
    scheme = _SCHEME.match(uri)
    if scheme is None:
        raise ValidationFailed(f"Validation failed: Redirect URI {uri!r} must be an absolute URI")
    if scheme.group(1).lower() in _FORBIDDEN_SCHEMES:
        raise ValidationFailed(f"Validation failed: Redirect URI {uri!r} uses a forbidden scheme")
    if "#" in uri:
        raise ValidationFailed(f"Validation failed: Redirect URI {uri!r} cannot contain a fragment")
    if scheme.group(1).lower() in ("http", "https"):
        rest = uri[len(scheme.group(0)):]
        if not rest.startswith("//") or rest[2:].split("/", 1)[0].split("?", 1)[0] in ("", "@"):
            raise ValidationFailed(f"Validation failed: Redirect URI {uri!r} must name a host")


def split_redirect_uris(value: object) -> list[str]:
    """A JSON array (Mastodon 4.3) or one string of URIs separated by newlines or spaces; kept verbatim."""
    if value is None or value == "" or value == []:
        raise ValidationFailed("Validation failed: Redirect URI can't be blank")
    if isinstance(value, list):
        if not all(isinstance(v, str) for v in value):
            raise ValidationFailed("Validation failed: redirect_uris must be strings")
        uris = [v for v in value if v != ""]
        if any(re.search(r"\s", v) for v in uris):
            raise ValidationFailed("Validation failed: Redirect URI cannot contain spaces")
    elif isinstance(value, str):
        uris = value.split()
    else:
        raise ValidationFailed("Validation failed: redirect_uris must be a string or a list of strings")
    uris = list(dict.fromkeys(uris))
    if not uris:
        raise ValidationFailed("Validation failed: Redirect URI can't be blank")
    for uri in uris:
        check_redirect_uri(uri)
    if len("\n".join(uris)) > REDIRECT_URIS_LIMIT:
        raise ValidationFailed("Validation failed: Redirect URI is too long "
                               f"(maximum is {REDIRECT_URIS_LIMIT} characters)")
    return uris


def check_scopes(scopes: list[str]) -> list[str]:
    unknown = unknown_scopes(scopes)
    if unknown:
        raise ValidationFailed(f"Validation failed: Scopes {' '.join(unknown)!r} are not known scopes")
    return scopes


async def register_app(name: str | None, redirect_uris: object, scopes: list[str],
                       website: str | None) -> OAuthApp:
    name = (name or "").strip()
    if not name:
        raise ValidationFailed("Validation failed: Application name can't be blank")
    if len(name) > APP_NAME_LIMIT:
        raise ValidationFailed("Validation failed: Application name is too long "
                               f"(maximum is {APP_NAME_LIMIT} characters)")
    uris = split_redirect_uris(redirect_uris)
    check_scopes(scopes)
    website = (website or "").strip() or None
    if website is not None and (len(website) > WEBSITE_LIMIT or not re.fullmatch(r"https?://[^\s/?#]+\S*",
                                                                                  website)):
        raise ValidationFailed("Validation failed: Website is not a valid URL")
    return await OAuthApp.create(name=name, website=website, redirect_uris="\n".join(uris),
                                 scopes=" ".join(scopes), client_id=secrets.token_urlsafe(32),
                                 client_secret=secrets.token_urlsafe(32))


def registered_uris(app: OAuthApp) -> list[str]:
    return [uri for uri in app.redirect_uris.split("\n") if uri]


def app_scopes(app: OAuthApp) -> list[str]:
    return app.scopes.split()


async def find_app(client_id: str | None) -> OAuthApp | None:
    if not client_id or len(client_id) > 64:
        return None
    return await OAuthApp.filter(client_id=client_id).first()


async def authenticate_client(client_id: str | None, client_secret: str | None) -> OAuthApp:
    """The app whose id and secret these are (the secret compared in constant time), else 401
    invalid_client."""
    app = await find_app(client_id)
    if app is None or not client_secret or not hmac.compare_digest(app.client_secret.encode(),
                                                                     client_secret.encode()):
        raise OAuthError("invalid_client", "Client authentication failed due to unknown client, no client "
                         "authentication included, or unsupported authentication method.", 401)
    return app


# -- the authorization request ----------------------------------------------------------------------------


@dataclass(frozen=True)
class AuthorizationRequest:
    """A checked ``GET /oauth/authorize`` request; its fields are the ones the consent form carries."""
    app: OAuthApp
    response_type: str
    redirect_uri: str
    scopes: list[str]
    state: str | None
    code_challenge: str | None
    code_challenge_method: str | None

    @property
    def scope(self) -> str:
        return " ".join(self.scopes)

    def form_fields(self) -> dict[str, str]:
        """The hidden fields of the consent form (what the form signature covers), in a fixed order."""
        return {"response_type": self.response_type, "client_id": self.app.client_id,
                "redirect_uri": self.redirect_uri, "scope": self.scope, "state": self.state or "",
                "code_challenge": self.code_challenge or "",
                "code_challenge_method": self.code_challenge_method or ""}


FORM_FIELDS = ("response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge",
               "code_challenge_method")


async def check_authorization_request(*, response_type: str | None, client_id: str | None,
                                      redirect_uri: str | None, scope: str | None, state: str | None,
                                      code_challenge: str | None,
                                      code_challenge_method: str | None) -> AuthorizationRequest:
    app = await find_app(client_id)
    if app is None:
        raise AuthorizeRefused("invalid_client", "This application is not known to this server.")
    if not redirect_uri:
        raise AuthorizeRefused("invalid_request", "The redirect_uri parameter is missing.")
    if redirect_uri not in registered_uris(app):  # byte-exact, RFC 6749 section 3.1.2.3
        raise AuthorizeRefused("invalid_redirect_uri",
                               "The redirect URI is not one this application registered.")
    if response_type != "code":
        raise AuthorizeRefused("unsupported_response_type", "Only response_type=code is supported.")
    scopes = parse_scopes(scope)
    unknown = unknown_scopes(scopes)
    if unknown:
        raise AuthorizeRefused("invalid_scope", f"Unknown scopes: {' '.join(unknown)}.")
    if not scopes_subset(scopes, set(app_scopes(app))):
        raise AuthorizeRefused("invalid_scope", "The application asks for more than it registered for.")
    code_challenge = code_challenge or None
    code_challenge_method = code_challenge_method or None
    if code_challenge is None and code_challenge_method is not None:
        raise AuthorizeRefused("invalid_request", "code_challenge_method was given without code_challenge.")
    if code_challenge is not None:
        # No method means "plain" (RFC 7636 section 4.3), which Mastodon and this server refuse.
        if code_challenge_method != "S256":
            raise AuthorizeRefused("invalid_request", "Only the S256 code_challenge_method is supported.")
        if not _S256_CHALLENGE.fullmatch(code_challenge):
            raise AuthorizeRefused("invalid_request", "code_challenge is not a base64url SHA-256 digest.")
    return AuthorizationRequest(app=app, response_type="code", redirect_uri=redirect_uri, scopes=scopes,
                                state=state if state else None, code_challenge=code_challenge,
                                code_challenge_method=code_challenge_method)


# -- authorization codes ----------------------------------------------------------------------------------


async def create_code(request: AuthorizationRequest, user: User) -> str:
    """A fresh single-use code for this request and user; only its digest is stored."""
    now = datetime.now(UTC)
    code = secrets.token_urlsafe(32)
    await OAuthCode.create(code_digest=digest(code), app=request.app, user=user,
                           redirect_uri=request.redirect_uri, scopes=request.scope,
                           code_challenge=request.code_challenge,
                           code_challenge_method=request.code_challenge_method,
                           expires_at=now + CODE_LIFETIME)
    # Housekeeping: codes long past their lifetime are of no use, not even for spotting a replay.
    await OAuthCode.filter(expires_at__lt=now - timedelta(days=1)).delete()
    return code


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _invalid_grant(description: str) -> OAuthError:
    return OAuthError("invalid_grant", description)


async def exchange_code(app: OAuthApp, code: str | None, redirect_uri: str | None, code_verifier: str | None,
                        scope: str | None) -> IssuedToken:
    """RFC 6749 section 4.1.3: the code must be this app's, unused, unexpired, and come with the redirect
    URI used at authorize; with PKCE, the verifier must hash to the challenge. A refused request leaves
    the code as it was, except a second use, which also revokes what the code was exchanged for."""
    if not code or len(code) > 512:
        raise OAuthError("invalid_request", "The code parameter is missing.")
    row = await OAuthCode.filter(code_digest=digest(code)).select_related("user", "user__account").first()
    if row is None or row.app_id != app.id:
        raise _invalid_grant("The authorization code is invalid.")
    now = datetime.now(UTC)
    if row.used_at is not None:
        await _revoke_issued_from(row)
        raise _invalid_grant("The authorization code was already used.")
    if row.expires_at <= now:
        raise _invalid_grant("The authorization code has expired.")
    if redirect_uri != row.redirect_uri:
        raise _invalid_grant("The redirect_uri does not match the one of the authorization request.")
    if row.code_challenge is not None:
        if not code_verifier:
            raise OAuthError("invalid_request", "The code_verifier parameter is missing.")
        if not _VERIFIER.fullmatch(code_verifier) or not hmac.compare_digest(
                s256(code_verifier).encode(), row.code_challenge.encode()):
            raise _invalid_grant("The code_verifier does not match the code_challenge.")
    elif code_verifier:
        # A verifier for a code requested without a challenge: a PKCE downgrade (RFC 9700 section 4.8.2).
        raise _invalid_grant("The authorization request had no code_challenge.")
    granted = row.scopes.split()
    scopes = granted
    if scope:
        scopes = parse_scopes(scope)
        if unknown_scopes(scopes) or not scopes_subset(scopes, set(granted)):
            raise OAuthError("invalid_scope", "The requested scope exceeds the scope granted by the user.")
    if not can_act(row.user):  # the code stays unused: a frozen login's code works again once enabled
        raise _invalid_grant(DISABLED if row.user.disabled else "The account can no longer sign in.")
    # Consumed in one conditional UPDATE, so two concurrent exchanges cannot both win.
    if await OAuthCode.filter(id=row.id, used_at=None).update(used_at=now):
        return await issue_token(app, row.user, scopes)
    await _revoke_issued_from(row)  # lost a race with another exchange of the same code
    raise _invalid_grant("The authorization code was already used.")


async def _revoke_issued_from(row: OAuthCode) -> None:
    """RFC 6749 section 4.1.2: a code used twice SHOULD revoke the tokens issued from it. Tokens do not
    record their code, so every token of this app for this user issued since the code was made goes: the
    replay means the code leaked, and the person signs in again."""
    await OAuthToken.filter(app_id=row.app_id, user_id=row.user_id, created_at__gte=row.created_at,
                            revoked_at=None).update(revoked_at=datetime.now(UTC))


# -- the other grants -------------------------------------------------------------------------------------


def requested_scopes(app: OAuthApp, scope: str | None) -> list[str]:
    """The scopes of a password or client-credentials request (default ``read``), within the app's."""
    scopes = parse_scopes(scope)
    if unknown_scopes(scopes) or not scopes_subset(scopes, set(app_scopes(app))):
        raise OAuthError("invalid_scope", "The requested scope is invalid, unknown, or exceeds the scopes of "
                         "the application.")
    return scopes


async def password_grant(app: OAuthApp, login: str | None, password: str | None,
                         scope: str | None) -> IssuedToken:
    """Mastodon's (pre-4.4) resource-owner password grant, which toot's login_cli and Mastodon.py's
    log_in still use: the login is the email or the username."""
    scopes = requested_scopes(app, scope)
    if not login or not password:
        raise OAuthError("invalid_request", "The username and password parameters are required.")
    try:
        user = await sign_in(login, password)
    except (LoginFailed, LoginBlocked) as exc:
        raise _invalid_grant(exc.message) from None
    return await issue_token(app, user, scopes)


async def client_credentials_grant(app: OAuthApp, scope: str | None) -> IssuedToken:
    return await issue_token(app, None, requested_scopes(app, scope))


# -- the consent form's signing key -----------------------------------------------------------------------


async def form_signing_key() -> bytes:
    """The HMAC key of the consent form's anti-forgery token, derived from the instance actor's private
    key: secret, the same in every process of the instance, and it survives restarts without a table of
    its own. Rotating the instance key invalidates only forms that are open at that moment."""
    actor = await instance.instance_actor()
    if actor is None or not actor.private_key_pem:
        raise RuntimeError("the instance actor has no private key yet")
    return hmac.new(actor.private_key_pem.encode(), b"cara_fed oauth authorize form v1",
                    hashlib.sha256).digest()
