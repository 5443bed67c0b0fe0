"""Registrations: the mode (closed, open, approval, invite) and signing up (the queue of sign-ups waiting
for approval is services/sign_up_approvals.py).

The mode comes from ``registrations.mode`` in the settings file unless an admin chose one at run time,
stored as the InstanceSetting ``registrations.mode``, which wins. Mastodon's rules are the model
(app/models/user.rb, app/services/app_sign_up_service.rb, app/helpers/registration_helper.rb):

- closed: nobody signs up (403), invites included (cara_fed has an explicit invite mode for that);
- open: the account can sign in at once;
- approval: a reason is required and the account waits for a moderator; a valid invite skips the wait
  (``approved = open_registrations? || valid_invitation?``);
- invite: a valid invite is required; it counts one use.

Every problem with the form is reported at once, per field, with Mastodon's error codes (docs:
methods/accounts#create: ERR_BLANK, ERR_INVALID, ERR_TAKEN, ERR_RESERVED, ERR_ACCEPTED, ERR_TOO_LONG,
ERR_TOO_SHORT, ERR_INCLUSION). A refused sign-up stores nothing; an accepted one stores the account, its
login, the invite use (and the app's token for API sign-ups) in one transaction."""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from dataclasses import dataclass, field

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from activitypub.keys import generate_rsa_keypair
from cara_fed.errors import Forbidden, ValidationFailed
from cara_fed.models import (
    Account, Follow, FollowRequest, InstanceSetting, Invite, Notification, OAuthApp, OAuthToken, User,
)
from cara_fed.models.accounts import acct_key
from cara_fed.services import invites
from cara_fed.services.accounts import EMAIL_RE
from cara_fed.services.passwords import MAX_LENGTH as PASSWORD_MAX
from cara_fed.services.passwords import MIN_LENGTH as PASSWORD_MIN
from cara_fed.services.passwords import hash_password
from cara_fed.services.staff import require_admin
from cara_fed.services.tokens import IssuedToken, digest
from cara_fed.settings import Settings

log = logging.getLogger(__name__)

MODES = ("closed", "open", "approval", "invite")
MODE_KEY = "registrations.mode"
CLOSED_MESSAGE = "Registrations are closed"
INVITE_ONLY_MESSAGE = "Sign-up on this server is by invitation only"

# Mastodon's rule for new local usernames (app/models/account.rb: USERNAME_ONLY_RE, 30 characters): letters,
# digits and underscores. Stricter than services/accounts.check_username (which the CLI uses and which also
# allows inner dots and dashes): a public sign-up never needs them, and they make names that look like
# files or hosts (robots.txt, art.example).
USERNAME_RE = re.compile(r"[a-z0-9_]+", re.IGNORECASE)  # used with fullmatch
USERNAME_MAX = 30
EMAIL_MAX = 320
REASON_MAX = 1000
LOCALE_RE = re.compile(r"[a-zA-Z]{2,3}([-_][a-zA-Z0-9]{2,8}){0,2}")  # BCP 47-ish: en, pt-BR, zh-Hant-TW

# Names nobody may sign up with, compared case-insensitively: the paths and actors this server answers at
# the top level or under /users (an account named like them would be confused with them in links and
# logs), the names of staff and system mailboxes people trust (Mastodon's reserved_usernames: admin support
# help root webmaster administrator mod moderator), and names that could be taken for this software. The
# instance actor's name (the domain) is an account row already, so it is taken, not reserved.
RESERVED_USERNAMES = frozenset({
    # server paths and endpoints
    "about", "actor", "admin", "ai", "ai_policy", "aipolicy", "api", "apps", "auth", "explore", "health",
    "inbox", "invite", "invites", "login", "logout", "media", "nodeinfo", "oauth", "outbox", "portfolio",
    "public", "robots", "settings", "share", "sign_in", "sign_up", "signin", "signup", "static", "status",
    "statuses", "studio", "system", "tags", "tdmrep", "timelines", "users", "web", "well_known", "wellknown",
    "webfinger", "host_meta", "hostmeta", "search", "directory", "local", "federated", "home", "instance",
    "notifications", "favicon",
    # people and mailboxes that speak for the server
    "root", "administrator", "mod", "moderator", "moderators", "staff", "support", "help", "webmaster",
    "hostmaster", "postmaster", "abuse", "security", "noreply", "no_reply", "info", "owner", "team",
    # this software
    "cara", "cara_fed", "carafed",
})


def is_reserved(username: str) -> bool:
    return username.lower().replace("-", "_").replace(".", "_") in RESERVED_USERNAMES


# -- the mode ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RegistrationInfo:
    """What clients and pages are told (Mastodon's Instance ``registrations`` and v1 flags)."""
    mode: str

    @property
    def enabled(self) -> bool:
        """Anyone may sign up (v2 ``registrations.enabled``, v1 ``registrations``): open or approval."""
        return self.mode in ("open", "approval")

    @property
    def approval_required(self) -> bool:
        return self.mode == "approval"

    @property
    def invites_enabled(self) -> bool:
        """An invite lets someone in: in every mode but closed (invite mode needs one)."""
        return self.mode != "closed"

    @property
    def message(self) -> str | None:
        """Shown when sign-ups are not open to anyone (Mastodon's closed-registrations message)."""
        if self.mode == "closed":
            return CLOSED_MESSAGE
        if self.mode == "invite":
            return INVITE_ONLY_MESSAGE
        return None


async def effective_mode(settings: Settings) -> str:
    row = await InstanceSetting.get_or_none(key=MODE_KEY)
    value = row.value.get("value") if row is not None and isinstance(row.value, dict) else None
    return value if isinstance(value, str) and value in MODES else settings.registrations.mode


async def registration_info(settings: Settings) -> RegistrationInfo:
    return RegistrationInfo(await effective_mode(settings))


async def set_mode(by: User | None, mode: str) -> str:
    """The admin's choice, which wins over the settings file until changed again."""
    require_admin(by)
    if mode not in MODES:
        raise ValidationFailed(f"Validation failed: the registration mode must be one of {', '.join(MODES)}")
    # Wrapped in an object: tortoise's JSONField takes a bare str for already-encoded JSON text.
    value = {"value": mode}
    updated = await InstanceSetting.filter(key=MODE_KEY).update(value=value)
    if not updated:
        try:
            await InstanceSetting.create(key=MODE_KEY, value=value)
        except IntegrityError:  # another admin saved at the same moment: last write wins
            await InstanceSetting.filter(key=MODE_KEY).update(value=value)
    log.info("registration mode set", extra={"mode": mode, "by": by.account_id if by else None})
    return mode


# -- signing up ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldError:
    code: str  # ERR_BLANK, ERR_TAKEN...
    description: str  # "has already been taken"


_FIELD_NAMES = {"username": "Username", "email": "Email", "password": "Password", "agreement": "Agreement",
                "locale": "Locale", "reason": "Reason", "invite_code": "Invite code"}


class SignUpInvalid(ValidationFailed):
    """422 with Mastodon's ``details``: ``{field: [{"error": code, "description": text}]}``."""

    def __init__(self, details: dict[str, list[FieldError]]) -> None:
        parts = [f"{_FIELD_NAMES.get(name, name)} {e.description}" for name, errors in details.items()
                 for e in errors]
        super().__init__("Validation failed: " + ", ".join(parts))
        self.details = details

    def details_json(self) -> dict[str, list[dict[str, str]]]:
        return {name: [{"error": e.code, "description": e.description} for e in errors]
                for name, errors in self.details.items()}


@dataclass(frozen=True)
class SignUpForm:
    username: str | None
    email: str | None
    password: str | None
    agreement: bool
    locale: str | None = None
    reason: str | None = None
    invite_code: str | None = None


@dataclass(frozen=True)
class SignUpResult:
    user: User
    account: Account
    approved: bool
    invite: Invite | None = None
    token: IssuedToken | None = None  # API sign-ups: the app's token for the new user


@dataclass
class _Errors:
    found: dict[str, list[FieldError]] = field(default_factory=dict)

    def add(self, name: str, code: str, description: str) -> None:
        self.found.setdefault(name, []).append(FieldError(code, description))


def _check_username(username: str, errors: _Errors) -> None:
    if not username:
        errors.add("username", "ERR_BLANK", "can't be blank")
    elif len(username) > USERNAME_MAX:
        errors.add("username", "ERR_TOO_LONG", f"is too long (maximum is {USERNAME_MAX} characters)")
    elif not USERNAME_RE.fullmatch(username):
        errors.add("username", "ERR_INVALID", "must contain only letters, numbers and underscores")
    elif is_reserved(username):
        errors.add("username", "ERR_RESERVED", "is reserved")


def _check_email(email: str, errors: _Errors) -> None:
    if not email:
        errors.add("email", "ERR_BLANK", "can't be blank")
    elif len(email) > EMAIL_MAX:
        errors.add("email", "ERR_TOO_LONG", f"is too long (maximum is {EMAIL_MAX} characters)")
    elif not EMAIL_RE.fullmatch(email) or not email.isprintable() or "." not in email.rsplit("@", 1)[1]:
        errors.add("email", "ERR_INVALID", "is invalid")


def _check_password(password: str, errors: _Errors) -> None:
    if not password:
        errors.add("password", "ERR_BLANK", "can't be blank")
    elif len(password) < PASSWORD_MIN:
        errors.add("password", "ERR_TOO_SHORT", f"is too short (minimum is {PASSWORD_MIN} characters)")
    elif len(password) > PASSWORD_MAX:
        errors.add("password", "ERR_TOO_LONG", f"is too long (maximum is {PASSWORD_MAX} characters)")


async def _check_available(username: str, email: str, errors: _Errors) -> None:
    if "username" not in errors.found and await Account.exists(acct_key=acct_key(username, None)):
        errors.add("username", "ERR_TAKEN", "has already been taken")
    if "email" not in errors.found and await User.exists(email=email):
        errors.add("email", "ERR_TAKEN", "has already been taken")


@dataclass(frozen=True)
class _Checked:
    mode: str
    username: str
    email: str
    password: str
    reason: str
    invite_code: str
    locale: str
    invite: invites.InviteInfo | None


async def check_sign_up(settings: Settings, form: SignUpForm,
                        extra: dict[str, list[FieldError]] | None = None) -> _Checked:
    """Every rule of :func:`sign_up` without storing anything: Forbidden when registrations are closed,
    SignUpInvalid with every field's problems (plus ``extra`` ones the caller found, such as the web
    form's password confirmation)."""
    mode = await effective_mode(settings)
    if mode == "closed":
        raise Forbidden(CLOSED_MESSAGE)
    username = (form.username or "").strip()
    email = (form.email or "").strip().lower()
    password = form.password or ""
    reason = (form.reason or "").strip()
    invite_code = (form.invite_code or "").strip()
    locale = (form.locale or "").strip() or "en"
    errors = _Errors()
    _check_username(username, errors)
    _check_email(email, errors)
    _check_password(password, errors)
    if not form.agreement:
        errors.add("agreement", "ERR_ACCEPTED", "must be accepted")
    if len(locale) > 16 or not LOCALE_RE.fullmatch(locale):
        errors.add("locale", "ERR_INCLUSION", "is not included in the list")
    invite = await invites.find_valid_invite(invite_code) if invite_code else None
    if invite_code and invite is None:
        errors.add("invite_code", "ERR_INVALID", "is not valid (it may have expired or been used up)")
    elif mode == "invite" and not invite_code:
        errors.add("invite_code", "ERR_BLANK", "is required: " + INVITE_ONLY_MESSAGE.lower())
    if mode == "approval" and invite is None and not reason:
        errors.add("reason", "ERR_BLANK", "can't be blank")
    if len(reason) > REASON_MAX:
        errors.add("reason", "ERR_TOO_LONG", f"is too long (maximum is {REASON_MAX} characters)")
    await _check_available(username, email, errors)
    for name, problems in (extra or {}).items():
        for problem in problems:
            errors.add(name, problem.code, problem.description)
    if errors.found:
        raise SignUpInvalid(errors.found)
    return _Checked(mode=mode, username=username, email=email, password=password, reason=reason,
                    invite_code=invite_code, locale=locale, invite=invite)


async def sign_up(settings: Settings, form: SignUpForm, *, app: OAuthApp | None = None) -> SignUpResult:
    """A new local account under the current mode's rules; Forbidden when registrations are closed,
    SignUpInvalid (422, per field) for anything wrong with the form. With ``app`` (API sign-ups), the new
    user also gets a token of the app's scopes, usable once the account is approved."""
    checked = await check_sign_up(settings, form)
    mode, username, email, invite_code = checked.mode, checked.username, checked.email, checked.invite_code
    errors = _Errors()
    password_hash = await hash_password(checked.password)
    keys = await asyncio.to_thread(generate_rsa_keypair)  # ~0.1 s of CPU: off the event loop
    approved = mode == "open" or checked.invite is not None
    try:
        async with in_transaction() as conn:
            claimed = await invites.claim(invite_code, conn) if invite_code else None
            if invite_code and claimed is None:  # used up or revoked since the check above
                errors.add("invite_code", "ERR_INVALID", "is not valid (it may have expired or been used up)")
                raise SignUpInvalid(errors.found)
            account = await Account.create(username=username, domain=None, public_key_pem=keys.public_pem,
                                           private_key_pem=keys.private_pem, using_db=conn)
            user = await User.create(account=account, email=email, password_hash=password_hash, role="user",
                                     approved=approved, locale=checked.locale, sign_up_reason=checked.reason,
                                     invite_code=claimed.code if claimed else None, using_db=conn)
            if claimed is not None and claimed.autofollow:
                await _autofollow(account, claimed, conn)
            token = await _issue_token(app, user, conn) if app is not None else None
    except IntegrityError:  # lost a race with a concurrent sign-up of the same name or email
        await _check_available(username, email, errors)
        if not errors.found:
            errors.add("username", "ERR_TAKEN", "has already been taken")
        raise SignUpInvalid(errors.found) from None
    log.info("sign-up", extra={"account_id": account.id, "approved": approved, "mode": mode})
    return SignUpResult(user=user, account=account, approved=approved, invite=claimed, token=token)


async def _issue_token(app: OAuthApp, user: User, conn: BaseDBAsyncClient) -> IssuedToken:
    """The app's token for the new user, in the sign-up's transaction (services/tokens.issue_token's row)."""
    secret = secrets.token_urlsafe(32)
    scopes = app.scopes.split() or ["read"]
    row = await OAuthToken.create(token_digest=digest(secret), app=app, user=user, scopes=" ".join(scopes),
                                  using_db=conn)
    return IssuedToken(access_token=secret, scopes=scopes, created_at=row.created_at)


async def _autofollow(account: Account, invite: Invite, conn: BaseDBAsyncClient) -> None:
    """The new account follows whoever made the invite (Mastodon's invite ``autofollow``): at once, or as a
    request when that account is locked."""
    inviter = await Account.filter(user__id=invite.created_by_id, suspended_at=None).using_db(conn).first()
    if inviter is None or inviter.id == account.id:
        return
    if inviter.locked:
        await FollowRequest.create(account=account, target_account=inviter, using_db=conn)
        await Notification.create(account=inviter, from_account=account, type="follow_request", using_db=conn)
        return
    await Follow.create(account=account, target_account=inviter, using_db=conn)
    await Notification.create(account=inviter, from_account=account, type="follow", using_db=conn)
