"""Media attachments: uploaded (local files under the storage backend) or remote (cached on demand)."""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.accounts import Account
from cara_fed.models.base import SnowflakeModel
from cara_fed.models.statuses import Status


class MediaAttachment(SnowflakeModel):
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "models.Account", related_name="media_attachments", on_delete=fields.CASCADE)
    status: fields.ForeignKeyNullableRelation[Status] = fields.ForeignKeyField(
        "models.Status", related_name="media_attachments", null=True, on_delete=fields.SET_NULL)
    position = fields.IntField(default=0)  # order within the status
    type = fields.CharField(max_length=16, default="image")  # image | gifv | video | audio | unknown
    file_path = fields.CharField(max_length=255, null=True)  # random storage name, never client-chosen
    remote_url = fields.CharField(max_length=2048, null=True)
    content_type = fields.CharField(max_length=64, null=True)
    file_size = fields.BigIntField(null=True)
    description = fields.TextField(default="")  # alt text
    blurhash = fields.CharField(max_length=64, null=True)
    focus_x = fields.FloatField(default=0.0)
    focus_y = fields.FloatField(default=0.0)
    meta: Any = fields.JSONField(default=dict)  # Mastodon `meta` shape: original/small sizes and aspect
    # Storage names of the processed copies by role (full, preview, thumbnail, and their JPEG/PNG
    # federation copies); None for remote media not cached here.
    files: Any = fields.JSONField(null=True)
    pixels_untouched = fields.BooleanField(default=False, db_default=False)  # the original pixels are served

    class Meta:
        table = "media_attachments"
        # Statuses load their images by status, in order (API pages, public pages, notes).
        indexes = (("status_id", "position"),)
