"""Loopback ports for processes the tests start that take a port number rather than a listening socket
(nginx, `cara-fed serve`, peers)."""

from __future__ import annotations

import socket

# Ports already handed out by this test process. The kernel may give the same ephemeral port to two binds in
# a row once the first socket is closed, and a test that asks for two ports before starting either process
# (nginx in front of `cara-fed serve`) then got the same one twice: the second process could not bind
# (CI, 2026-11-26: "bind() to 127.0.0.1:59081 failed (98: Address already in use)").
_handed_out: set[int] = set()


def free_port() -> int:
    """A loopback port free right now and not handed out before by this process. Another process (another
    xdist worker) can still take it before it is bound: callers that can retry on a failed bind do."""
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
