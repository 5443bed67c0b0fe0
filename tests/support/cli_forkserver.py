"""A fork server for the `cara-fed` console script: one pre-imported process per pytest process that forks a
child per command, so a command does not pay for the imports again (on an idle machine, `accounts list`:
0.70 s in a new interpreter, 0.12 s forked; a usage error: 0.07 s forked).

Each command still runs in a process of its own, as the console script: own Tortoise state and event loop,
its working directory, the test's clean environment, stdin/stdout/stderr on fds 0/1/2, and its real exit
status from waitpid. The child returns out of the server loop to this file's top level and runs the
installed console script with runpy, so the interpreter's own exit does the rest as in a fresh process
(SystemExit codes, a traceback and exit 1 for an uncaught exception, non-daemon threads joined, atexit,
stdio flushed).

What is imported before the fork (in the server, never in the child):
- what every `cara-fed` run imports before it dispatches to a command: the console script's
  `cara_fed.cli`, and the subcommand modules `cli._parser()` pulls in;
- every other module of the project that can be imported without importing a module of
  cara_fed.jobs.handlers.HANDLER_MODULES, with the libraries they import. Those modules register job kinds
  (jobs/registry.py `_KINDS`) and inbox activity handlers (federation/inbox.py `HANDLERS`) as they are
  imported, the only import-time registries in the project: a child sees exactly the registrations its
  own command's imports make, as in a fresh process (`jobs retry` answered from the first until it loaded
  every kind itself). Which modules qualify is found by a throwaway forked probe that imports everything
  with those modules refused.

What differs from a fresh interpreter, and why it does not matter here:
- all children of one server share its hash seed (set and dict order of strings is the same from one
  command to the next; the CLI sorts what it prints);
- the variables Python reads once at startup (PYTHON*, LC_*, LANG) are the server's: cli.run_cli starts a
  fresh process for a command whose differ;
- the preloaded modules are in sys.modules even for a command that would not import them: only code that
  looks into sys.modules could tell, or a module reading a file or the clock as it is imported (none does).

Protocol, over AF_UNIX SOCK_SEQPACKET (message boundaries kept, fds passed with SCM_RIGHTS):
- server -> client, once imported: b"ready".
- client -> server: JSON {"argv", "cwd", "env"} with 4 fds: a reply socket, stdin, stdout, stderr.
- on the reply socket, server -> client: the exit status as text (negative: killed by that signal, as
  subprocess reports it); client -> server: b"kill" after a timeout (the server signals through a pidfd,
  so a reused pid can never be hit).
"""

from __future__ import annotations

import atexit
import gc
import importlib
import importlib.abc
import json
import os
import pkgutil
import runpy
import selectors
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tomllib
from collections.abc import Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

PROJECT_ROOT = Path(__file__).resolve().parents[2]
MAX_REQUEST = 1 << 20
STARTUP_TIMEOUT = 120.0  # the server's imports take ~2 s; generous for a loaded CI machine
KILL_WAIT = 30.0  # after SIGKILL, the exit status comes at once; this only guards against a lost server


class ForkServerError(RuntimeError):
    pass


# -- the client, in the pytest process -----------------------------------------------------------------------


def interpreter_startup_vars(env: Mapping[str, str]) -> dict[str, str]:
    """The variables Python reads once at startup (its own PYTHON* options, and the locale that picks the
    stdio encoding): a forked child keeps the server's, so they must be the same as the command's."""
    return {k: v for k, v in env.items() if k.startswith(("PYTHON", "LC_")) or k == "LANG"}


class ForkServer:
    def __init__(self, script: str, env: Mapping[str, str]) -> None:
        self.script = script
        self.startup_vars = interpreter_startup_vars(env)
        self._send_lock = threading.Lock()
        self._log = tempfile.TemporaryFile()  # the server's stderr: shown if it fails
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        with theirs:
            self._process = subprocess.Popen(
                [sys.executable, __file__, str(theirs.fileno()), script], pass_fds=[theirs.fileno()],
                env=dict(env), cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=self._log)
        self._control = ours
        ours.settimeout(STARTUP_TIMEOUT)
        try:
            ready = ours.recv(16)
        except TimeoutError:
            ready = b""
        ours.settimeout(None)
        if ready != b"ready":
            self.close()
            raise ForkServerError(f"the cara-fed fork server did not start:\n{self._log_text()}")

    def serves(self, env: Mapping[str, str]) -> bool:
        return interpreter_startup_vars(env) == self.startup_vars

    def run(self, argv: Sequence[str], *, cwd: os.PathLike[str] | str, env: Mapping[str, str],
            stdin: bytes | None, timeout: float) -> tuple[int, bytes, bytes]:
        """Run the console script with ``argv``; (exit status, stdout, stderr). Raises
        subprocess.TimeoutExpired, as subprocess.run does, after killing a command that outlives
        ``timeout``."""
        request = json.dumps({"argv": list(argv), "cwd": os.fspath(cwd), "env": dict(env)}).encode()
        with ExitStack() as stack:
            out = stack.enter_context(tempfile.TemporaryFile())
            err = stack.enter_context(tempfile.TemporaryFile())
            given = stack.enter_context(_stdin_file(stdin))
            ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
            stack.enter_context(ours)
            with theirs:
                try:
                    with self._send_lock:
                        socket.send_fds(self._control, [request],
                                        [theirs.fileno(), given.fileno(), out.fileno(), err.fileno()])
                except OSError as exc:
                    raise ForkServerError(f"the cara-fed fork server is gone ({exc}):\n{self._log_text()}") \
                        from None
            code, timed_out = self._wait(ours, timeout)
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read(), err.read()
        if timed_out:
            raise subprocess.TimeoutExpired(["cara-fed", *argv], timeout, output=stdout, stderr=stderr)
        return code, stdout, stderr

    def _wait(self, reply: socket.socket, timeout: float) -> tuple[int, bool]:
        timed_out = False
        reply.settimeout(timeout)
        try:
            status = reply.recv(32)
        except TimeoutError:
            timed_out = True
            reply.settimeout(KILL_WAIT)
            try:
                reply.send(b"kill")
            except OSError:  # it ended meanwhile: the server sent the status and closed its end
                pass
            status = reply.recv(32)
        if not status:
            raise ForkServerError(f"the cara-fed fork server went away:\n{self._log_text()}")
        return int(status), timed_out

    def close(self) -> None:
        self._control.close()  # the server reads EOF and exits (killing any command still running)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()

    def _log_text(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")


def _stdin_file(data: bytes | None) -> BinaryIO:
    if data is None:
        return open(os.devnull, "rb")
    file = tempfile.TemporaryFile()
    file.write(data)
    file.seek(0)
    return file


_shared: ForkServer | None = None
_shared_lock = threading.Lock()


def shared(script: str, env: Mapping[str, str]) -> ForkServer:
    """This process's fork server, started on first use with ``env`` (stopped when the process exits;
    under pytest-xdist every worker has its own)."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = ForkServer(script, env)
            atexit.register(_shared.close)
        return _shared


# -- the server ----------------------------------------------------------------------------------------------


def _first_party() -> tuple[str, ...]:
    """The project's own top-level packages, as pyproject.toml gives them to setuptools."""
    with (PROJECT_ROOT / "pyproject.toml").open("rb") as file:
        include = tomllib.load(file)["tool"]["setuptools"]["packages"]["find"]["include"]
    return tuple(pattern.rstrip("*") for pattern in include)


def _preload() -> None:
    cli = importlib.import_module("cara_fed.cli")  # the console script's own import
    cli._parser()  # what main() builds first in every run: imports the subcommand modules
    registering = frozenset(importlib.import_module("cara_fed.jobs.handlers").HANDLER_MODULES)
    for name in _imports_without(_first_party(), registering):
        try:
            importlib.import_module(name)
        except Exception:  # e.g. a name a package put in sys.modules under an alias: the child imports it
            pass
    if loaded := sorted(registering & set(sys.modules)):  # e.g. a module importing one under try/except
        raise ForkServerError(f"modules registering at import were preloaded: {loaded}")
    if threading.active_count() != 1:  # forking with other threads running can deadlock the child
        raise ForkServerError(f"threads running after the imports: {threading.enumerate()}")


class _Refuse(importlib.abc.MetaPathFinder):
    def __init__(self, names: frozenset[str]) -> None:
        self.names = names

    def find_spec(self, fullname: str, path: Any, target: Any = None) -> None:
        if fullname in self.names:
            raise ImportError(f"{fullname} is not preloaded", name=fullname)


def _imports_without(first_party: tuple[str, ...], refused: frozenset[str]) -> list[str]:
    """Names of the modules that importing every module of the ``first_party`` packages adds while the
    ``refused`` ones cannot be imported (so does any module importing one of them), in the order they were
    imported. Found in a forked probe, so that the server imports nothing it will not keep."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        status = 1
        try:
            os.close(read_end)
            sys.meta_path.insert(0, _Refuse(refused))
            before = set(sys.modules)
            for top in first_party:
                package = importlib.import_module(top)
                for info in pkgutil.walk_packages(package.__path__, top + ".", onerror=lambda _name: None):
                    try:
                        importlib.import_module(info.name)
                    except Exception:
                        pass
            names = [name for name in sys.modules if name not in before]
            with os.fdopen(write_end, "wb") as pipe:
                pipe.write(json.dumps(names).encode())
            status = 0
        finally:
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise ForkServerError("the import probe failed")
    names: list[str] = json.loads(data)
    return names


@dataclass
class _Running:
    pid: int
    pidfd: int
    reply: socket.socket


def _serve(control: socket.socket) -> dict[str, Any] | None:
    """Fork a child per request. Returns None in the server when the client has gone; returns the request
    in the child, with fds 0/1/2 its own and none of the server's left open."""
    selector = selectors.DefaultSelector()
    selector.register(control, selectors.EVENT_READ, ("control", None))
    running: dict[int, _Running] = {}
    while True:
        for key, _ in selector.select():
            kind, child = key.data
            if kind == "control":
                message, fds, flags, _ = socket.recv_fds(control, MAX_REQUEST, 4)
                if not message:  # the pytest process closed its end
                    for left in running.values():
                        _kill(left)
                        os.waitpid(left.pid, 0)
                    return None
                if flags & socket.MSG_TRUNC or flags & socket.MSG_CTRUNC or len(fds) != 4:
                    raise ForkServerError(f"malformed request (flags {flags}, {len(fds)} fds)")
                reply, stdio = socket.socket(fileno=fds[0]), fds[1:]
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    selector.close()
                    control.close()
                    for other in running.values():
                        other.reply.close()
                        os.close(other.pidfd)
                    reply.close()
                    for target, fd in enumerate(stdio):
                        os.dup2(fd, target)
                        os.close(fd)
                    request: dict[str, Any] = json.loads(message)
                    return request
                for fd in stdio:
                    os.close(fd)
                started = _Running(pid, os.pidfd_open(pid), reply)
                running[pid] = started
                selector.register(started.pidfd, selectors.EVENT_READ, ("exit", started))
                selector.register(reply, selectors.EVENT_READ, ("kill", started))
            elif child.pid not in running:  # its exit was handled earlier in this round
                continue
            elif kind == "kill":  # b"kill" after a timeout, or EOF: the test is not waiting any more
                selector.unregister(child.reply)
                try:
                    child.reply.recv(16)  # read: closing a Unix socket with unread data resets the peer's end
                except OSError:
                    pass
                _kill(child)
            else:  # "exit": the pidfd is readable once the child has ended
                _, status = os.waitpid(child.pid, 0)
                del running[child.pid]
                selector.unregister(child.pidfd)
                os.close(child.pidfd)
                if child.reply in selector.get_map():  # not after a kill request
                    selector.unregister(child.reply)
                try:
                    child.reply.send(str(os.waitstatus_to_exitcode(status)).encode())
                except OSError:  # the test stopped waiting
                    pass
                child.reply.close()


def _kill(child: _Running) -> None:
    try:
        signal.pidfd_send_signal(child.pidfd, signal.SIGKILL)
    except ProcessLookupError:  # already ended
        pass


def _become(request: dict[str, Any], script: str) -> None:
    """The rest of what exec would have given the command: its directory, environment and argv."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])
    time.tzset()  # TZ may differ from the server's
    sys.argv = [script, *request["argv"]]


def _main() -> None:
    control_fd, script = int(sys.argv[1]), sys.argv[2]
    # Run as a script, sys.path[0] is this folder; the console script's is its own folder (the venv's
    # bin). Set before anything but the standard library is imported, so tests/support/*.py shadow nothing.
    sys.path[0] = os.path.dirname(os.path.realpath(script))
    control = socket.socket(fileno=control_fd)
    _preload()
    # Garbage from the imports collected once, then everything left moved out of the collector's reach:
    # otherwise every child's collections touch every preloaded object, copying the server's memory page
    # by page (https://docs.python.org/3/library/gc.html#gc.freeze); measured: a command that only prints
    # its usage took 0.21 s without, 0.07 s with.
    gc.collect()
    gc.freeze()
    control.send(b"ready")
    request = _serve(control)
    if request is None:
        return
    _become(request, script)
    runpy.run_path(script, run_name="__main__")  # the console script: sys.exit(main())


if __name__ == "__main__":
    _main()
