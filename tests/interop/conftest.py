"""Fixtures for the real-peer interop tests: the peers' installs, a Fedify peer and a bovine-herd server per
test, and a cara_fed instance whose domain is its own loopback address. Only loopback traffic.

Installs come from the package registries (npm, PyPI) on first use and are cached in ``.cache/interop/`` at
the repository root (``CARA_FED_TEST_INTEROP_CACHE`` moves it); when a registry cannot be reached the tests
skip, and the run ends with a banner saying so (tests/conftest.py). Every process a fixture starts is
stopped in its `finally` (its whole process group)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.interop.cara import CaraInstance, serve_cara
from tests.interop.installs import install_bovine, install_fedify
from tests.interop.peers import BovinePeer, FedifyPeer, run_bovine, run_fedify
from tests.interop.tlsfront import LoopbackCA, make_loopback_ca


@pytest.fixture(scope="session")
def fedify_install() -> Path:
    return install_fedify()


@pytest.fixture(scope="session")
def bovine_install() -> Path:
    return install_bovine()


@pytest.fixture(scope="session")
def loopback_ca(tmp_path_factory: pytest.TempPathFactory) -> LoopbackCA:
    return make_loopback_ca(tmp_path_factory.mktemp("loopback-ca"))


@pytest.fixture
async def cara(database_url: str, tmp_path: Path) -> AsyncIterator[CaraInstance]:
    """cara_fed on http://127.0.0.1:PORT, that address its domain."""
    async with serve_cara(database_url, tmp_path / "cara") as instance:
        yield instance


@pytest.fixture
async def cara_tls(database_url: str, tmp_path: Path, loopback_ca: LoopbackCA) -> AsyncIterator[CaraInstance]:
    """The same, also answering https on its port (acct: WebFinger lookups are https-only: tlsfront.py)."""
    async with serve_cara(database_url, tmp_path / "cara", tls_ca=loopback_ca) as instance:
        yield instance


@pytest.fixture
async def fedify(fedify_install: Path, tmp_path: Path, loopback_ca: LoopbackCA) -> AsyncIterator[FedifyPeer]:
    async with run_fedify(fedify_install, tmp_path, extra_ca=loopback_ca.ca_file) as peer:
        yield peer


@pytest.fixture
async def bovine(bovine_install: Path, tmp_path: Path) -> AsyncIterator[BovinePeer]:
    async with run_bovine(bovine_install, tmp_path / "herd") as peer:
        yield peer
