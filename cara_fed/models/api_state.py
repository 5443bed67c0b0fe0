"""What the client API keeps per user beyond posts: mutes, read markers, status edit history, and
Idempotency-Key records."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.accounts import Account, User
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.statuses import Status


class Mute(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="muting_rows", on_delete=fields.CASCADE)
    target_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="muted_by_rows", on_delete=fields.CASCADE)
    hide_notifications = fields.BooleanField(default=True)
    expires_at = fields.DatetimeField(null=True)

    class Meta:
        table = "mutes"
        unique_together = (("account", "target_account"),)


class Marker(SnowflakeModel):
    """Where a user stopped reading a timeline (``home`` or ``notifications``), shared across clients."""
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="markers", on_delete=fields.CASCADE)
    timeline = fields.CharField(max_length=32)
    last_read_id = fields.BigIntField(default=0)
    version = fields.IntField(default=0)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "markers"
        unique_together = (("user", "timeline"),)


class StatusEdit(SnowflakeModel):
    """One earlier version of an edited status (``GET /api/v1/statuses/:id/history``)."""
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="edits", on_delete=fields.CASCADE)
    content = fields.TextField(default="")
    spoiler_text = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    media: Any = fields.JSONField(default=list)  # the MediaAttachment entities as they were

    class Meta:
        table = "status_edits"


class IdempotencyKey(SnowflakeModel):
    """A client's Idempotency-Key for a post: a retried request gets the same status back (Mastodon keeps
    them an hour, app/controllers/api/v1/statuses_controller.rb)."""
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="idempotency_keys", on_delete=fields.CASCADE)
    key = fields.CharField(max_length=255)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="idempotency_keys", on_delete=fields.CASCADE)

    class Meta:
        table = "idempotency_keys"
        unique_together = (("account", "key"),)
