"""What the admins run the instance with: settings they change at run time, rules, invites, report notes,
allowed domains (allow-list mode), and rate-limit buckets shared by every process."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.accounts import Account, User
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.moderation import Report


class InstanceSetting(SnowflakeModel):
    """One admin-editable setting (registration mode, title, description, AI-signal defaults...), which
    overrides the settings file's value for the same key. (No semicolons in model docstrings: tortoise
    turns them into SQLite table comments and splits its script on them.)"""
    key = fields.CharField(max_length=64, unique=True)
    value: Any = fields.JSONField(null=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "instance_settings"


class Rule(SnowflakeModel):
    text = fields.TextField()
    hint = fields.TextField(default="")
    position = fields.IntField(default=0)

    class Meta:
        table = "rules"


class Invite(SnowflakeModel):
    code = fields.CharField(max_length=64, unique=True)
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "models.User", related_name="invites", null=True, on_delete=fields.SET_NULL)
    max_uses = fields.IntField(null=True)  # None: unlimited
    uses = fields.IntField(default=0)
    expires_at = fields.DatetimeField(null=True)
    revoked_at = fields.DatetimeField(null=True)
    autofollow = fields.BooleanField(default=False)

    class Meta:
        table = "invites"


class ReportNote(SnowflakeModel):
    report: fields.ForeignKeyRelation[Report] = fields.ForeignKeyField(
        "models.Report", related_name="notes", on_delete=fields.CASCADE)
    author: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="report_notes", on_delete=fields.CASCADE)
    content = fields.TextField()

    class Meta:
        table = "report_notes"


class DomainAllow(SnowflakeModel):
    """Allow-list mode (registrations issue 7 point 4): only these domains federate."""
    domain = fields.CharField(max_length=255, unique=True)

    class Meta:
        table = "domain_allows"


class RateLimitBucket(SnowflakeModel):
    """A fixed-window counter (key = limit name + client identity) shared by every process."""
    key = fields.CharField(max_length=255, unique=True)
    count = fields.IntField(default=0)
    reset_at_ms = fields.BigIntField()

    class Meta:
        table = "rate_limit_buckets"
