"""Logs: one line per record that nobody can forge, and never a secret, even at debug level."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import orjson
import pytest

from cara_fed.logs import configure_logging
from cara_fed.services import accounts


@pytest.fixture
def restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("tortoise", "aiosqlite", "asyncpg")}
    yield
    root.handlers[:], root.level = handlers, level
    for name, old in levels.items():
        logging.getLogger(name).setLevel(old)


@pytest.mark.usefixtures("database", "restore_logging")
async def test_debug_logging_never_writes_private_keys_or_password_hashes(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("debug", "json")
    logging.getLogger("cara_fed.test").debug("debug is on")
    await accounts.create_local_account("mira", "mira@example.org", "correct horse battery")
    err = capsys.readouterr().err
    assert "debug is on" in err  # the level really is debug
    assert "PRIVATE KEY" not in err and "$argon2id$" not in err and "correct horse battery" not in err
    for line in err.splitlines():
        orjson.loads(line)  # every line is one JSON object


@pytest.mark.usefixtures("restore_logging")
def test_text_logs_escape_control_characters(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "text")
    forged = "/x\nINFO cara_fed.cli: admin password reset for alice"
    logging.getLogger("cara_fed.requests").info("request %s", forged, extra={"path": forged})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1
    assert "\\n" in lines[0] and lines[0].startswith("INFO cara_fed.requests: request /x\\nINFO")
