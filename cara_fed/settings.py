"""Settings: frozen dataclasses loaded from TOML plus ``CARA_FED_<SECTION>_<KEY>`` environment overrides.

Every key has a default, so the server runs with no file at all. Every problem (unknown key, wrong type,
bad value) raises :class:`ConfigError` naming the key, which the CLI prints as one line and exits 2.
``config.example.toml`` lists every key at its default; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import math
import os
import re
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

ENV_PREFIX = "CARA_FED_"
CONFIG_ENV = "CARA_FED_CONFIG"
TEST_ENV_PREFIX = "CARA_FED_TEST_"


class ConfigError(Exception):
    """A configuration problem; ``str()`` is one line naming the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


# -- value checks (each returns the cleaned value or raises ValueError with a human message) --------------

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")


def _check_domain(value: str) -> str:
    """A bare host with an optional port, as it appears in acct: URIs and actor URLs."""
    if "/" in value or "@" in value:
        raise ValueError("must be a bare host such as art.example or localhost:8000 (no scheme, no path)")
    host, port = split_host_port(value)
    if port is not None and not 1 <= port <= 65535:
        raise ValueError("port must be between 1 and 65535")
    if host != host.lower():
        raise ValueError("must be lower case")
    if _is_ip(host.strip("[]")):
        return value
    if not all(_HOST_LABEL.match(label) for label in host.split(".")):
        raise ValueError("must be a host name such as art.example or localhost:8000 (no scheme, no path)")
    return value


def _check_bind(value: str) -> str:
    if value.startswith("unix:"):
        if len(value) <= len("unix:"):
            raise ValueError("unix: needs a socket path")
        return value
    host, port = split_host_port(value)
    if port is None or not 0 <= port <= 65535 or not host:
        raise ValueError("must be HOST:PORT, for example 127.0.0.1:8000 or [::1]:8000")
    return value


# libpq's sslmode values, which asyncpg's `ssl` argument takes as they are.
PG_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


def _check_database_url(value: str) -> str:
    scheme = value.split("://", 1)[0] if "://" in value else ""
    if scheme == "sqlite":
        if not value[len("sqlite://"):]:
            raise ValueError("sqlite:// needs a file path, for example sqlite://data/cara_fed.sqlite3")
        return value
    if scheme in ("postgres", "postgresql"):
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - raises ValueError for a port out of range
        except ValueError:
            raise ValueError("port must be between 1 and 65535") from None
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("must name a host and a database, for example postgres://user@127.0.0.1:5432/cara")
        query = parse_qs(parts.query, keep_blank_values=True)
        unknown = sorted(set(query) - {"sslmode"})
        if unknown:
            raise ValueError(f"unsupported parameter {unknown[0]!r} (only sslmode is understood)")
        if "sslmode" in query and query["sslmode"][-1] not in PG_SSLMODES:
            raise ValueError("sslmode must be one of " + ", ".join(PG_SSLMODES))
        # tortoise-orm spells the asyncpg backend "postgres://".
        return "postgres://" + value.split("://", 1)[1]
    raise ValueError("must start with sqlite:// or postgres://")


def redact_url(url: str) -> str:
    """The URL with its password replaced by ***, for messages and logs."""
    try:
        password = urlsplit(url).password
    except ValueError:
        password = None
    return url.replace(f":{password}@", ":***@", 1) if password else url


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty")
    return value


def _positive(value: int | float) -> int | float:
    if not math.isfinite(value) or value <= 0:  # TOML and float() both accept nan and inf
        raise ValueError("must be a finite number greater than 0")
    return value


def _one_of(*choices: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if value not in choices:
            raise ValueError("must be one of " + ", ".join(choices))
        return value

    return check


def split_host_port(value: str) -> tuple[str, int | None]:
    """``host:port``, ``[v6]:port`` or a bare host. Raises ValueError on a malformed port."""
    if value.startswith("["):  # [IPv6]:port
        end = value.find("]")
        if end < 0:
            raise ValueError("unclosed [ in IPv6 address")
        host, rest = value[: end + 1], value[end + 1 :]
        if not rest:
            return host, None
        if not rest.startswith(":"):
            raise ValueError("expected :PORT after ]")
        port_text = rest[1:]
    elif ":" in value:
        host, port_text = value.rsplit(":", 1)
    else:
        return value, None
    if not port_text.isdigit():
        raise ValueError("port must be a number")
    return host, int(port_text)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """True for localhost names and loopback addresses (where plain http is acceptable)."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _key(help_text: str, check: Callable[[Any], Any] | None = None, *,
         shown: Callable[[Any], Any] | None = None) -> dict[str, Any]:
    """Field metadata: its help, its check, and how a bad value is shown in errors (secrets redacted)."""
    return {"help": help_text, "check": check, "shown": shown}


# -- sections ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class InstanceSettings:
    domain: str = field(default="localhost:8000", metadata=_key(
        "Public host (and port, if not 443) of this instance: actor ids and acct: handles use it.",
        _check_domain))
    name: str = field(default="cara_fed", metadata=_key("Instance title shown to people.", _non_empty))
    description: str = field(default="A home on the fediverse for artists.", metadata=_key(
        "One-paragraph description shown on the home page and in the instance API."))
    contact_email: str = field(default="", metadata=_key("Where people reach the admins."))


@dataclass(frozen=True)
class ServerSettings:
    bind: str = field(default="127.0.0.1:8000", metadata=_key(
        "Address `cara-fed serve` listens on: HOST:PORT, [IPv6]:PORT or unix:/path.", _check_bind))


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(default="sqlite://data/cara_fed.sqlite3", metadata=_key(
        "sqlite://PATH (relative to the working directory) or postgres://USER[:PASS]@HOST[:PORT]/DB"
        "[?sslmode=MODE].", _check_database_url, shown=redact_url))
    max_connections: int = field(default=10, metadata=_key(
        "PostgreSQL pool size per process (SQLite uses one connection).", _positive))


@dataclass(frozen=True)
class MediaSettings:
    root: str = field(default="data/media", metadata=_key(
        "Directory for uploaded and cached media (relative to the working directory).", _non_empty))


def _check_hosts_and_networks(values: tuple[str, ...]) -> tuple[str, ...]:
    for value in values:
        try:
            ipaddress.ip_network(value, strict=False)
        except ValueError:
            if not all(_HOST_LABEL.match(label) for label in value.lower().split(".")):
                raise ValueError(f"{value!r} is neither a host name nor an IP address or network") from None
    return values


@dataclass(frozen=True)
class FederationSettings:
    allow_http: bool = field(default=False, metadata=_key(
        "Allow plain http for this instance's own URLs and for remote servers. Off, http is used only "
        "for localhost and loopback addresses; everything else must be https."))
    allow_nonpublic: tuple[str, ...] = field(default=(), metadata=_key(
        "Hosts or networks that outgoing requests may reach although they are not public (loopback, "
        "private ranges). Empty: only public addresses, the SSRF protection. For test setups and peers on "
        "a private network, e.g. [\"127.0.0.0/8\"]; in the environment, comma-separated.",
        _check_hosts_and_networks))


@dataclass(frozen=True)
class JobsSettings:
    run_in_process: bool = field(default=True, metadata=_key(
        "`cara-fed serve` also runs background jobs. Turn off when separate `cara-fed worker`s run them."))
    concurrency: int = field(default=4, metadata=_key("Jobs one process runs at once.", _positive))
    lease_seconds: float = field(default=60.0, metadata=_key(
        "How long a claimed job stays reserved without a heartbeat before another worker may take it "
        "(the time a crashed worker's job waits).", _positive))
    poll_seconds: float = field(default=1.0, metadata=_key(
        "How often an idle worker looks for due jobs.", _positive))
    keep_done_hours: float = field(default=24.0, metadata=_key(
        "Finished jobs are kept this long (for the admin), then purged.", _positive))


@dataclass(frozen=True)
class LoggingSettings:
    level: str = field(default="info", metadata=_key(
        "debug, info, warning or error.", _one_of("debug", "info", "warning", "error")))
    format: str = field(default="json", metadata=_key(
        "json (one object per line) or text.", _one_of("json", "text")))


@dataclass(frozen=True)
class Settings:
    instance: InstanceSettings = field(default_factory=InstanceSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)

    @property
    def scheme(self) -> str:
        """https, except for a loopback domain or when ``federation.allow_http`` is on."""
        host, _ = split_host_port(self.instance.domain)
        if self.federation.allow_http or is_loopback_host(host):
            return "http"
        return "https"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.instance.domain}"

    def http_allowed_for(self, host: str) -> bool:
        """Whether an outgoing request to ``host`` may use plain http."""
        return self.federation.allow_http or is_loopback_host(host)

    def replace(self, **sections: Mapping[str, Any]) -> Settings:
        """A copy with some keys changed, e.g. ``s.replace(database={"url": ...})``; values are checked."""
        raw = {name: dict(values) for name, values in sections.items()}
        return _build(raw, base=self)


# Section name -> its dataclass (annotations are strings under `from __future__ import annotations`).
SECTIONS: dict[str, type] = typing.get_type_hints(Settings)


# -- loading ----------------------------------------------------------------------------------------------


def load_settings(path: str | os.PathLike[str] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Settings from ``path`` (or ``$CARA_FED_CONFIG``, or defaults) with environment overrides on top."""
    environ = os.environ if environ is None else environ
    path = path if path is not None else environ.get(CONFIG_ENV) or None
    raw: dict[str, dict[str, Any]] = {}
    if path is not None:
        raw = _read_toml(Path(path))
    for (section, key), value in _env_overrides(environ).items():
        raw.setdefault(section, {})[key] = value
    return _build(raw, base=Settings())


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), f"cannot read config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ConfigError(str(path), f"not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), f"not valid TOML: {exc}") from None
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(section, f"unknown section (known: {', '.join(SECTIONS)})")
        if not isinstance(values, dict):
            raise ConfigError(section, "must be a [section] table")
    return data


def _env_overrides(environ: Mapping[str, str]) -> dict[tuple[str, str], Any]:
    """``CARA_FED_<SECTION>_<KEY>`` variables. Any other CARA_FED_ variable is a typo and an error, except
    CARA_FED_CONFIG and the test harness's CARA_FED_TEST_*."""
    found: dict[tuple[str, str], Any] = {}
    for name, text in environ.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV or name.startswith(TEST_ENV_PREFIX):
            continue
        rest = name[len(ENV_PREFIX):].lower()
        section = next((s for s in SECTIONS if rest.startswith(s + "_")), None)
        if section is None:
            raise ConfigError(name, f"unknown setting (sections: {', '.join(SECTIONS)})")
        key = rest[len(section) + 1:]
        known = {f.name: f for f in dataclasses.fields(SECTIONS[section])}
        if key not in known:
            raise ConfigError(name, f"unknown setting {section}.{key}")
        found[(section, key)] = _from_env_text(name, text, str(known[key].type))
    return found


def _from_env_text(name: str, text: str, type_name: str) -> Any:
    try:
        if type_name == "bool":
            lowered = text.strip().lower()
            if lowered in ("1", "true", "yes", "on"):
                return True
            if lowered in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if type_name == "int":
            return int(text)
        if type_name == "float":
            return float(text)
        if type_name == LIST_TYPE:  # comma-separated in the environment
            return [item.strip() for item in text.split(",") if item.strip()]
    except ValueError:
        raise ConfigError(name, f"must be {_TYPE_WORDS[type_name]} (got {text!r})") from None
    return text


def _build(raw: Mapping[str, Mapping[str, Any]], base: Settings) -> Settings:
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        current = getattr(base, section)
        values = dict(raw.get(section, {}))
        if not values:
            sections[section] = current
            continue
        known = {f.name: f for f in dataclasses.fields(cls)}
        changes: dict[str, Any] = {}
        for key, value in values.items():
            dotted = f"{section}.{key}"
            if key not in known:
                raise ConfigError(dotted, f"unknown key (known: {', '.join(known)})")
            changes[key] = _checked(dotted, value, known[key])
        sections[section] = dataclasses.replace(current, **changes)
    for section in raw:
        if section not in SECTIONS:
            raise ConfigError(section, f"unknown section (known: {', '.join(SECTIONS)})")
    return Settings(**sections)


def _checked(dotted: str, value: Any, spec: dataclasses.Field[Any]) -> Any:
    type_name = str(spec.type)
    expected: tuple[type, ...] = {"str": (str,), "bool": (bool,), "int": (int,), "float": (int, float),
                                  LIST_TYPE: (list, tuple)}[type_name]
    # bool is an int subclass: refuse `true` where a number is meant and `1` where a boolean is meant.
    if not isinstance(value, expected) or (type_name != "bool" and isinstance(value, bool)):
        raise ConfigError(dotted, f"must be {_TYPE_WORDS[type_name]}, got {type(value).__name__} {value!r}")
    if type_name == "float":
        value = float(value)
    if type_name == LIST_TYPE:
        if not all(isinstance(item, str) for item in value):
            raise ConfigError(dotted, f"must be {_TYPE_WORDS[type_name]}, got {value!r}")
        value = tuple(value)
    check = spec.metadata.get("check")
    if check is not None:
        try:
            value = check(value)
        except ValueError as exc:
            shown = spec.metadata.get("shown") or (lambda v: v)
            raise ConfigError(dotted, f"{exc} (got {shown(value)!r})") from None
    return value


LIST_TYPE = "tuple[str, ...]"
_TYPE_WORDS = {"str": "a string", "bool": "true or false", "int": "a whole number", "float": "a number",
               LIST_TYPE: "a list of strings"}
