"""Follows and pending follow requests (locked accounts, or remote follows awaiting an Accept)."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel


class Follow(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="following_rows", on_delete=fields.CASCADE)  # the follower
    target_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="follower_rows", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True, unique=True)  # the Follow activity's id
    show_reblogs = fields.BooleanField(default=True)
    notify = fields.BooleanField(default=False)

    class Meta:
        table = "follows"
        unique_together = (("account", "target_account"),)


class FollowRequest(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="outgoing_follow_requests", on_delete=fields.CASCADE)
    target_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="incoming_follow_requests", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True, unique=True)
    show_reblogs = fields.BooleanField(default=True)
    notify = fields.BooleanField(default=False)

    class Meta:
        table = "follow_requests"
        unique_together = (("account", "target_account"),)
