"""Storage backends: random sharded names, atomic writes, open/stat/delete, rollback on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

import media.storage
from media import (InvalidStorageName, LocalStorage, MediaLimits, MediaStorage, MemoryStorage,
                   is_storage_name, new_storage_name, process_upload, validate_storage_name)

from .imagegen import encode, picture


@pytest.fixture(params=["local", "memory"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStorage:
    return LocalStorage(tmp_path / "media") if request.param == "local" else MemoryStorage()


def test_names_are_random_sharded_and_valid() -> None:
    names = {new_storage_name("webp") for _ in range(200)}
    assert len(names) == 200
    for name in names:
        assert validate_storage_name(name) == name and is_storage_name(name)
        shard1, shard2, file_name = name.split("/")
        assert file_name.startswith(shard1 + shard2) and file_name.endswith(".webp")
        assert len(file_name) == 32 + 5
    with pytest.raises(ValueError):
        new_storage_name("php")


def test_save_open_stat_delete(backend: MediaStorage) -> None:
    assert isinstance(backend, MediaStorage)
    name = backend.save(b"\xff\xd8hello", "jpg")
    assert name.endswith(".jpg") and is_storage_name(name)
    with backend.open(name) as handle:
        assert handle.read() == b"\xff\xd8hello"
    assert backend.stat(name).size == 7
    assert backend.delete(name) is True
    assert backend.delete(name) is False
    with pytest.raises(FileNotFoundError):
        backend.open(name)
    with pytest.raises(FileNotFoundError):
        backend.stat(name)


def test_local_files_are_complete_readable_and_leave_no_temporaries(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    data = os.urandom(300_000)
    name = storage.save(data, "png")
    path = storage.path(name)
    assert path.read_bytes() == data
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_a_failed_write_leaves_nothing_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    storage = LocalStorage(tmp_path / "media")

    def broken_replace(src: object, dst: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(media.storage.os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        storage.save(b"data", "gif")
    assert [p for p in storage.root.rglob("*") if p.is_file()] == []


def test_symlinked_files_are_not_followed(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "media")
    secret = tmp_path / "secret.txt"
    secret.write_text("nope")
    outward = new_storage_name("jpg")
    (storage.root / outward).parent.mkdir(parents=True)
    os.symlink(secret, storage.root / outward)
    with pytest.raises(InvalidStorageName):  # resolves outside the root
        storage.open(outward)
    inside = storage.save(b"real", "jpg")
    inward = new_storage_name("jpg")
    (storage.root / inward).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(storage.root / inside, storage.root / inward)
    with pytest.raises(OSError):  # O_NOFOLLOW
        storage.open(inward)
    with pytest.raises(FileNotFoundError):
        storage.stat(inward)


class FailingStorage(MemoryStorage):
    """Fails on the fourth save, like a disk filling up half-way through an upload."""

    def __init__(self) -> None:
        super().__init__()
        self.saves = 0

    def save(self, data: bytes, extension: str) -> str:
        self.saves += 1
        if self.saves == 4:
            raise OSError("disk full")
        return super().save(data, extension)


def test_process_upload_removes_what_it_saved_when_storage_fails() -> None:
    storage = FailingStorage()
    with pytest.raises(OSError, match="disk full"):
        process_upload(encode(picture((50, 40)), "PNG"), limits=MediaLimits(), artist_name="Ada",
                       policy_url="https://art.example/ai", storage=storage)
    assert storage.saves == 4
    assert storage.names() == []
