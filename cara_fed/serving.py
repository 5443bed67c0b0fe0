"""Running the app under hypercorn: the listening socket and the server configuration.

We bind the socket ourselves, before hypercorn starts the app's lifespan: hypercorn binds only after the
startup (database, job runner) has run, so a port already in use would otherwise surface late, with the
app's resources open. Binding first gives one clear error at once, and port 0 tells us the port picked.
"""

from __future__ import annotations

import logging
import os
import socket
from dataclasses import dataclass

from hypercorn.config import Config

from cara_fed.settings import split_host_port


@dataclass(frozen=True)
class Listener:
    bind: str  # what hypercorn's config.bind takes
    host: str
    port: int | None  # None for a unix socket


def open_listener(bind: str) -> Listener:
    """Bind and listen on ``bind`` (HOST:PORT, [IPv6]:PORT or unix:PATH). Raises OSError."""
    if bind.startswith("unix:"):
        return Listener(bind=bind, host=bind, port=None)  # hypercorn binds unix sockets itself
    host, port = split_host_port(bind)
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port or 0), family=family, backlog=1024)
    try:
        # Hand hypercorn a duplicate it owns and closes; ours closes now, the socket stays open.
        return Listener(bind=f"fd://{os.dup(sock.fileno())}", host=host, port=sock.getsockname()[1])
    finally:
        sock.close()


def hypercorn_config(listener: Listener, *, certfile: str | None = None, keyfile: str | None = None,
                     graceful_timeout: float = 10.0) -> Config:
    config = Config()
    config.bind = [listener.bind]
    config.accesslog = None  # the app logs each request with its request id
    config.errorlog = logging.getLogger("hypercorn.error")  # through our formatter, not its own handler
    config.graceful_timeout = graceful_timeout
    if certfile is not None:
        config.certfile, config.keyfile = certfile, keyfile
    return config
