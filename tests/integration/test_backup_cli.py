"""`cara-fed db backup FILE`: a consistent copy of the SQLite database, taken while another connection
writes, that opens and holds the data; a clear refusal for PostgreSQL, an existing file or no database."""

from __future__ import annotations

import sqlite3
import threading
from contextlib import closing
from pathlib import Path

import pytest

from tests.support.cli import run_cli, write_config
from tests.support.databases import BACKEND


@pytest.mark.skipif(BACKEND != "sqlite", reason="SQLite backups (PostgreSQL: pg_dump, see the refusal test)")
def test_backup_is_a_complete_copy_taken_while_writes_go_on(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    created = run_cli(["--config", str(config), "user", "create", "mira", "--email", "mira@example.org",
                       "--password", "correct horse battery"], cwd=tmp_path)
    assert created.code == 0, created
    db_path = database_url[len("sqlite://"):]
    stop = threading.Event()

    def keep_writing() -> None:  # a writer in another connection, as `serve` would be
        with closing(sqlite3.connect(db_path, timeout=30)) as conn:
            n = 0
            while not stop.is_set():
                conn.execute("INSERT INTO tags (id, created_at, name) VALUES (?, datetime('now'), ?)",
                             (10_000 + n, f"tag{n}"))
                conn.commit()
                n += 1

    writer = threading.Thread(target=keep_writing)
    writer.start()
    try:
        result = run_cli(["--config", str(config), "db", "backup", str(tmp_path / "copy.sqlite3")], cwd=tmp_path)
    finally:
        stop.set()
        writer.join()
    assert result.code == 0, result
    assert "integrity ok" in result.stdout
    with closing(sqlite3.connect(tmp_path / "copy.sqlite3")) as copy:
        assert copy.execute("SELECT username FROM accounts WHERE username = 'mira'").fetchone() == ("mira",)
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert not (tmp_path / "copy.sqlite3.partial").exists()

    again = run_cli(["--config", str(config), "db", "backup", str(tmp_path / "copy.sqlite3")], cwd=tmp_path)
    assert again.code == 1 and "exists" in again.stderr


def test_backup_refuses_what_it_cannot_copy(tmp_path: Path, database_url: str) -> None:
    config = write_config(tmp_path, database_url)
    result = run_cli(["--config", str(config), "db", "backup", str(tmp_path / "copy")], cwd=tmp_path)
    if BACKEND == "postgres":
        assert result.code == 1 and "pg_dump" in result.stderr
    else:  # the test database exists: a missing one is refused instead
        missing = write_config(tmp_path, "sqlite://" + str(tmp_path / "nothing" / "here.sqlite3"), name="m.toml")
        refused = run_cli(["--config", str(missing), "db", "backup", str(tmp_path / "c2")], cwd=tmp_path)
        assert refused.code != 0 and refused.stderr.strip()
    assert len(result.stderr.strip().splitlines()) <= 1
