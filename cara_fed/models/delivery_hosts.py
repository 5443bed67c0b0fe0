"""Delivery health per remote host (Mastodon's DeliveryFailureTracker): a host that fails on several
distinct days is marked unreachable and skipped until it talks to us again or answers a delivery."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.base import SnowflakeModel


class DeliveryHost(SnowflakeModel):
    domain = fields.CharField(max_length=255, unique=True)  # host[:port] as in inbox URLs, lower-cased
    failure_days = fields.IntField(default=0)  # distinct UTC days with a failed delivery since the last success
    last_failure_day = fields.CharField(max_length=10, null=True)  # YYYY-MM-DD
    last_error = fields.TextField(null=True)
    unreachable_since = fields.DatetimeField(null=True)
    last_success_at = fields.DatetimeField(null=True)

    class Meta:
        table = "delivery_hosts"
