"""Settings: defaults, the example file, TOML loading, environment overrides and one-line errors."""

from __future__ import annotations

import dataclasses
import tomllib
from pathlib import Path

import pytest

from cara_fed.settings import SECTIONS, ConfigError, Settings, load_settings

REPO_ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = REPO_ROOT / "config.example.toml"


def write_config(tmp_path: Path, text: str, name: str = "cara_fed.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(excinfo: pytest.ExceptionInfo[ConfigError]) -> str:
    """The error's text, after checking it is one line (the CLI prints it as is)."""
    message = str(excinfo.value)
    assert message
    assert "\n" not in message and "\r" not in message, f"ConfigError is not one line: {message!r}"
    return message


# -- defaults ---------------------------------------------------------------------------------------------


def test_defaults_run_locally_on_sqlite() -> None:
    settings = Settings()
    assert settings.instance.domain == "localhost:8000"
    assert settings.server.bind == "127.0.0.1:8000"
    assert settings.database.url.startswith("sqlite://")
    assert settings.database.url[len("sqlite://"):]
    assert settings.federation.allow_http is False


def test_loading_with_no_file_and_no_environment_gives_defaults() -> None:
    assert load_settings(environ={}) == Settings()


@pytest.mark.parametrize("domain", ["localhost:8000", "localhost", "127.0.0.1:8000", "[::1]:8000",
                                    "cara.localhost"])
def test_loopback_domains_use_http(domain: str) -> None:
    settings = Settings().replace(instance={"domain": domain})
    assert settings.scheme == "http"
    assert settings.base_url == f"http://{domain}"


@pytest.mark.parametrize("domain", ["art.example", "art.example:8443", "192.0.2.10"])
def test_public_domains_use_https(domain: str) -> None:
    settings = Settings().replace(instance={"domain": domain})
    assert settings.scheme == "https"
    assert settings.base_url == f"https://{domain}"


def test_allow_http_turns_https_into_http() -> None:
    settings = Settings().replace(instance={"domain": "art.example"}, federation={"allow_http": True})
    assert settings.scheme == "http"
    assert settings.base_url == "http://art.example"


def test_http_allowed_only_for_loopback_hosts_by_default() -> None:
    settings = Settings()
    for host in ("localhost", "127.0.0.1", "::1", "[::1]", "peer.localhost"):
        assert settings.http_allowed_for(host), host
    for host in ("remote.example", "192.0.2.10", "localhost.example"):
        assert not settings.http_allowed_for(host), host


def test_http_allowed_for_every_host_with_allow_http() -> None:
    settings = Settings().replace(federation={"allow_http": True})
    assert settings.http_allowed_for("remote.example")
    assert settings.http_allowed_for("localhost")


# -- the example file -------------------------------------------------------------------------------------


def test_example_config_loads_to_the_defaults() -> None:
    assert load_settings(EXAMPLE, environ={}) == Settings()


def test_example_config_documents_every_section_and_key() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    assert set(data) == set(SECTIONS), "config.example.toml sections differ from Settings"
    for section, cls in SECTIONS.items():
        keys = {f.name for f in dataclasses.fields(cls)}
        missing = keys - set(data[section])
        assert not missing, f"config.example.toml [{section}] lacks {sorted(missing)}"
        extra = set(data[section]) - keys
        assert not extra, f"config.example.toml [{section}] has unknown {sorted(extra)}"


def test_example_config_shows_every_key_at_its_default() -> None:
    data = tomllib.loads(EXAMPLE.read_text(encoding="utf-8"))
    defaults = Settings()
    for section in SECTIONS:
        for key, value in data[section].items():
            default = getattr(getattr(defaults, section), key)
            assert (tuple(value) if isinstance(value, list) else value) == default, f"{section}.{key}"


# -- loading a file ---------------------------------------------------------------------------------------


def test_list_settings_come_from_toml_arrays_or_comma_separated_variables(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[federation]\nallow_nonpublic = ["127.0.0.0/8", "peer.lan"]\n')
    assert load_settings(path, environ={}).federation.allow_nonpublic == ("127.0.0.0/8", "peer.lan")
    from_env = load_settings(environ={"CARA_FED_FEDERATION_ALLOW_NONPUBLIC": " 10.0.0.0/8 ,, ::1 "})
    assert from_env.federation.allow_nonpublic == ("10.0.0.0/8", "::1")
    for bad in ('"127.0.0.1"', "[1, 2]", '["not a host!"]'):
        with pytest.raises(ConfigError, match="federation.allow_nonpublic"):
            load_settings(write_config(tmp_path, f"[federation]\nallow_nonpublic = {bad}\n"), environ={})


def test_toml_file_values_are_loaded(tmp_path: Path) -> None:
    path = write_config(tmp_path, """
[instance]
domain = "art.example"
name = "Atelier"

[database]
url = "postgres://cara:secret@127.0.0.1:5432/cara"
max_connections = 3

[federation]
allow_http = true

[jobs]
run_in_process = false
concurrency = 8
lease_seconds = 30

[logging]
level = "debug"
format = "text"
""")
    settings = load_settings(path, environ={})
    assert settings.instance.domain == "art.example"
    assert settings.instance.name == "Atelier"
    assert settings.database.url == "postgres://cara:secret@127.0.0.1:5432/cara"
    assert settings.database.max_connections == 3
    assert settings.federation.allow_http is True
    assert settings.jobs.run_in_process is False
    assert settings.jobs.concurrency == 8
    assert settings.jobs.lease_seconds == 30.0 and isinstance(settings.jobs.lease_seconds, float)
    assert settings.logging.level == "debug"
    assert settings.logging.format == "text"
    # Keys the file does not mention keep their defaults.
    assert settings.server == Settings().server
    assert settings.media == Settings().media
    assert settings.jobs.poll_seconds == Settings().jobs.poll_seconds


def test_file_path_may_be_a_string(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[instance]\ndomain = "art.example"\n')
    assert load_settings(str(path), environ={}).instance.domain == "art.example"


def test_postgresql_scheme_in_file_is_normalised(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[database]\nurl = "postgresql://cara@127.0.0.1/cara"\n')
    assert load_settings(path, environ={}).database.url == "postgres://cara@127.0.0.1/cara"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    assert load_settings(write_config(tmp_path, ""), environ={}) == Settings()


# -- environment ------------------------------------------------------------------------------------------


def test_environment_overrides_win_over_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[instance]\ndomain = "file.example"\n[jobs]\nconcurrency = 2\n')
    settings = load_settings(path, environ={
        "CARA_FED_INSTANCE_DOMAIN": "env.example",
        "CARA_FED_JOBS_CONCURRENCY": "9",
    })
    assert settings.instance.domain == "env.example"
    assert settings.jobs.concurrency == 9


def test_environment_overrides_apply_without_a_file() -> None:
    settings = load_settings(environ={"CARA_FED_SERVER_BIND": "0.0.0.0:9000",
                                      "CARA_FED_INSTANCE_CONTACT_EMAIL": "admin@art.example"})
    assert settings.server.bind == "0.0.0.0:9000"
    assert settings.instance.contact_email == "admin@art.example"


@pytest.mark.parametrize(("text", "expected"), [
    ("1", True), ("true", True), ("TRUE", True), ("yes", True), ("on", True),
    ("0", False), ("false", False), ("False", False), ("no", False), ("off", False),
])
def test_environment_booleans_are_parsed(text: str, expected: bool) -> None:
    settings = load_settings(environ={"CARA_FED_FEDERATION_ALLOW_HTTP": text,
                                      "CARA_FED_JOBS_RUN_IN_PROCESS": text})
    assert settings.federation.allow_http is expected
    assert settings.jobs.run_in_process is expected


def test_environment_ints_and_floats_are_parsed() -> None:
    settings = load_settings(environ={
        "CARA_FED_JOBS_CONCURRENCY": "12",
        "CARA_FED_JOBS_LEASE_SECONDS": "2.5",
        "CARA_FED_JOBS_POLL_SECONDS": "3",
        "CARA_FED_DATABASE_MAX_CONNECTIONS": "20",
    })
    assert settings.jobs.concurrency == 12 and isinstance(settings.jobs.concurrency, int)
    assert settings.jobs.lease_seconds == 2.5
    assert settings.jobs.poll_seconds == 3.0 and isinstance(settings.jobs.poll_seconds, float)
    assert settings.database.max_connections == 20


def test_environment_postgresql_url_is_normalised() -> None:
    settings = load_settings(environ={"CARA_FED_DATABASE_URL": "postgresql://cara:pw@db.internal:5432/cara"})
    assert settings.database.url == "postgres://cara:pw@db.internal:5432/cara"


def test_cara_fed_config_variable_picks_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[instance]\nname = "From CARA_FED_CONFIG"\n')
    settings = load_settings(environ={"CARA_FED_CONFIG": str(path)})
    assert settings.instance.name == "From CARA_FED_CONFIG"


def test_explicit_path_wins_over_cara_fed_config(tmp_path: Path) -> None:
    chosen = write_config(tmp_path, '[instance]\nname = "Explicit"\n', "explicit.toml")
    other = write_config(tmp_path, '[instance]\nname = "From variable"\n', "other.toml")
    settings = load_settings(chosen, environ={"CARA_FED_CONFIG": str(other)})
    assert settings.instance.name == "Explicit"


def test_process_environment_is_used_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_config(tmp_path, '[instance]\nname = "Process env"\n')
    monkeypatch.setenv("CARA_FED_CONFIG", str(path))
    monkeypatch.setenv("CARA_FED_JOBS_CONCURRENCY", "7")
    settings = load_settings()
    assert settings.instance.name == "Process env"
    assert settings.jobs.concurrency == 7


def test_the_test_harness_variables_and_other_programs_variables_are_ignored() -> None:
    settings = load_settings(environ={
        "CARA_FED_TEST_DB": "postgres",
        "CARA_FED_TEST_PG": "0",
        "HOME": "/root",
    })
    assert settings == Settings()


@pytest.mark.parametrize("name", ["CARA_FED_DATABSE_URL", "CARA_FED_SOMETHING_ELSE", "CARA_FED_"])
def test_a_misspelt_cara_fed_variable_stops_start_up(name: str) -> None:
    """A typo in the section would otherwise silently fall back to the default (say, another database)."""
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={name: "x"})
    assert str(caught.value).startswith(f"{name}: unknown setting")


def test_a_config_file_that_is_not_utf8_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[instance]\nname = "caf\xe9"\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    assert "not UTF-8" in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(("url", "message"), [
    ("postgres://cara:s3cretPW@/cara", "must name a host"),
    ("postgres://cara:s3cretPW@db:99999/cara", "port must be between"),
    ("postgres://cara:s3cretPW@db/cara?sslmode=sometimes", "sslmode must be one of"),
    ("postgres://cara:s3cretPW@db/cara?options=-c%20x", "unsupported parameter 'options'"),
])
def test_a_bad_database_url_is_refused_without_printing_its_password(url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"CARA_FED_DATABASE_URL": url})
    assert message in str(caught.value) and "s3cretPW" not in str(caught.value) and ":***@" in str(caught.value)


def test_sslmode_is_passed_to_the_postgresql_driver() -> None:
    from cara_fed.db import tortoise_config

    settings = load_settings(environ={"CARA_FED_DATABASE_URL": "postgresql://cara@db.example/cara?sslmode=verify-full"})
    assert settings.database.url.startswith("postgres://")
    assert tortoise_config(settings.database)["connections"]["default"]["credentials"]["ssl"] == "verify-full"


# -- errors -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("toml", "key"), [
    ('[jobs]\nconcurrency = "4"\n', "jobs.concurrency"),          # string where an int is meant
    ("[jobs]\nconcurrency = true\n", "jobs.concurrency"),         # `true` where an int is meant
    ("[jobs]\nconcurrency = 2.5\n", "jobs.concurrency"),          # float where an int is meant
    ("[federation]\nallow_http = 1\n", "federation.allow_http"),  # `1` where a bool is meant
    ('[federation]\nallow_http = "yes"\n', "federation.allow_http"),
    ("[jobs]\nlease_seconds = true\n", "jobs.lease_seconds"),     # `true` where a float is meant
    ("[instance]\ndomain = 8000\n", "instance.domain"),           # int where a string is meant
])
def test_wrong_type_in_file_names_the_key(tmp_path: Path, toml: str, key: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(write_config(tmp_path, toml), environ={})
    assert key in config_error(excinfo)
    assert excinfo.value.key == key


@pytest.mark.parametrize(("name", "text"), [
    ("CARA_FED_JOBS_CONCURRENCY", "four"),
    ("CARA_FED_JOBS_CONCURRENCY", "2.5"),
    ("CARA_FED_JOBS_LEASE_SECONDS", "soon"),
    ("CARA_FED_FEDERATION_ALLOW_HTTP", "maybe"),
])
def test_wrong_type_in_environment_names_the_variable(name: str, text: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={name: text})
    assert name in config_error(excinfo)


def test_unknown_key_in_file_names_the_key(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[jobs]\nconcurency = 4\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert "jobs.concurency" in config_error(excinfo)


def test_unknown_section_in_file_names_the_section(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[smtp]\nhost = \"mail.example\"\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert "smtp" in config_error(excinfo)


def test_top_level_key_outside_a_section_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, 'domain = "art.example"\n')
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert "domain" in config_error(excinfo)


def test_unknown_key_in_known_section_via_environment_is_refused() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={"CARA_FED_JOBS_NOPE": "1"})
    assert "CARA_FED_JOBS_NOPE" in config_error(excinfo)


@pytest.mark.parametrize(("section", "key", "value"), [
    ("instance", "domain", "https://art.example"),
    ("instance", "domain", "art.example/users"),
    ("instance", "domain", "Art.Example"),
    ("instance", "domain", "alice@art.example"),
    ("instance", "domain", ""),
    ("instance", "domain", "art.example:99999"),
    ("instance", "name", "   "),
    ("server", "bind", "127.0.0.1"),
    ("server", "bind", "localhost"),
    ("server", "bind", ":8000"),
    ("server", "bind", "127.0.0.1:http"),
    ("database", "url", "mysql://cara@127.0.0.1/cara"),
    ("database", "url", "data/cara_fed.sqlite3"),
    ("database", "url", "sqlite://"),
    ("database", "url", "postgres://127.0.0.1"),
    ("database", "max_connections", 0),
    ("jobs", "concurrency", 0),
    ("jobs", "concurrency", -1),
    ("jobs", "lease_seconds", 0.0),
    ("jobs", "poll_seconds", -1.0),
    ("logging", "level", "loud"),
    ("logging", "format", "xml"),
])
def test_bad_values_name_the_key(tmp_path: Path, section: str, key: str, value: object) -> None:
    literal = f'"{value}"' if isinstance(value, str) else repr(value)
    path = write_config(tmp_path, f"[{section}]\n{key} = {literal}\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert f"{section}.{key}" in config_error(excinfo)


@pytest.mark.parametrize("literal", ["nan", "inf", "-inf"])
def test_non_finite_durations_are_refused(tmp_path: Path, literal: str) -> None:
    """TOML has nan and inf floats; a lease or poll interval of nan/inf cannot work."""
    path = write_config(tmp_path, f"[jobs]\nlease_seconds = {literal}\n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert "jobs.lease_seconds" in config_error(excinfo)


def test_bad_value_from_environment_names_the_key() -> None:
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={"CARA_FED_JOBS_CONCURRENCY": "0"})
    assert "jobs.concurrency" in config_error(excinfo)


def test_invalid_toml_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, "[instance\ndomain = \n")
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert str(path) in config_error(excinfo)


def test_missing_file_is_a_one_line_error_naming_the_file(tmp_path: Path) -> None:
    path = tmp_path / "does-not-exist.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(path, environ={})
    assert str(path) in config_error(excinfo)


def test_missing_file_named_by_cara_fed_config_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as excinfo:
        load_settings(environ={"CARA_FED_CONFIG": str(path)})
    assert str(path) in config_error(excinfo)


# -- Settings.replace -------------------------------------------------------------------------------------


def test_replace_changes_only_the_given_keys() -> None:
    original = Settings()
    changed = original.replace(jobs={"concurrency": 2}, instance={"domain": "art.example"})
    assert changed.jobs.concurrency == 2
    assert changed.instance.domain == "art.example"
    assert changed.jobs.lease_seconds == original.jobs.lease_seconds
    assert changed.instance.name == original.instance.name
    assert changed.database == original.database
    assert original == Settings(), "replace must not change the original"


def test_replace_normalises_values() -> None:
    changed = Settings().replace(database={"url": "postgresql://cara@127.0.0.1/cara"},
                                 jobs={"lease_seconds": 5})
    assert changed.database.url == "postgres://cara@127.0.0.1/cara"
    assert isinstance(changed.jobs.lease_seconds, float)


@pytest.mark.parametrize(("sections", "key"), [
    ({"jobs": {"concurrency": 0}}, "jobs.concurrency"),
    ({"jobs": {"concurrency": "4"}}, "jobs.concurrency"),
    ({"instance": {"domain": "https://art.example"}}, "instance.domain"),
    ({"logging": {"level": "loud"}}, "logging.level"),
    ({"jobs": {"nope": 1}}, "jobs.nope"),
    ({"smtp": {"host": "mail.example"}}, "smtp"),
])
def test_replace_checks_values(sections: dict[str, dict[str, object]], key: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        Settings().replace(**sections)
    assert key in config_error(excinfo)
