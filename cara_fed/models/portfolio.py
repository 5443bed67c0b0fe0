"""The portfolio: an artist's ordered works, optionally grouped in ordered series. Every work is also a
post (its ``status``: a Note with ordered Image attachments, so every fediverse server shows it); the
work adds what a portfolio needs beyond a post."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.statuses import Status

LICENCES = ("all-rights-reserved", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0", "cc-by-nc-sa-4.0",
            "cc-by-nd-4.0", "cc-by-nc-nd-4.0")


class Series(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="series", on_delete=fields.CASCADE)
    name = fields.CharField(max_length=255)
    description = fields.TextField(default="")
    position = fields.IntField(default=0)
    uri = fields.CharField(max_length=2048, null=True, unique=True)  # remote series' collection id

    class Meta:
        table = "series"
        unique_together = (("account", "name"),)


class Work(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="works", on_delete=fields.CASCADE)
    status: fields.OneToOneRelation[Status] = fields.OneToOneField(
        "models.Status", related_name="work", on_delete=fields.CASCADE)
    title = fields.CharField(max_length=255, default="")
    description = fields.TextField(default="")
    medium = fields.CharField(max_length=255, default="")
    year = fields.IntField(null=True)
    licence = fields.CharField(max_length=32, default="all-rights-reserved")  # one of LICENCES
    series: fields.ForeignKeyNullableRelation[Series] = fields.ForeignKeyField(
        "models.Series", related_name="works", null=True, on_delete=fields.SET_NULL)
    position = fields.IntField(default=0)  # order in the portfolio (0 first)
    series_position = fields.IntField(default=0)  # order within its series
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "works"
        indexes = (("account_id", "position"),)
