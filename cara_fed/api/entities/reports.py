"""The Report entity (docs: entities/Report), as answered to the reporter."""

from __future__ import annotations

from typing import Any

from cara_fed.api.entities.common import api_datetime
from cara_fed.models import Report


def report_to_api(report: Report, target_account: dict[str, Any]) -> dict[str, Any]:
    """``target_account``: the reported account's entity, rendered by the caller."""
    return {
        "id": str(report.id),
        "action_taken": report.action_taken_at is not None,
        "action_taken_at": api_datetime(report.action_taken_at),
        "category": report.category,
        "comment": report.comment,
        "forwarded": report.forwarded,
        "created_at": api_datetime(report.created_at),
        # As REST::ReportSerializer: status_ids is a list (the column defaults to []), rule_ids may be null.
        "status_ids": [str(i) for i in report.status_ids or []],
        "rule_ids": [str(i) for i in report.rule_ids] if report.rule_ids is not None else None,
        "target_account": target_account,
    }
