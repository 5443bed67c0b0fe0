"""Blocks between accounts and reports to the admins (the admin issue adds the queue and its surfaces)."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel


class Block(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocking_rows", on_delete=fields.CASCADE)  # who blocks
    target_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="blocked_by_rows", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True, unique=True)

    class Meta:
        table = "blocks"
        unique_together = (("account", "target_account"),)


class Report(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_made", on_delete=fields.CASCADE)  # reporter (maybe remote)
    target_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="reports_received", on_delete=fields.CASCADE)
    status_ids: Any = fields.JSONField(default=list)
    comment = fields.TextField(default="")
    category = fields.CharField(max_length=32, default="other")
    uri = fields.CharField(max_length=2048, null=True, unique=True)  # a Flag's id
    forwarded = fields.BooleanField(default=False)
    action_taken_at = fields.DatetimeField(null=True)
    rule_ids: Any = fields.JSONField(null=True)
    assigned_account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="assigned_reports", null=True, on_delete=fields.SET_NULL)
    action_taken_by_account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="resolved_reports", null=True, on_delete=fields.SET_NULL)
    updated_at = fields.DatetimeField(auto_now=True, null=True)

    class Meta:
        table = "reports"


class ActivityTombstone(SnowflakeModel):
    """An activity undone before it arrived (Undo{Follow} overtaking its Follow): when it comes, it is
    ignored. Mastodon keeps the same marker in Redis (app/lib/activitypub/activity.rb, delete_later!)."""

    uri = fields.CharField(max_length=2048)
    # Whose activity was undone: another account of the same server must not pre-empt it (keyed by both).
    account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="activity_tombstones", null=True, on_delete=fields.CASCADE)

    class Meta:
        table = "activity_tombstones"
        unique_together = (("uri", "account"),)
