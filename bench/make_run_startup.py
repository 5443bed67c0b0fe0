"""Seconds from `make run` in a fresh clone to the first `GET /health` 200 (install, migrate, serve).

    python3 -m bench.make_run_startup        # from the repository root; uses pip's cache like a developer

Clones the current commit into a temporary folder, runs `make run` there with the server on a free
loopback port (CARA_FED_SERVER_BIND), polls /health, stops the server, and prints the figure. The issue's
goal is under 60 s on a machine that already has the packages cached.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GIVE_UP_SECONDS = 600


def free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return int(sock.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        clone = Path(tmp) / "cara_fed"
        subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CARA_FED_")}
        env["CARA_FED_SERVER_BIND"] = f"127.0.0.1:{port}"
        started = time.monotonic()
        with (clone / "make-run.log").open("wb") as log:
            process = subprocess.Popen(["make", "run"], cwd=clone, env=env, stdout=log, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            while not healthy(port):
                if process.poll() is not None or time.monotonic() - started > GIVE_UP_SECONDS:
                    print((clone / "make-run.log").read_text()[-3000:])
                    raise SystemExit("make run did not become healthy")
                time.sleep(0.1)
            elapsed = time.monotonic() - started
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(timeout=30)
        print(f"make run in a fresh clone: /health 200 after {elapsed:.1f} s (goal: < 60 s with packages cached)")


if __name__ == "__main__":
    main()
