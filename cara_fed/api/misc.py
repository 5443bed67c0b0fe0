"""Placeholder: being written."""

from __future__ import annotations

from quart import Blueprint

bp = Blueprint("api_misc", __name__)
