"""Favourites and bookmarks. (Boosts are statuses with ``reblog_of``: see statuses.py.)"""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.statuses import Status


class Favourite(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="favourites", on_delete=fields.CASCADE)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="favourites", on_delete=fields.CASCADE)
    uri = fields.CharField(max_length=2048, null=True, unique=True)  # the Like activity's id

    class Meta:
        table = "favourites"
        unique_together = (("account", "status"),)


class Bookmark(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="bookmarks", on_delete=fields.CASCADE)
    status: fields.ForeignKeyRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="bookmarks", on_delete=fields.CASCADE)

    class Meta:
        table = "bookmarks"
        unique_together = (("account", "status"),)
