"""What every model shares: a Snowflake primary key (client-facing ids are its decimal string)."""

from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from cara_fed.ids import snowflake_id


class SnowflakeModel(Model):
    id = fields.BigIntField(primary_key=True, generated=False, default=snowflake_id)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        abstract = True
