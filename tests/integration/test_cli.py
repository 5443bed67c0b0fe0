"""The `cara-fed` console script, run as a real process against the database of the pass (SQLite or
PostgreSQL): config checking, failures as one line with the right exit code, migrations, user
administration, and `serve` answering over real HTTP and stopping cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from cara_fed.services.passwords import verify_password
from tests.support.cli import (
    CARA_FED,
    COMMAND_TIMEOUT,
    assert_one_line_failure,
    clean_env,
    http_get,
    query,
    run_cli,
    sqlite_file,
    sqlite_files,
    write_config,
)
from tests.support.databases import DatabaseFactory, migration_names
from tests.support.ports import free_port

pytestmark = pytest.mark.slow

UNREACHABLE_DB = "postgres://postgres@127.0.0.1:1/nothing"  # nothing listens on port 1
FAIL_FAST_TIMEOUT = 20.0  # a refused connection or a bad setting must not wait for anything


def _accounts(result: Any) -> list[dict[str, Any]]:
    assert result.code == 0, result
    listed = json.loads(result.stdout)
    assert isinstance(listed, list), result
    return listed


async def _stored_hash(database_url: str, username: str) -> str:
    rows = await query(database_url, "SELECT u.password_hash FROM users u JOIN accounts a ON a.id = u.account_id "
                                     f"WHERE a.username = '{username}'")
    assert len(rows) == 1, rows
    password_hash: str = rows[0][0]
    return password_hash


def _assert_plaintext_absent_from_sqlite_files(database_url: str, *passwords: str) -> None:
    files = sqlite_files(database_url)
    assert files, database_url
    for path in files:
        data = path.read_bytes()
        for password in passwords:
            assert password.encode() not in data, f"plaintext password found in {path.name}"


# -- config check -----------------------------------------------------------------------------------------


async def test_config_check_accepts_a_good_file_given_as_argument_option_or_environment(
        database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, database_url)
    for args, env in ((["config", "check", str(config)], None),
                      (["--config", str(config), "config", "check"], None),
                      (["config", "check"], {"CARA_FED_CONFIG": str(config)})):
        result = run_cli(args, cwd=tmp_path, env=env)
        assert result.code == 0, result
        assert result.stdout.startswith("ok"), result
        assert "art.example" in result.stdout, result
        assert "Traceback" not in result.stderr, result


@pytest.mark.parametrize(("content", "mentions"), [
    ('[jobs]\nconcurrency = "four"\n', ["jobs.concurrency"]),
    ("[instance]\ncolour = 1\n", ["instance.colour"]),
    ("[colours]\nred = 1\n", ["colours"]),
    ('[instance]\ndomain = "https://x.example/"\n', ["instance.domain"]),
    ('[instance]\ndomain = "art.example\n', ["bad.toml", "TOML", "line 2"]),
], ids=["wrong-type", "unknown-key", "unknown-section", "bad-value", "invalid-toml"])
async def test_config_check_refuses_a_bad_file_in_one_line_naming_the_key(
        tmp_path: Path, content: str, mentions: list[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(content, encoding="utf-8")
    result = run_cli(["config", "check", str(bad)], cwd=tmp_path)
    assert_one_line_failure(result, 2, *mentions)
    assert result.stdout == "", result


async def test_config_check_reads_the_file_named_by_the_option_and_the_environment(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[jobs]\nconcurrency = "four"\n', encoding="utf-8")
    by_option = run_cli(["--config", str(bad), "config", "check"], cwd=tmp_path)
    assert_one_line_failure(by_option, 2, "jobs.concurrency")
    by_env = run_cli(["config", "check"], cwd=tmp_path, env={"CARA_FED_CONFIG": str(bad)})
    assert_one_line_failure(by_env, 2, "jobs.concurrency")


# -- failing fast on an unusable setup --------------------------------------------------------------------


@pytest.mark.parametrize("command", [["migrate"], ["serve", "--bind", "127.0.0.1:0"]], ids=["migrate", "serve"])
async def test_an_unreachable_database_is_one_line_and_exit_2(tmp_path: Path, command: list[str]) -> None:
    config = write_config(tmp_path, UNREACHABLE_DB)
    result = run_cli(["--config", str(config), *command], cwd=tmp_path, timeout=FAIL_FAST_TIMEOUT)
    line = assert_one_line_failure(result, 2, "database", "127.0.0.1:1")
    assert not line.startswith("{"), result  # a sentence for the admin, not a log record


async def test_a_bad_environment_value_stops_serve_in_one_line_naming_the_variable(
        database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, database_url)
    result = run_cli(["--config", str(config), "serve", "--bind", f"127.0.0.1:{free_port()}"], cwd=tmp_path,
                     env={"CARA_FED_JOBS_CONCURRENCY": "abc"}, timeout=FAIL_FAST_TIMEOUT)
    assert_one_line_failure(result, 2, "CARA_FED_JOBS_CONCURRENCY")


async def test_a_port_in_use_stops_serve_at_once_in_one_line(database_url: str, tmp_path: Path) -> None:
    """The socket is bound before the app starts: the process must not linger with the database open."""
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        config = write_config(tmp_path, database_url)
        result = run_cli(["--config", str(config), "serve", "--bind", f"127.0.0.1:{port}"], cwd=tmp_path,
                         timeout=FAIL_FAST_TIMEOUT)
    assert_one_line_failure(result, 1, "cannot listen", f"127.0.0.1:{port}")


# -- migrate ----------------------------------------------------------------------------------------------


async def test_migrate_applies_the_initial_migration_once(database_factory: DatabaseFactory,
                                                          tmp_path: Path) -> None:
    url = await database_factory.empty_url()
    try:
        config = write_config(tmp_path, url)
        first = run_cli(["--config", str(config), "migrate"], cwd=tmp_path)
        assert first.code == 0, first
        names = migration_names()
        assert first.stdout.startswith(f"applied {len(names)} migration(s)"), first
        assert all(name in first.stdout for name in names), first
        assert await query(url, "SELECT COUNT(*) FROM users") == [(0,)]  # the schema is there

        second = run_cli(["--config", str(config), "migrate"], cwd=tmp_path)
        assert second.code == 0, second
        assert second.stdout.strip() == "applied 0 migration(s)", second
    finally:
        await database_factory.drop(url)


async def test_processes_starting_together_migrate_one_at_a_time(database_factory: DatabaseFactory,
                                                                 tmp_path: Path) -> None:
    """`serve` and its workers each migrate on start; without a lock they race to create the same tables."""
    from concurrent.futures import ThreadPoolExecutor

    url = await database_factory.empty_url()
    try:
        config = write_config(tmp_path, url)
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda _: run_cli(["--config", str(config), "migrate"], cwd=tmp_path), range(4)))
        assert [r.code for r in results] == [0, 0, 0, 0], results
        outputs = sorted(r.stdout.split(":")[0].strip() for r in results)
        assert outputs == ["applied 0 migration(s)"] * 3 + [f"applied {len(migration_names())} migration(s)"], outputs
    finally:
        await database_factory.drop(url)


# -- user administration ----------------------------------------------------------------------------------


async def test_user_create_stores_one_account_with_an_argon2id_hash_and_refuses_a_taken_name(
        database_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, database_url))
    password = "correct horse battery staple"
    created = run_cli(["--config", config, "user", "create", "mira", "--email", "mira@example.org",
                       "--password", password], cwd=tmp_path)
    assert created.code == 0, created
    assert "@mira@art.example" in created.stdout, created

    for name, email in (("mira", "other@example.org"), ("MIRA", "third@example.org")):
        again = run_cli(["--config", config, "user", "create", name, "--email", email,
                         "--password", "another long password"], cwd=tmp_path)
        assert_one_line_failure(again, 1, name)

    listed = _accounts(run_cli(["--config", config, "user", "list", "--json"], cwd=tmp_path))
    assert [(a["username"], a["email"], a["role"], a["suspended"]) for a in listed] == [
        ("mira", "mira@example.org", "user", False)]
    assert await query(database_url, "SELECT COUNT(*) FROM accounts WHERE actor_type <> 'Application'") == [(1,)]
    assert await query(database_url, "SELECT COUNT(*) FROM users") == [(1,)]

    if sqlite_file(database_url) is not None:
        _assert_plaintext_absent_from_sqlite_files(database_url, password)
    stored = await _stored_hash(database_url, "mira")
    # RFC 9106's recommended profile (argon2-cffi's defaults) in a real process; the tests' own processes
    # hash with cheaper parameters (tests/conftest.py), and this hash still verifies there
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), stored
    assert password not in stored
    assert await verify_password(stored, password)


async def test_user_create_reads_the_password_from_stdin_and_can_make_an_admin(
        database_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, database_url))
    created = run_cli(["--config", config, "user", "create", "juno", "--email", "juno@example.org", "--admin"],
                      cwd=tmp_path, stdin="secret-pass-123\n")
    assert created.code == 0, created
    assert "@juno@art.example" in created.stdout, created

    listed = _accounts(run_cli(["--config", config, "user", "list", "--json"], cwd=tmp_path))
    assert [(a["username"], a["role"]) for a in listed] == [("juno", "admin")]

    if sqlite_file(database_url) is not None:
        _assert_plaintext_absent_from_sqlite_files(database_url, "secret-pass-123")
    stored = await _stored_hash(database_url, "juno")
    assert stored.startswith("$argon2id$"), stored
    assert await verify_password(stored, "secret-pass-123")  # the line, without its newline
    assert not await verify_password(stored, "secret-pass-123\n")


async def test_user_create_refuses_a_too_short_password_and_stores_nothing(
        database_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, database_url))
    refused = run_cli(["--config", config, "user", "create", "kim", "--email", "kim@example.org",
                       "--password", "short"], cwd=tmp_path)
    assert_one_line_failure(refused, 1, "password")
    assert _accounts(run_cli(["--config", config, "user", "list", "--json"], cwd=tmp_path)) == []
    assert await query(database_url, "SELECT COUNT(*) FROM accounts WHERE actor_type <> 'Application'") == [(0,)]


async def test_user_set_password_replaces_the_hash(database_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, database_url))
    created = run_cli(["--config", config, "user", "create", "mira", "--email", "mira@example.org",
                       "--password", "old password 1"], cwd=tmp_path)
    assert created.code == 0, created

    changed = run_cli(["--config", config, "user", "set-password", "mira"], cwd=tmp_path,
                      stdin="new password 2\n")
    assert changed.code == 0, changed
    assert "mira" in changed.stdout, changed

    stored = await _stored_hash(database_url, "mira")
    assert stored.startswith("$argon2id$"), stored
    assert await verify_password(stored, "new password 2")
    assert not await verify_password(stored, "old password 1")
    if sqlite_file(database_url) is not None:
        _assert_plaintext_absent_from_sqlite_files(database_url, "new password 2", "old password 1")


async def test_user_suspend_and_unsuspend_show_in_the_listing(database_url: str, tmp_path: Path) -> None:
    config = str(write_config(tmp_path, database_url))

    def suspended() -> bool:
        listed = _accounts(run_cli(["--config", config, "user", "list", "--json"], cwd=tmp_path))
        assert [a["username"] for a in listed] == ["mira"], listed
        flag: bool = listed[0]["suspended"]
        return flag

    created = run_cli(["--config", config, "user", "create", "mira", "--email", "mira@example.org",
                       "--password", "correct horse battery"], cwd=tmp_path)
    assert created.code == 0, created

    result = run_cli(["--config", config, "user", "suspend", "mira"], cwd=tmp_path)
    assert result.code == 0, result
    assert suspended() is True

    result = run_cli(["--config", config, "user", "unsuspend", "mira"], cwd=tmp_path)
    assert result.code == 0, result
    assert suspended() is False

    unknown = run_cli(["--config", config, "user", "suspend", "nobody"], cwd=tmp_path)
    assert_one_line_failure(unknown, 1, "nobody")


# -- serve ------------------------------------------------------------------------------------------------

HEALTH_DEADLINE_SECONDS = 60.0
POLL_SECONDS = 0.1
STOP_TIMEOUT_SECONDS = 15.0


async def test_serve_answers_over_http_logs_json_and_stops_cleanly_on_sigterm(
        database_url: str, tmp_path: Path) -> None:
    config = write_config(tmp_path, database_url)
    port = free_port()
    stdout_path, stderr_path = tmp_path / "serve.out", tmp_path / "serve.err"
    with stdout_path.open("wb") as out, stderr_path.open("wb") as err:
        process = subprocess.Popen([*CARA_FED, "--config", str(config), "serve", "--bind", f"127.0.0.1:{port}"],
                                   cwd=tmp_path, env=clean_env(), stdin=subprocess.DEVNULL, stdout=out,
                                   stderr=err)
    try:
        health = _wait_for_health(process, port, stderr_path)
        status, headers, body = health
        assert status == 200
        assert json.loads(body) == {"status": "ok"}
        health_request_id = headers.get("x-request-id")
        assert health_request_id, headers

        status, headers, body = http_get(port, "/no/such/page")
        assert status == 404
        error = json.loads(body)
        assert isinstance(error, dict) and isinstance(error.get("error"), str) and error["error"], body
        missing_request_id = headers.get("x-request-id")
        assert missing_request_id and missing_request_id != health_request_id, headers

        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=STOP_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=COMMAND_TIMEOUT)
    stderr = stderr_path.read_text(encoding="utf-8")
    assert code == 0, stderr
    assert "Traceback" not in stderr and "Traceback" not in stdout_path.read_text(encoding="utf-8")

    records = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            pytest.fail(f"stderr line is not JSON: {line!r}\n{stderr}")
        assert isinstance(record, dict), line
        records.append(record)
    requests = {r["request_id"]: r for r in records if r.get("msg") == "request" and "request_id" in r}
    assert requests.get(health_request_id, {}).get("path") == "/health", stderr
    assert requests[health_request_id].get("status") == 200, stderr
    assert requests.get(missing_request_id, {}).get("status") == 404, stderr


def _wait_for_health(process: subprocess.Popen[bytes], port: int,
                     stderr_path: Path) -> tuple[int, dict[str, str], bytes]:
    """Poll GET /health until it answers 200 (the server migrates and starts first)."""
    deadline = time.monotonic() + HEALTH_DEADLINE_SECONDS
    last: object = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"serve exited with {process.returncode} before answering:\n"
                        + stderr_path.read_text(encoding="utf-8"))
        try:
            answer = http_get(port, "/health", timeout=2.0)
        except OSError as exc:  # not listening yet
            last = exc
        else:
            if answer[0] == 200:
                return answer
            last = answer
        time.sleep(POLL_SECONDS)
    pytest.fail(f"/health never answered 200 (last: {last!r}):\n" + stderr_path.read_text(encoding="utf-8"))
