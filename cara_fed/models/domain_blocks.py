"""Domain policy: servers we refuse (suspend) or restrict. The admin issue adds the surfaces; the inbox and
the outgoing client already honour it."""

from __future__ import annotations

from tortoise import fields

from cara_fed.models.base import SnowflakeModel

SEVERITIES = ("suspend", "silence", "noop")


class DomainBlock(SnowflakeModel):
    domain = fields.CharField(max_length=255, unique=True)  # lower-cased; covers its subdomains
    severity = fields.CharField(max_length=16, default="suspend")  # one of SEVERITIES
    reject_media = fields.BooleanField(default=False)
    reject_reports = fields.BooleanField(default=False)
    private_comment = fields.TextField(default="")
    public_comment = fields.TextField(default="")
    obfuscate = fields.BooleanField(default=False, db_default=False)  # shown partly hidden in the public list

    class Meta:
        table = "domain_blocks"
