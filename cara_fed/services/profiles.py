"""Changing one's own profile (Mastodon's UpdateAccountService): display name, bio, profile fields, the
locked/bot/discoverable/indexable/hide_collections switches and the posting defaults. The change and the
``Update`` of the actor for followers' servers are saved in one transaction (the outbox rule of DESIGN.md
section 3); unlocking an account accepts the requests that were waiting, as Mastodon does."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from tortoise.transactions import in_transaction

from cara_fed.errors import ValidationFailed
from cara_fed.federation.context import Federation
from cara_fed.federation.contexts import PUBLIC
from cara_fed.federation.convert import account_to_ap
from cara_fed.federation.delivery import enqueue_fanout
from cara_fed.federation.urls import LocalUrls
from cara_fed.ids import snowflake_id
from cara_fed.models import Account, FollowRequest, User
from cara_fed.models.accounts import acct_key
from cara_fed.services import text as text_format
from cara_fed.services.relationships import authorize_follow_request

# Mastodon's limits (app/models/account.rb DISPLAY_NAME_LENGTH_LIMIT, NOTE_LENGTH_LIMIT, DEFAULT_FIELDS_SIZE;
# app/models/account/field.rb); the instance API advertises the field ones (api/instance.py).
DISPLAY_NAME_MAX = 30
NOTE_MAX = 500
MAX_FIELDS = 4
FIELD_NAME_MAX = 255
FIELD_VALUE_MAX = 255
PRIVACY_CHOICES = ("public", "unlisted", "private")
COMMISSION_CHOICES = ("open", "closed", "waitlist")  # User.commissions, shown on the profile page
LANGUAGE_RE = re.compile(r"[a-z]{2,3}")  # ISO 639-1/-3, as Mastodon's LanguagesHelper accepts

# The Account columns an Update must announce when they change.
_PUBLIC_COLUMNS = ("display_name", "note", "profile_fields", "locked", "bot", "discoverable", "indexable",
                   "hide_collections", "avatar_path", "header_path")


@dataclass(frozen=True)
class ProfileChanges:
    """What the caller asked to change; None leaves a value as it is."""
    display_name: str | None = None
    note: str | None = None
    locked: bool | None = None
    bot: bool | None = None
    discoverable: bool | None = None
    indexable: bool | None = None
    hide_collections: bool | None = None
    fields: list[tuple[str, str]] | None = None
    privacy: str | None = None
    sensitive: bool | None = None
    language: str | None = None  # "" clears the default language
    pixels_untouched: bool | None = None  # the artist's default for uploads (media issue point 3)
    commissions: str | None = None  # one of COMMISSION_CHOICES
    avatar_path: str | None = None  # storage name of a processed image (services.media.store_profile_image)
    header_path: str | None = None


def _too_long(name: str, value: str, limit: int) -> None:
    if len(value) > limit:
        raise ValidationFailed(f"Validation failed: {name} is too long (maximum is {limit} characters)")


def check(changes: ProfileChanges) -> None:
    """Every value checked before anything is stored (422 ``Validation failed: ...``)."""
    if changes.display_name is not None:
        _too_long("Display name", changes.display_name, DISPLAY_NAME_MAX)
    if changes.note is not None:
        _too_long("Note", changes.note, NOTE_MAX)
    if changes.fields is not None:
        if len(changes.fields) > MAX_FIELDS:
            raise ValidationFailed(f"Validation failed: Fields is too long (maximum is {MAX_FIELDS} fields)")
        for name, value in changes.fields:
            _too_long("Field name", name, FIELD_NAME_MAX)
            _too_long("Field value", value, FIELD_VALUE_MAX)
    if changes.privacy is not None and changes.privacy not in PRIVACY_CHOICES:
        raise ValidationFailed(f"Validation failed: privacy must be one of {', '.join(PRIVACY_CHOICES)}")
    if changes.commissions is not None and changes.commissions not in COMMISSION_CHOICES:
        raise ValidationFailed(f"Validation failed: commissions must be one of {', '.join(COMMISSION_CHOICES)}")
    if changes.language and not LANGUAGE_RE.fullmatch(changes.language):
        raise ValidationFailed("Validation failed: language is not a valid ISO 639 code")


async def render_note(text: str, urls: LocalUrls, local_domain: str) -> str:
    """The bio as HTML, as a post is rendered (services/text.py): links, hashtags, and mentions of
    accounts this server knows."""
    targets = text_format.find_mentions(text, local_domain)
    keys = {acct_key(t.username, t.domain): t for t in targets}
    known = {a.acct_key: a for a in await Account.filter(acct_key__in=list(keys), suspended_at=None)} if keys else {}

    def mention_url(target: text_format.MentionTarget) -> str | None:
        account = known.get(acct_key(target.username, target.domain))
        if account is None:
            return None
        return urls.profile(account.username) if account.domain is None else (account.url or account.uri)

    return text_format.render(text, mention_url=mention_url, tag_url=urls.tag)


def _new_fields(account: Account, pairs: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Fields as stored (plain text); a verification survives only an unchanged field."""
    old = {(f.get("name"), f.get("value")): f.get("verified_at") for f in account.profile_fields or []
           if isinstance(f, dict)}
    return [{"name": name, "value": value, "verified_at": old.get((name, value))} for name, value in pairs]


def update_activity(account: Account, urls: LocalUrls) -> dict[str, Any]:
    """``Update`` of the actor, addressed to the public and the followers (as Mastodon sends it)."""
    actor = account_to_ap(account, urls)
    context = actor.pop("@context")
    return {"@context": context, "id": f"{urls.actor(account.username)}#updates/{snowflake_id()}", "type": "Update",
            "actor": urls.actor(account.username), "to": [PUBLIC], "cc": [urls.followers(account.username)],
            "object": actor}


async def update_profile(federation: Federation, account: Account, user: User, changes: ProfileChanges) -> Account:
    """Apply ``changes`` to the local ``account`` and its ``user``; returns the account as stored."""
    check(changes)
    urls = federation.urls
    before = {name: getattr(account, name) for name in _PUBLIC_COLUMNS}
    was_locked = account.locked
    if changes.display_name is not None:
        account.display_name = changes.display_name.strip()
    if changes.note is not None:
        account.note_source = changes.note
        account.note = await render_note(changes.note, urls, federation.settings.instance.domain)
    for name in ("locked", "bot", "discoverable", "indexable", "hide_collections"):
        value = getattr(changes, name)
        if value is not None:
            setattr(account, name, value)
    if changes.avatar_path is not None:
        account.avatar_path = changes.avatar_path
    if changes.header_path is not None:
        account.header_path = changes.header_path
    if changes.fields is not None:
        account.profile_fields = _new_fields(account, [(n, v) for n, v in changes.fields if n.strip() or v.strip()])
    if changes.privacy is not None:
        user.default_visibility = changes.privacy
    if changes.sensitive is not None:
        user.default_sensitive = changes.sensitive
    if changes.language is not None:
        user.default_language = changes.language or None
    if changes.pixels_untouched is not None:
        user.pixels_untouched = changes.pixels_untouched
    if changes.commissions is not None:
        user.commissions = changes.commissions
    announce = any(getattr(account, name) != before[name] for name in _PUBLIC_COLUMNS)
    async with in_transaction() as conn:
        await account.save(update_fields=[*_PUBLIC_COLUMNS, "note_source", "updated_at"], using_db=conn)
        await user.save(update_fields=["default_visibility", "default_sensitive", "default_language",
                                       "pixels_untouched", "commissions"], using_db=conn)
        if was_locked and not account.locked:
            waiting = await FollowRequest.filter(target_account_id=account.id).using_db(conn).values_list(
                "account_id", flat=True)
            for requester_id in waiting:
                await authorize_follow_request(federation, account, int(requester_id))  # type: ignore[arg-type]
        if announce:
            await enqueue_fanout(update_activity(account, urls), account, using_db=conn)
    return account
