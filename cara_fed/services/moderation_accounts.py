"""Account moderation: suspend and unsuspend, silence (limit), mark media sensitive, disable (freeze) and
enable a login, force a password reset, change roles. Each action checks who asks (services/staff.py), changes the account in one transaction with
whatever must follow it (revoked tokens, the job that tells other servers), and returns what changed, by
whom and when (a :class:`ModerationResult`, also logged: cara_fed has no audit-log table yet).

What each one means, as Mastodon (app/services/suspend_account_service.rb, unsuspend_account_service.rb,
app/models/concerns/account/interactions.rb, docs: admin/moderation):

- suspend, local account: every token is revoked at once and every reader stops showing the account and
  its posts (the readers filter ``suspended_at``: timelines, statuses, threads, notifications, search,
  account pages and ActivityPub documents, which answer 410). Other servers are told with a ``Delete`` of
  the actor, sent to every server we know (Mastodon's DeleteAccountService sends ``Delete{Person}`` to
  ``Account.inboxes``, every inbox it knows; its SuspendAccountService sends an ``Update`` first and the
  ``Delete`` when the data is erased: cara_fed keeps the data, so unsuspending restores everything here).
- suspend, remote account: hidden here; its follows of local accounts are rejected (``Reject{Follow}``),
  so it stops receiving their posts (SuspendAccountService#reject_remote_follows!).
- unsuspend: visible again; a local account's actor is announced with an ``Update`` (its tokens stay
  revoked: the person signs in again).
- silence ("limit"): hidden from public timelines; its follows of anyone become requests (Mastodon's
  FollowService and ActivityPub::Activity::Follow: ``@account.silenced?`` makes a request).
- sensitize: every post of the account reaches clients as ``sensitive: true``.
- disable ("freeze"), local account only: the person can no longer sign in (services/sign_in.py) and
  their tokens and web sessions are refused while it lasts (API 403 "Your login is currently disabled",
  services/tokens.py; streams closed), but nothing is revoked and nothing is hidden or federated: the
  account stays visible here and elsewhere, and enabling makes the same tokens work again (Mastodon's
  User#disable!/enable!, UserPolicy#disable?/enable?).
- force password reset: tokens revoked, unused authorization codes dropped; apps cannot sign in
  (services/sign_in.py refuses with PASSWORD_CHANGE_REQUIRED) until the person signs in on the website,
  which only shows them the change-password form (web/auth_pages.py), and chooses a new password.
- set role: admins only; the last admin cannot stop being one."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from cara_fed.db import raw_rows
from cara_fed.errors import Conflict, NotFound, ValidationFailed
from cara_fed.federation.contexts import AS_CONTEXT, PUBLIC
from cara_fed.federation.context import Federation
from cara_fed.federation.delivery import enqueue_deliveries
from cara_fed.federation.domains import domain_and_parents
from cara_fed.federation.urls import LocalUrls
from cara_fed.jobs import queue
from cara_fed.jobs.registry import JobContext, job_kind
from cara_fed.models import Account, DomainBlock, Follow, OAuthCode, OAuthToken, User
from cara_fed.models.accounts import acct_key
from cara_fed.services import relationships
from cara_fed.services.profiles import update_activity
from cara_fed.services.staff import ROLES, require_admin, require_over

log = logging.getLogger(__name__)

SUSPENDED_JOB = "moderation.suspended"
UNSUSPENDED_JOB = "moderation.unsuspended"


@dataclass(frozen=True)
class ModerationResult:
    """What an action did: ``changed`` maps each column it changed to its new value (empty: it was
    already so, nothing was done)."""
    account_id: int
    action: str
    changed: dict[str, Any]
    by_account_id: int | None  # None: the command line
    at: datetime

    @property
    def noop(self) -> bool:
        return not self.changed


def moderation_result(account: Account, action: str, by: User | None, changed: dict[str, Any], at: datetime
                      ) -> ModerationResult:
    """An action's result (services/sign_up_approvals.approve uses it too), logged when something changed."""
    result = ModerationResult(account_id=account.id, action=action, changed=changed,
                              by_account_id=by.account_id if by is not None else None, at=at)
    if changed:
        log.info("moderation", extra={"action": action, "account_id": account.id,
                                      "by": result.by_account_id, "changed": sorted(changed)})
    return result


async def find_account(handle: str) -> Account:
    """An account by id, ``name`` (local) or ``name@host`` (remote), as the CLI and admin pages name them.
    The instance actor is not an account to moderate."""
    text = handle.strip().removeprefix("@")
    if text.isdigit() and len(text) <= 19:
        account = await Account.get_or_none(id=int(text))
    else:
        username, _, domain = text.partition("@")
        account = await Account.get_or_none(acct_key=acct_key(username, domain or None))
    if account is None or (account.domain is None and not await User.exists(account_id=account.id)):
        raise NotFound("Record not found")
    return account


async def _target(account_id: int) -> tuple[Account, User | None]:
    account = await Account.get_or_none(id=account_id)
    if account is None:
        raise NotFound("Record not found")
    user = await User.get_or_none(account_id=account.id) if account.domain is None else None
    if account.domain is None and user is None:
        raise NotFound("Record not found")  # the instance actor
    return account, user


async def _revoke_logins(user: User, now: datetime, conn: BaseDBAsyncClient) -> None:
    await OAuthToken.filter(user_id=user.id, revoked_at=None).using_db(conn).update(revoked_at=now)
    await OAuthCode.filter(user_id=user.id, used_at=None).using_db(conn).delete()


# -- suspension -------------------------------------------------------------------------------------------


async def suspend_account(by: User | None, account_id: int) -> ModerationResult:
    account, user = await _target(account_id)
    require_over(by, user)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        if not await Account.filter(id=account.id, suspended_at=None).using_db(conn).update(suspended_at=now):
            return moderation_result(account, "suspend", by, {}, now)
        if user is not None:
            await _revoke_logins(user, now, conn)
        # In the same transaction: the other servers hear of it even if this process dies now.
        await queue.enqueue(SUSPENDED_JOB, {"account_id": account.id, "at_ms": int(now.timestamp() * 1000)},
                            using_db=conn)
    return moderation_result(account, "suspend", by, {"suspended_at": now}, now)


async def unsuspend_account(by: User | None, account_id: int) -> ModerationResult:
    account, user = await _target(account_id)
    require_over(by, user)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        if not await Account.filter(id=account.id, suspended_at__not_isnull=True).using_db(conn).update(
                suspended_at=None):
            return moderation_result(account, "unsuspend", by, {}, now)
        if account.domain is None:
            await queue.enqueue(UNSUSPENDED_JOB, {"account_id": account.id,
                                                  "at_ms": int(now.timestamp() * 1000)}, using_db=conn)
    return moderation_result(account, "unsuspend", by, {"suspended_at": None}, now)


def delete_actor_activity(account: Account, urls: LocalUrls, stamp_ms: int) -> dict[str, Any]:
    """``Delete`` of a local actor (Mastodon's ActivityPub::DeleteActorSerializer: the actor is both actor
    and object, addressed to the public). The id carries the suspension's time, so a later suspension is a
    new activity while a re-run of the same job is not."""
    actor = urls.actor(account.username)
    return {"@context": AS_CONTEXT, "id": f"{actor}#delete/{stamp_ms}", "type": "Delete", "actor": actor,
            "object": actor, "to": [PUBLIC]}


async def known_inboxes() -> list[str]:
    """Every remote inbox we know (shared where there is one), minus suspended domains: whoever may hold a
    copy of a local actor (Mastodon's ``Account.inboxes``)."""
    rows = await raw_rows("SELECT DISTINCT COALESCE(NULLIF(shared_inbox_url, ''), inbox_url) AS inbox "
                          "FROM accounts WHERE domain IS NOT NULL AND suspended_at IS NULL", [])
    suspended = set(await DomainBlock.filter(severity="suspend").values_list("domain", flat=True))
    inboxes = []
    for row in rows:
        inbox = row["inbox"]
        if not isinstance(inbox, str) or not inbox.startswith(("https://", "http://")):
            continue
        if suspended and any(d in suspended for d in domain_and_parents(urlsplit(inbox).netloc)):
            continue
        inboxes.append(inbox)
    return sorted(inboxes)


@job_kind(SUSPENDED_JOB)
async def announce_suspension(ctx: JobContext) -> None:
    """Local account: ``Delete`` of the actor to every known inbox. Remote account: ``Reject`` of its
    follows of local accounts. Nothing if the suspension was lifted before the job ran."""
    federation: Federation = ctx.services["federation"]
    account = await Account.get_or_none(id=ctx.payload["account_id"])
    if account is None or account.suspended_at is None:
        return
    if account.domain is None:
        activity = delete_actor_activity(account, federation.urls, int(ctx.payload["at_ms"]))
        inboxes = await known_inboxes()
        async with in_transaction() as conn:  # all deliveries or none; a re-run adds none twice
            await enqueue_deliveries(activity, account, inboxes, using_db=conn)
        return
    follows = await Follow.filter(account_id=account.id, target_account__domain=None).select_related(
        "target_account")
    for follow in follows:
        await relationships.remove_from_followers(federation, follow.target_account, account)


@job_kind(UNSUSPENDED_JOB)
async def announce_unsuspension(ctx: JobContext) -> None:
    """``Update`` of the actor to every known inbox (Mastodon's
    UnsuspendAccountService#distribute_update_actor!), so servers that deleted their copy fetch it again."""
    federation: Federation = ctx.services["federation"]
    account = await Account.get_or_none(id=ctx.payload["account_id"], domain=None)
    if account is None or account.suspended_at is not None:
        return
    activity = update_activity(account, federation.urls)
    stamp = int(ctx.payload["at_ms"])
    activity["id"] = f"{federation.urls.actor(account.username)}#updates/unsuspend/{stamp}"
    inboxes = await known_inboxes()
    async with in_transaction() as conn:
        await enqueue_deliveries(activity, account, inboxes, using_db=conn)


# -- silence and sensitive media --------------------------------------------------------------------------


async def _set_mark(by: User | None, account_id: int, action: str, column: str, on: bool) -> ModerationResult:
    account, user = await _target(account_id)
    require_over(by, user)
    now = datetime.now(UTC)
    query = Account.filter(id=account.id, **{f"{column}__isnull": on})
    if not await query.update(**{column: now if on else None}):
        return moderation_result(account, action, by, {}, now)
    return moderation_result(account, action, by, {column: now if on else None}, now)


async def silence_account(by: User | None, account_id: int) -> ModerationResult:
    return await _set_mark(by, account_id, "silence", "silenced_at", True)


async def unsilence_account(by: User | None, account_id: int) -> ModerationResult:
    return await _set_mark(by, account_id, "unsilence", "silenced_at", False)


async def sensitize_account(by: User | None, account_id: int) -> ModerationResult:
    return await _set_mark(by, account_id, "sensitize", "sensitized_at", True)


async def unsensitize_account(by: User | None, account_id: int) -> ModerationResult:
    return await _set_mark(by, account_id, "unsensitize", "sensitized_at", False)


# -- logins -----------------------------------------------------------------------------------------------


async def force_password_reset(by: User | None, account_id: int) -> ModerationResult:
    """Sign the person out everywhere and make them choose a new password before signing in again."""
    account, user = await _target(account_id)
    if user is None:
        raise ValidationFailed("Validation failed: only local accounts have a password")
    require_over(by, user)
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        await User.filter(id=user.id).using_db(conn).update(must_change_password=True)
        await _revoke_logins(user, now, conn)
    return moderation_result(account, "force_password_reset", by, {"must_change_password": True}, now)


async def _set_disabled(by: User | None, account_id: int, action: str, on: bool) -> ModerationResult:
    account, user = await _target(account_id)
    if user is None:
        raise ValidationFailed(f"Validation failed: only local accounts have a login to {action}")
    require_over(by, user)
    now = datetime.now(UTC)
    # Conditional, so a repeated or concurrent action reports "nothing changed" instead of changing twice.
    if not await User.filter(id=user.id, disabled=not on).update(disabled=on):
        return moderation_result(account, action, by, {}, now)
    return moderation_result(account, action, by, {"disabled": on}, now)


async def disable_login(by: User | None, account_id: int) -> ModerationResult:
    """Freeze a local account's login; its tokens stay (refused while it lasts), its content stays up."""
    return await _set_disabled(by, account_id, "disable", True)


async def enable_login(by: User | None, account_id: int) -> ModerationResult:
    """Lift a freeze: sign-in and the tokens the person still has work again."""
    return await _set_disabled(by, account_id, "enable", False)


# -- roles ------------------------------------------------------------------------------------------------


async def set_role(by: User | None, account_id: int, role: str) -> ModerationResult:
    """Make a local account a user, moderator or admin (admins only; nobody changes their own role).
    The last admin cannot be demoted: the admins' rows are locked while counting (PostgreSQL; SQLite's
    write transactions already run one at a time), so two admins demoting each other cannot both win."""
    require_admin(by)
    if role not in ROLES:
        raise ValidationFailed(f"Validation failed: role must be one of {', '.join(ROLES)}")
    account, user = await _target(account_id)
    if user is None:
        raise ValidationFailed("Validation failed: only local accounts have a role")
    if by is not None and by.id == user.id:
        raise ValidationFailed("Validation failed: you cannot change your own role")
    now = datetime.now(UTC)
    async with in_transaction() as conn:
        admins = User.filter(role="admin").using_db(conn)
        if conn.capabilities.dialect == "postgres":
            admins = admins.select_for_update()
        admin_ids = [u.id for u in await admins]
        current = await User.get(id=user.id).using_db(conn)
        if current.role == role:
            return moderation_result(account, "set_role", by, {}, now)
        if current.role == "admin" and admin_ids == [user.id]:
            raise Conflict("The last admin cannot be demoted: make another account admin first")
        await User.filter(id=user.id).using_db(conn).update(role=role)
    return moderation_result(account, "set_role", by, {"role": role}, now)
