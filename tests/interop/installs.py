"""Installing the real peers from the package registries, once, into ``.cache/interop/`` (repo root):
Fedify 1.5.9 with npm, bovine-herd 0.5.19 in its own virtualenv with pip. A registry that cannot be
reached makes the tests skip, loudly (tests/conftest.py prints a banner); any other install failure fails
them."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from tests.interop.processes import kill_group

REPO_ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("CARA_FED_TEST_INTEROP_CACHE", REPO_ROOT / ".cache" / "interop"))
SHARED = REPO_ROOT.parent / "shared"  # the project's shared/ folder, beside the repository
FEDIFY_SCRIPT = SHARED / "reference" / "fedify-peer.mjs"
JSONLD_CONTEXTS = SHARED / "jsonld" / "contexts.json"

FEDIFY_VERSION = "1.5.9"
FEDIFY_PACKAGES = (f"@fedify/fedify@{FEDIFY_VERSION}", "@hono/node-server@1")
BOVINE_VERSION = "0.5.19"
BOVINE_PACKAGES = (f"bovine-herd=={BOVINE_VERSION}", f"bovine=={BOVINE_VERSION}")

# What a package client prints when it cannot reach its registry (then we skip, loudly; anything else fails).
_OFFLINE_MARKERS = ("ENOTFOUND", "EAI_AGAIN", "ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "ENETUNREACH",
                    "network", "Network", "Failed to establish a new connection", "Temporary failure in name",
                    "Name or service not known", "Could not find a version that satisfies",
                    "No matching distribution found", "Connection refused", "timed out", "ProxyError")

# Starts the reason of every install skip: tests/conftest.py finds the skips by it and ends the run with a
# banner (it reads the skip reports, so it works in pytest-xdist's controller too, where no test runs).
SKIP_PREFIX = "INTEROP SKIPPED (real peer not installed): "


def _loud_skip(reason: str) -> NoReturn:
    pytest.skip(SKIP_PREFIX + reason)


@contextlib.contextmanager
def _install_lock(name: str) -> Iterator[None]:
    """One installer at a time per cache entry: two pytest runs, or two pytest-xdist workers, may start
    together. The second waits here, then finds the first one's finished install and reuses it."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with open(CACHE / f".{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run_installer(what: str, argv: list[str], cwd: Path, env: dict[str, str], timeout: float) -> None:
    process = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_group(process.pid)
        process.communicate()
        _loud_skip(f"{what}: `{' '.join(argv)}` did not finish in {timeout:.0f} s (registry unreachable?)")
    finally:
        if process.poll() is None:  # interrupted: never leave an installer running
            kill_group(process.pid)
            process.wait()
    if process.returncode != 0:
        tail = "\n".join(output.strip().splitlines()[-15:])
        offline = [line.strip() for line in output.splitlines() if any(m in line for m in _OFFLINE_MARKERS)]
        if offline:
            _loud_skip(f"{what}: the package registry looks unreachable ({offline[0][:300]})")
        pytest.fail(f"{what}: `{' '.join(argv)}` failed (exit {process.returncode}):\n{tail}",
                    pytrace=False)


def _require_shared(path: Path) -> None:
    if not path.is_file():
        pytest.fail(f"missing {path}: the interop tests read the project's shared/ folder (beside the "
                    "repository)", pytrace=False)


def install_fedify() -> Path:
    """``.cache/interop/fedify-1.5.9`` with node_modules and a copy of fedify-peer.mjs (installed once)."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        _loud_skip("node and npm are needed for the Fedify peer (apt-get install nodejs npm)")
    _require_shared(FEDIFY_SCRIPT)
    target = CACHE / f"fedify-{FEDIFY_VERSION}"
    with _install_lock("fedify"):
        if not (target / ".installed").is_file():
            staging = CACHE / f"fedify-{FEDIFY_VERSION}.partial"
            shutil.rmtree(staging, ignore_errors=True)
            staging.mkdir(parents=True)
            # Our own package.json, so npm installs here rather than in some parent folder.
            package = {"name": "cara-fed-interop-fedify", "private": True, "type": "module"}
            (staging / "package.json").write_text(json.dumps(package))
            env = {**os.environ, "npm_config_cache": str(CACHE / "npm-cache"),
                   "npm_config_update_notifier": "false"}
            argv = [npm, "install", "--no-audit", "--no-fund", "--loglevel=error", *FEDIFY_PACKAGES]
            _run_installer("npm install (Fedify peer)", argv, staging, env, timeout=300)
            manifest = staging / "node_modules" / "@fedify" / "fedify" / "package.json"
            installed = json.loads(manifest.read_text())["version"]
            if installed != FEDIFY_VERSION:
                pytest.fail(f"npm installed @fedify/fedify {installed}, not {FEDIFY_VERSION}", pytrace=False)
            (staging / ".installed").write_text(f"@fedify/fedify {installed}\n")
            shutil.rmtree(target, ignore_errors=True)
            staging.rename(target)
        # The current reference script, replaced only when it changed (another run may be starting it).
        script = target / "fedify-peer.mjs"
        if not script.is_file() or script.read_bytes() != FEDIFY_SCRIPT.read_bytes():
            shutil.copyfile(FEDIFY_SCRIPT, script)
    return target


def install_bovine() -> Path:
    """``.cache/interop/bovine-0.5.19``: a virtualenv with bovine-herd and bovine, installed once. Made in
    place (a venv holds absolute paths): its ``.installed`` marker, written last, says it is complete."""
    _require_shared(JSONLD_CONTEXTS)
    target = CACHE / f"bovine-{BOVINE_VERSION}"
    marker = " ".join(BOVINE_PACKAGES) + f" on Python {sys.version_info.major}.{sys.version_info.minor}\n"
    with _install_lock("bovine"):
        if not (target / ".installed").is_file() or (target / ".installed").read_text() != marker:
            shutil.rmtree(target, ignore_errors=True)  # a half-made or outdated venv
            # The interpreter running the tests (a virtualenv's python makes a venv of its base Python).
            _run_installer("python -m venv (bovine peer)", [sys.executable, "-m", "venv", str(target)],
                           CACHE, dict(os.environ), timeout=120)
            env = {**os.environ, "PIP_CACHE_DIR": str(CACHE / "pip-cache"),
                   "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
            env.pop("PYTHONPATH", None)
            argv = [str(target / "bin" / "python"), "-m", "pip", "install", "--quiet", *BOVINE_PACKAGES]
            _run_installer("pip install (bovine peer)", argv, CACHE, env, timeout=600)
            (target / ".installed").write_text(marker)
    return target


def main(argv: list[str]) -> int:
    """``python -m tests.interop.installs fedify|bovine``: install that peer now. tests/run_suites.py starts
    one of these per peer in the background on a whole-suite run, so that a fresh clone's downloads overlap
    the first tests instead of holding up a worker. Nothing is reported here: a peer that did not install is
    tried again, under the same lock, by the tests that need it, and they skip or fail as usual."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # unwinds, so _run_installer stops its installer
    installs = {"fedify": install_fedify, "bovine": install_bovine}
    for name in argv:
        with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
            installs[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
