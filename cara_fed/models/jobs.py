"""The durable job table (DESIGN.md section 4). One table on SQLite and PostgreSQL alike.

``run_after_ms`` and ``lease_until_ms`` are epoch milliseconds (integers) rather than timestamps: the claim
query compares them in raw SQL on both databases, and integers compare the same way everywhere.
"""

from __future__ import annotations

from typing import Any

from tortoise import fields

from cara_fed.models.base import SnowflakeModel

QUEUED, RUNNING, DONE, DEAD = "queued", "running", "done", "dead"


class Job(SnowflakeModel):
    kind = fields.CharField(max_length=64)
    payload: Any = fields.JSONField(default=dict)
    state = fields.CharField(max_length=16, default=QUEUED)
    attempts = fields.IntField(default=0)  # claims so far (a crashed run counts)
    max_attempts = fields.IntField()  # from the kind's policy at enqueue: a job that keeps crashing
    # its worker is dead-lettered by the claim sweep, which cannot look up policies
    run_after_ms = fields.BigIntField()
    lease_until_ms = fields.BigIntField(null=True)
    give_up_at_ms = fields.BigIntField()  # after this, a failure is final (set from the kind's policy)
    locked_by = fields.CharField(max_length=128, null=True)  # worker id holding the lease
    last_error = fields.TextField(null=True)
    # Optional de-duplication: a second job with the same key is not stored (e.g. one per activity id).
    # Stored as the SHA-256 hex digest of the caller's key, so any key length works on every database.
    unique_key = fields.CharField(max_length=64, null=True, unique=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "jobs"
        indexes = (("state", "run_after_ms"), ("state", "lease_until_ms"))
