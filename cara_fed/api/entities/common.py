"""Formats every entity shares: timestamps with milliseconds, dates, ids as strings."""

from __future__ import annotations

from datetime import UTC, date, datetime


def api_datetime(value: datetime | None) -> str | None:
    """``2019-11-23T19:44:00.124Z``: Toot! for iOS refused other forms (superseriousbusiness/gotosocial#513)."""
    if value is None:
        return None
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


def api_midnight(value: datetime) -> str:
    """Accounts' ``created_at`` is the day they were created, at midnight (Mastodon rounds it)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT00:00:00.000Z")


def api_date(value: object) -> str | None:
    """A date from a raw query: a datetime (PostgreSQL) or a timestamp string (SQLite)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.astimezone(UTC).date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    try:
        return datetime.fromisoformat(text).astimezone(UTC).date().isoformat()
    except ValueError:
        return text[:10] or None
