"""Statuses (posts), their mentions and hashtags. A boost is a status whose ``reblog_of`` is set, as in
Mastodon, so it takes its place in timelines like any other status."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel

VISIBILITIES = ("public", "unlisted", "private", "direct")


class Status(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="statuses", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True, unique=True)  # remote statuses' ActivityPub id
    url = fields.CharField(max_length=2048, null=True)
    local = fields.BooleanField(default=True)
    text = fields.TextField(default="")  # what the author typed (local statuses)
    content = fields.TextField(default="")  # sanitised HTML
    spoiler_text = fields.TextField(default="")
    sensitive = fields.BooleanField(default=False)
    visibility = fields.CharField(max_length=16, default="public")  # one of VISIBILITIES
    language = fields.CharField(max_length=16, null=True)
    in_reply_to: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="replies", null=True, on_delete=fields.SET_NULL)
    in_reply_to_account: fields.ForeignKeyNullableRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="replied_statuses", null=True, on_delete=fields.SET_NULL)
    reblog_of: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="reblogs", null=True, on_delete=fields.CASCADE)
    edited_at = fields.DatetimeField(null=True)
    deleted_at = fields.DatetimeField(null=True)
    tags: fields.ManyToManyRelation[Tag] = fields.ManyToManyField(
        "models.Tag", related_name="statuses", through="statuses_tags")

    class Meta:
        table = "statuses"
        indexes = (("account_id", "id"), ("visibility", "id"))


class StatusPin(SnowflakeModel):
    """A status pinned to its author's profile (ActivityPub ``featured``)."""

    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="pins", on_delete=fields.CASCADE)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="pins", on_delete=fields.CASCADE)

    class Meta:
        table = "status_pins"
        unique_together = (("account", "status"),)


class Mention(SnowflakeModel):
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="mentions", on_delete=fields.CASCADE)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="mentioned_in", on_delete=fields.CASCADE)

    class Meta:
        table = "mentions"
        unique_together = (("status", "account"),)


class Tag(SnowflakeModel):
    name = fields.CharField(max_length=255, unique=True)  # lower-cased, without '#'

    class Meta:
        table = "tags"
