"""The AI-crawler list: the user-agent tokens of ai.robots.txt's ``robots.json``.

A copy is bundled in ``media/noai/data/`` with its MIT licence (upstream: github.com/ai-robots-txt/ai.robots.txt,
refreshed from its releases feed). ``robots.json`` is an object keyed by the exact user-agent token; the values
are free-text descriptions that we never interpret (noai.md section 1).
"""

from __future__ import annotations

import json
import os
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

BUNDLED_SOURCE = "bundled"
MAX_FILE_BYTES = 4 * 1024 * 1024  # upstream's file is ~70 KiB; anything this large is not a crawler list
MAX_NAMES = 5000  # robots.txt must stay under 500 KiB (RFC 9309 section 2.5)
MAX_NAME_LENGTH = 100


class CrawlerListError(ValueError):
    """A crawler list that cannot be used; ``str()`` is one line for the admin."""


@dataclass(frozen=True)
class CrawlerList:
    """The crawler names in file order (upstream sorts them case-insensitively), and where they came from."""

    names: tuple[str, ...]
    source: str  # a file path, or "bundled"

    def __len__(self) -> int:
        return len(self.names)


def parse_robots_json(data: bytes | str, source: str = "robots.json") -> CrawlerList:
    """The names of a ``robots.json`` document. Raises :class:`CrawlerListError` for anything that is not
    an object of crawler entries, or a name that cannot be written into a robots.txt line."""
    if len(data) > MAX_FILE_BYTES:
        raise CrawlerListError(f"{source}: larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not a crawler list")
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data  # JSON is UTF-8 (RFC 8259)
    except UnicodeDecodeError as exc:
        raise CrawlerListError(f"{source}: not UTF-8 text (byte {exc.start})") from None
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CrawlerListError(f"{source}: not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})"
                               ) from None
    if not isinstance(document, dict):
        raise CrawlerListError(f"{source}: must be a JSON object keyed by user-agent name, as ai.robots.txt's "
                               f"robots.json (got a JSON {type(document).__name__})")
    if not document:
        raise CrawlerListError(f"{source}: lists no crawlers")
    if len(document) > MAX_NAMES:
        raise CrawlerListError(f"{source}: lists {len(document)} crawlers (at most {MAX_NAMES})")
    names: list[str] = []
    for name, entry in document.items():
        _check_name(name, source)
        if not isinstance(entry, dict):
            raise CrawlerListError(f"{source}: the entry for {name!r} must be an object (operator, function, ...), "
                                   "as in ai.robots.txt's robots.json")
        names.append(name)
    return CrawlerList(names=tuple(names), source=source)


def _check_name(name: str, source: str) -> None:
    if not name or name != name.strip():
        raise CrawlerListError(f"{source}: crawler name {name!r} is empty or has surrounding spaces")
    if len(name) > MAX_NAME_LENGTH:
        raise CrawlerListError(f"{source}: crawler name {name[:40]!r}... is longer than {MAX_NAME_LENGTH} characters")
    # A name becomes a `User-agent:` line: no line breaks, no comment sign, only printable characters.
    if "#" in name or any(unicodedata.category(ch).startswith("C") for ch in name):
        raise CrawlerListError(f"{source}: crawler name {name!r} contains a control character or '#'")


def bundled_robots_json() -> bytes:
    """The bytes of the bundled ``robots.json``."""
    return resources.files("media.noai").joinpath("data/robots.json").read_bytes()


def bundled_license() -> str:
    """The licence text that must travel with any copy of the list (MIT, ai.robots.txt)."""
    return resources.files("media.noai").joinpath("data/LICENSE").read_text(encoding="utf-8")


@lru_cache(maxsize=1)
def bundled_crawler_list() -> CrawlerList:
    return parse_robots_json(bundled_robots_json(), BUNDLED_SOURCE)


def load_crawler_list(path: str | os.PathLike[str] | None) -> CrawlerList:
    """The list at ``path`` if that file exists, else the bundled one. A file that exists but is not a valid
    list raises :class:`CrawlerListError` (the caller decides whether to fall back)."""
    if path is None:
        return bundled_crawler_list()
    file = Path(path)
    try:
        data = file.read_bytes()
    except FileNotFoundError:
        return bundled_crawler_list()
    except OSError as exc:
        raise CrawlerListError(f"{file}: cannot read: {exc.strerror or exc}") from None
    return parse_robots_json(data, str(file))


def file_signature(path: str | os.PathLike[str]) -> tuple[int, int] | None:
    """(mtime in ns, size) of ``path``, or None if it does not exist: cheap to poll for a replaced list."""
    try:
        stat = os.stat(path)
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


def install_crawler_list(data: bytes, destination: str | os.PathLike[str], source: str = "robots.json"
                         ) -> CrawlerList:
    """Validate ``data`` (named ``source`` in errors) as a ``robots.json`` and write it to ``destination``
    atomically (a reader never sees half a file), with the licence notice next to it. Returns the list."""
    target = Path(destination)
    crawlers = parse_robots_json(data, source)
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    # MIT: the copyright and permission notice travels with every copy of the list.
    target.with_name(f"{target.name}.LICENSE").write_text(
        f"{target.name}: a newer copy of ai.robots.txt's robots.json, installed by `cara-fed noai update`.\n"
        "Its source and licence are those of the copy bundled with cara_fed (which was the snapshot named "
        "below):\n\n" + bundled_license(), encoding="utf-8")
    return CrawlerList(names=crawlers.names, source=str(target))
