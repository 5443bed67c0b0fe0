"""OAuth2 applications, authorization codes and access tokens. Codes and tokens are stored as SHA-256
digests, so a leaked database does not leak working credentials."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import User
from cara_fed.models.base import SnowflakeModel


class OAuthApp(SnowflakeModel):
    name = fields.CharField(max_length=255)
    website = fields.CharField(max_length=2048, null=True)
    redirect_uris = fields.TextField()  # newline-separated, stored verbatim, compared byte-exactly
    scopes = fields.CharField(max_length=1024, default="read")
    client_id = fields.CharField(max_length=64, unique=True)
    client_secret = fields.CharField(max_length=64)

    class Meta:
        table = "oauth_apps"


class OAuthCode(SnowflakeModel):
    code_digest = fields.CharField(max_length=64, unique=True)
    app: fields.ForeignKeyRelation[OAuthApp] = fields.ForeignKeyField(
        "models.OAuthApp", related_name="codes", on_delete=fields.CASCADE)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="oauth_codes", on_delete=fields.CASCADE)
    redirect_uri = fields.TextField()
    scopes = fields.CharField(max_length=1024)
    code_challenge = fields.CharField(max_length=128, null=True)
    code_challenge_method = fields.CharField(max_length=16, null=True)
    expires_at = fields.DatetimeField()
    used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_codes"


class OAuthToken(SnowflakeModel):
    token_digest = fields.CharField(max_length=64, unique=True)
    app: fields.ForeignKeyNullableRelation[OAuthApp] = fields.ForeignKeyField(
        "models.OAuthApp", related_name="tokens", null=True, on_delete=fields.CASCADE)
    user: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="oauth_tokens", null=True, on_delete=fields.CASCADE)  # None: app token
    scopes = fields.CharField(max_length=1024)
    revoked_at = fields.DatetimeField(null=True)
    last_used_at = fields.DatetimeField(null=True)

    class Meta:
        table = "oauth_tokens"
