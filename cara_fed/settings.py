"""Settings: frozen dataclasses loaded from TOML plus ``CARA_FED_<SECTION>_<KEY>`` environment overrides.

Every key has a default, so the server runs with no file at all. Every problem (unknown key, wrong type,
bad value) raises :class:`ConfigError` naming the key, which the CLI prints as one line and exits 2.
``config.example.toml`` lists every key at its default; a test keeps the two in step.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cara_fed.setting_values import (  # re-exported: callers import these names from here
    PG_SSLMODES,
    _check_bind,
    _check_database_url,
    _check_domain,
    _check_hosts_and_networks,
    _non_empty,
    _one_of,
    _positive,
    is_loopback_host,
    redact_url,
    split_host_port,
)

ENV_PREFIX = "CARA_FED_"
CONFIG_ENV = "CARA_FED_CONFIG"
TEST_ENV_PREFIX = "CARA_FED_TEST_"


class ConfigError(Exception):
    """A configuration problem; ``str()`` is one line naming the key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(f"{key}: {message}")
        self.key = key


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
    # Generous by default: artists upload large, finished work (Mastodon's 16 MB / 8.3 MP cut it down).
    max_upload_bytes: int = field(default=40 * 1024 * 1024, metadata=_key(
        "Largest accepted upload, in bytes.", _positive))
    max_pixels: int = field(default=100_000_000, metadata=_key(
        "Largest accepted image, in pixels (width x height), checked from the header before decoding.",
        _positive))
    max_animation_pixels: int = field(default=400_000_000, metadata=_key(
        "Largest accepted animation, in frames x width x height.", _positive))
    # 8K: finished work at its own resolution (a 45 MP camera's 8192 px); Mastodon 4.2 stops at 3840x2160.
    full_size_max_edge: int = field(default=8192, metadata=_key(
        "Long edge, in pixels, of the full-size copy served and federated; larger uploads are scaled down "
        "to it.", _positive))
    keep_original_files: bool = field(default=True, metadata=_key(
        "An upright JPEG or PNG within full_size_max_edge is its own full-size copy: its image data kept "
        "byte for byte, its metadata rewritten (GPS and camera data out, the no-AI notice in). No "
        "re-encoding: no quality lost, far less CPU. false: every full-size copy is re-encoded."))
    accel_redirect: str = field(default="", metadata=_key(
        "Large-instance mode: an nginx internal location (e.g. \"/_media/\") that serves the files; the app "
        "then answers media requests with X-Accel-Redirect and nginx sends the bytes. Empty: the app sends them."))
    cache_max_age: int = field(default=31_536_000, metadata=_key(
        "Cache-Control max-age of media files, in seconds (their names change when they do).", _positive))


@dataclass(frozen=True)
class ApiSettings:
    max_status_characters: int = field(default=5000, metadata=_key(
        "Longest post, in characters.", _positive))
    max_media_attachments: int = field(default=20, metadata=_key(
        "Most images on one post (the first four are the ones Mastodon shows).", _positive))
    streaming_poll_seconds: float = field(default=1.0, metadata=_key(
        "How often the streaming API looks for new posts and notifications (it reads the database, so "
        "posts handled by separate workers reach every stream too).", _positive))


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


def _check_crawler_names(values: tuple[str, ...]) -> tuple[str, ...]:
    """User-agent names as they appear in robots.txt lines: no line breaks, no comment sign."""
    for value in values:
        if not value.strip() or value != value.strip():
            raise ValueError(f"{value!r}: names must not be empty or have surrounding spaces")
        if len(value) > 100 or "#" in value or not value.isprintable():
            raise ValueError(f"{value!r} is not a user-agent name (at most 100 printable characters, no '#')")
    return values


@dataclass(frozen=True)
class NoAISettings:
    refuse_ai_crawlers: bool = field(default=True, metadata=_key(
        "Answer 403 to requests whose User-Agent names a crawler of the AI list (a listed name as a whole "
        "word, outside URLs). /robots.txt, /ai.txt and the TDMRep files stay readable to everyone."))
    allowed_crawlers: tuple[str, ...] = field(default=(), metadata=_key(
        "Names from the AI-crawler list that are not refused (robots.txt still asks them to stay away), for "
        "false positives, e.g. [\"Spider\"] lets in \"Sogou web spider\", which the listed word Spider "
        "matches. Case-insensitive.", _check_crawler_names))
    allow_search_bots: tuple[str, ...] = field(default=(), metadata=_key(
        "Search and link-preview bots to let in: taken out of the robots.txt AI group, given their own group "
        "(which may fetch media) and never refused, e.g. [\"Applebot\", \"OAI-SearchBot\", "
        "\"facebookexternalhit\"] (the last one makes link previews work on Facebook and WhatsApp). The AI "
        "reservation still applies to what they fetch.", _check_crawler_names))
    disallow_media_for_unknown_bots: bool = field(default=True, metadata=_key(
        "robots.txt asks every bot not named in it (the `User-agent: *` group, e.g. search engines) not to "
        "fetch /media/. Bots in allow_search_bots may."))
    crawler_list: str = field(default="data/noai/robots.json", metadata=_key(
        "The AI-crawler list in use (ai.robots.txt's robots.json), installed by `cara-fed noai update FILE`. "
        "While it does not exist, the copy bundled with cara_fed is used. Running servers reload it within a "
        "minute of a change.", _non_empty))


@dataclass(frozen=True)
class PortfolioSettings:
    hashtag: str = field(default="portfolio", metadata=_key(
        "A post with images and this hashtag (without #) joins its author's portfolio.", _non_empty))
    featured_works: int = field(default=4, metadata=_key(
        "How many of an artist's top works are mirrored into `featured` (Mastodon and GoToSocial show them "
        "pinned).", _positive))


@dataclass(frozen=True)
class RegistrationsSettings:
    mode: str = field(default="closed", metadata=_key(
        "Who may sign up: closed, open, approval (an admin approves each sign-up, which gives a reason) or "
        "invite (with an invite code). Admins can change it at run time; their choice wins over this one.",
        _one_of("closed", "open", "approval", "invite")))


@dataclass(frozen=True)
class RateLimitsSettings:
    enabled: bool = field(default=True, metadata=_key(
        "Refuse clients over Mastodon's request limits with 429 (per IP, IPv6 by /64, and per token)."))
    trusted_proxies: tuple[str, ...] = field(default=(), metadata=_key(
        "Proxies (addresses or networks) whose X-Forwarded-For names the client, e.g. [\"127.0.0.1\"] behind "
        "nginx on the same machine. Empty: X-Forwarded-For is never believed.", _check_hosts_and_networks))


@dataclass(frozen=True)
class Settings:
    instance: InstanceSettings = field(default_factory=InstanceSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    media: MediaSettings = field(default_factory=MediaSettings)
    api: ApiSettings = field(default_factory=ApiSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    jobs: JobsSettings = field(default_factory=JobsSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)
    noai: NoAISettings = field(default_factory=NoAISettings)
    portfolio: PortfolioSettings = field(default_factory=PortfolioSettings)
    registrations: RegistrationsSettings = field(default_factory=RegistrationsSettings)
    rate_limits: RateLimitsSettings = field(default_factory=RateLimitsSettings)

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
