"""Placeholder: being written."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("api_notifications", __name__)
