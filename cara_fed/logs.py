"""Structured logs: one JSON object per line (or plain text), each carrying the current request id.

The request id comes from a context variable set by the web layer, so anything logged while serving a
request (services, database errors) is tied to it without passing it around.
"""

from __future__ import annotations

import contextvars
import logging
import re
import secrets
import sys
from datetime import UTC, datetime
from typing import Any

import orjson

request_id_var: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
request_log = logging.getLogger("cara_fed.requests")  # a line per request answered

# A client-supplied request id is echoed only if it looks like one (no log injection).
_REQUEST_ID_RE = re.compile(r"[A-Za-z0-9._-]{8,128}")  # used with fullmatch


def start_request(supplied: str | None) -> str:
    """The request's id -- the client's ``X-Request-Id`` if it looks like one, else a new one -- set as the
    current one for everything logged while the request is served."""
    request_id = supplied if supplied and _REQUEST_ID_RE.fullmatch(supplied) else secrets.token_hex(8)
    request_id_var.set(request_id)
    return request_id


def log_request(method: str, path: str, status: int, started: float, now: float) -> None:
    """The request's line: ``started`` and ``now`` from ``time.perf_counter()``."""
    if request_log.isEnabledFor(logging.INFO):
        request_log.info("request", extra={"method": method, "path": path, "status": status,
                                           "duration_ms": round((now - started) * 1000, 1)})


# Attributes every LogRecord has; anything else was passed with `extra=` and belongs in the output.
_STANDARD_ATTRS = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id is not None:
            entry["request_id"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return orjson.dumps(entry, default=str).decode()


class TextFormatter(logging.Formatter):
    """One line per record, whatever it carries: control characters in the message and in extra values
    (a request path, say) are escaped, so a request cannot forge log lines."""

    def format(self, record: logging.LogRecord) -> str:
        record = logging.makeLogRecord({**vars(record), "msg": _escape(record.getMessage()), "args": None})
        line = super().format(record)  # the traceback, if any, follows on its own lines (that is ours)
        request_id = request_id_var.get()
        extras = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}
        tail = " ".join(f"{k}={_escape(str(v))}" for k, v in extras.items())
        prefix = f"[{request_id}] " if request_id else ""
        return f"{prefix}{line}" + (f" {tail}" if tail else "")


def _escape(text: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def configure_logging(level: str = "info", fmt: str = "json") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter("%(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # Our own request log replaces hypercorn's access log. Database drivers log every statement with its
    # parameters at debug level: private keys and password hashes must never reach the log.
    logging.getLogger("hypercorn.access").disabled = True
    for noisy in ("tortoise", "aiosqlite", "asyncpg"):
        logging.getLogger(noisy).setLevel(max(logging.INFO, root.level))
