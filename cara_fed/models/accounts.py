"""Accounts: every actor we know, local or remote (one table, as Mastodon, so that follows, statuses and
notifications point at one kind of row), and the login side of local accounts (:class:`User`)."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.base import SnowflakeModel


def acct_key(username: str, domain: str | None) -> str:
    """Case-insensitive identity of an account: ``name@`` for local accounts, ``name@host`` for remote ones."""
    return f"{username.lower()}@{(domain or '').lower()}"


class Account(SnowflakeModel):
    username = fields.CharField(max_length=255)
    domain = fields.CharField(max_length=255, null=True, db_index=True)  # None: local
    # Unique, lower-cased username@domain: usernames are case-insensitive (Mastodon, WebFinger).
    acct_key = fields.CharField(max_length=520, unique=True)
    display_name = fields.CharField(max_length=255, default="")
    note = fields.TextField(default="")  # bio, sanitised HTML
    note_source = fields.TextField(default="", db_default="")  # local accounts: the bio as typed
    avatar_path = fields.CharField(max_length=255, null=True)  # storage name of a local file
    avatar_remote_url = fields.CharField(max_length=2048, null=True)
    header_path = fields.CharField(max_length=255, null=True)
    header_remote_url = fields.CharField(max_length=2048, null=True)
    profile_fields: Any = fields.JSONField(default=list)  # [{name, value, verified_at}]
    locked = fields.BooleanField(default=False)  # follows need approval
    bot = fields.BooleanField(default=False)
    discoverable = fields.BooleanField(default=True)  # listed in the directory and suggestions
    indexable = fields.BooleanField(default=False)  # public posts may be full-text indexed: off for artists
    # db_default: a column added to a table that already has rows needs a database-level default.
    hide_collections = fields.BooleanField(default=False, db_default=False)  # followers/following: counts only
    actor_type = fields.CharField(max_length=32, default="Person")
    # Keys: PEM text. Local accounts get a pair at creation; remote ones cache their public key.
    public_key_pem = fields.TextField(default="")
    private_key_pem = fields.TextField(null=True)
    key_id = fields.CharField(max_length=2048, null=True, unique=True)  # remote publicKey.id
    # Remote actors only (local ones derive these from the instance domain).
    uri = fields.CharField(max_length=2048, null=True, unique=True)
    url = fields.CharField(max_length=2048, null=True)
    inbox_url = fields.CharField(max_length=2048, null=True)
    shared_inbox_url = fields.CharField(max_length=2048, null=True)
    outbox_url = fields.CharField(max_length=2048, null=True)
    followers_url = fields.CharField(max_length=2048, null=True)
    following_url = fields.CharField(max_length=2048, null=True)
    featured_url = fields.CharField(max_length=2048, null=True)
    moved_to: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="moved_from", null=True, on_delete=fields.SET_NULL)
    last_fetched_at = fields.DatetimeField(null=True)
    suspended_at = fields.DatetimeField(null=True)
    silenced_at = fields.DatetimeField(null=True)
    sensitized_at = fields.DatetimeField(null=True)  # an admin marked all its media sensitive
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "accounts"

    @property
    def is_local(self) -> bool:
        return self.domain is None

    async def save(self, *args: Any, **kwargs: Any) -> None:
        self.acct_key = acct_key(self.username, self.domain)
        update_fields = kwargs.get("update_fields")
        if update_fields is not None and {"username", "domain"} & set(update_fields):
            kwargs["update_fields"] = [*update_fields, "acct_key"]
        await super().save(*args, **kwargs)


class User(SnowflakeModel):
    """The login of a local account: email, argon2 password hash, role. Never federated."""

    account: fields.OneToOneRelation[Account] = fields.OneToOneField(
        "models.Account", related_name="user", on_delete=fields.CASCADE)
    email = fields.CharField(max_length=320, unique=True)  # stored lower-cased
    password_hash = fields.CharField(max_length=255)  # argon2id, PHC string
    role = fields.CharField(max_length=16, default="user")  # user | moderator | admin
    approved = fields.BooleanField(default=True)
    confirmed_at = fields.DatetimeField(null=True)
    locale = fields.CharField(max_length=16, default="en")
    last_sign_in_at = fields.DatetimeField(null=True)
    # Posting defaults clients read from /api/v1/preferences and the credential account's `source`.
    default_visibility = fields.CharField(max_length=16, default="public", db_default="public")
    default_sensitive = fields.BooleanField(default=False, db_default=False)
    default_language = fields.CharField(max_length=16, null=True)
    pixels_untouched = fields.BooleanField(default=False, db_default=False)  # upload default (media issue)
    sign_up_reason = fields.TextField(default="", db_default="")  # approval-required registrations
    invite_code = fields.CharField(max_length=64, null=True)  # the invite used to sign up
    must_change_password = fields.BooleanField(default=False, db_default=False)  # an admin forced a reset
    # Mastodon's "freeze" (User#disable!): no sign-in and the tokens refused while set; the account stays
    # visible and federated, and the tokens work again once it is cleared (services/moderation_accounts).
    disabled = fields.BooleanField(default=False, db_default=False)
    # Commissions and studio choices shown on the profile (portfolio issue).
    commissions = fields.CharField(max_length=16, default="closed", db_default="closed")  # open|closed|waitlist

    class Meta:
        table = "users"
