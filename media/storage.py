"""Where media files live: a small backend protocol and the local-directory backend.

Storage names are ours, never the client's (security.md E37; CVE-2023-36460 "TootRoot" wrote files at
client-chosen paths): 128 random bits in hex, a fixed extension from the detected format, sharded by the
first two byte pairs, e.g. ``3f/a9/3fa9c1...e7.webp``. Every name that reaches the filesystem - ours when
writing, any string when reading or deleting (it may come from a URL) - must match that exact shape, so
``..``, NUL, absolute paths, backslashes, Unicode tricks and over-long names cannot.

Writes are atomic (temporary file in the target directory, fsync, ``os.replace``, fsync of the directory):
a reader sees the whole file or nothing, and a crash leaves no half-written file under a real name.
Another backend (S3, ...) implements :class:`MediaStorage`; nothing else in the library touches files.
"""

from __future__ import annotations

import io
import os
import re
import secrets
import stat
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

EXTENSIONS = frozenset({"jpg", "png", "gif", "webp", "avif", "heic"})
_NAME = re.compile(r"\A([0-9a-f]{2})/([0-9a-f]{2})/([0-9a-f]{32})\.(jpg|png|gif|webp|avif|heic)\Z")
MAX_NAME_LENGTH = 48  # 2 + 1 + 2 + 1 + 32 + 1 + 4


class InvalidStorageName(ValueError):
    """A string that is not one of our storage names (the app answers 404 for it)."""


@dataclass(frozen=True)
class StoredStat:
    size: int
    modified: float  # seconds since the epoch


def new_storage_name(extension: str) -> str:
    """A fresh random name with ``extension`` (one of EXTENSIONS)."""
    if extension not in EXTENSIONS:
        raise ValueError(f"unknown media extension {extension!r}")
    token = secrets.token_hex(16)
    return f"{token[:2]}/{token[2:4]}/{token}.{extension}"


def validate_storage_name(name: object) -> str:
    """``name`` if it is exactly one of our storage names, else InvalidStorageName."""
    if not isinstance(name, str) or len(name) > MAX_NAME_LENGTH:
        raise InvalidStorageName("not a storage name")
    match = _NAME.match(name)
    if match is None or not match.group(3).startswith(match.group(1) + match.group(2)):
        raise InvalidStorageName("not a storage name")
    return name


def is_storage_name(name: object) -> bool:
    try:
        validate_storage_name(name)
    except InvalidStorageName:
        return False
    return True


@runtime_checkable
class MediaStorage(Protocol):
    """A place to keep media files under names it chooses. Synchronous (the app calls it from a worker
    thread, as it does media processing). ``open``/``stat``/``delete`` take any string and raise
    InvalidStorageName for one that is not a storage name, FileNotFoundError for an unknown one."""

    def save(self, data: bytes, extension: str) -> str:
        """Store ``data`` under a new random name with ``extension``; returns the name."""
        ...

    def open(self, name: str) -> BinaryIO: ...

    def stat(self, name: str) -> StoredStat: ...

    def delete(self, name: str) -> bool:
        """True if a file was removed, False if there was none."""
        ...


class LocalStorage:
    """Files under ``root`` (created if missing), at their storage names."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def path(self, name: str) -> Path:
        """The file's path (for X-Accel-Redirect the name itself is the path below the root)."""
        path = self.root / validate_storage_name(name)
        # Defence in depth: even a valid name must not lead out of the root (e.g. through a symlinked
        # shard directory someone created by hand).
        if not path.resolve().is_relative_to(self.root):
            raise InvalidStorageName("not a storage name")
        return path

    def save(self, data: bytes, extension: str) -> str:
        name = new_storage_name(extension)
        path = self.path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.parent / f".tmp-{secrets.token_hex(8)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o644)
        try:
            with os.fdopen(fd, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.chmod(tmp, 0o644)  # readable by a front web server (X-Accel-Redirect), whatever the umask
            os.replace(tmp, path)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_directory(path.parent)
        return name

    def open(self, name: str) -> BinaryIO:
        fd = os.open(self.path(name), os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise FileNotFoundError(name)
        return os.fdopen(fd, "rb")

    def stat(self, name: str) -> StoredStat:
        info = os.stat(self.path(name), follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise FileNotFoundError(name)
        return StoredStat(info.st_size, info.st_mtime)

    def delete(self, name: str) -> bool:
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            return False
        return True


class MemoryStorage:
    """In-memory backend for tests and benchmarks (same names and checks as LocalStorage)."""

    def __init__(self) -> None:
        self._files: dict[str, tuple[bytes, float]] = {}
        self._lock = threading.Lock()

    def save(self, data: bytes, extension: str) -> str:
        name = new_storage_name(extension)
        with self._lock:
            self._files[name] = (bytes(data), time.time())
        return name

    def open(self, name: str) -> BinaryIO:
        return io.BytesIO(self._get(name)[0])

    def stat(self, name: str) -> StoredStat:
        data, modified = self._get(name)
        return StoredStat(len(data), modified)

    def delete(self, name: str) -> bool:
        validate_storage_name(name)
        with self._lock:
            return self._files.pop(name, None) is not None

    def names(self) -> list[str]:
        with self._lock:
            return sorted(self._files)

    def _get(self, name: str) -> tuple[bytes, float]:
        validate_storage_name(name)
        with self._lock:
            found = self._files.get(name)
        if found is None:
            raise FileNotFoundError(name)
        return found


def _fsync_directory(directory: Path) -> None:
    """Make the rename itself durable (a crash after os.replace could otherwise lose the entry)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
