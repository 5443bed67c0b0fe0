"""Notifications shown to local accounts (Mastodon's types: follow, follow_request, mention, favourite,
reblog, status, update...)."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.statuses import Status


class Notification(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="notifications", on_delete=fields.CASCADE)  # who is notified
    from_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="caused_notifications", on_delete=fields.CASCADE)
    type = fields.CharField(max_length=32)
    status: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="notifications", null=True, on_delete=fields.CASCADE)

    class Meta:
        table = "notifications"
        indexes = (("account_id", "id"),)
