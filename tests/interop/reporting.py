"""Evidence for a failed interop test: what each side said (cara_fed's request and job logs, its job table,
what the peer received and its log), printed in the failure message."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.interop.cara import CaraInstance
    from tests.interop.peers import BovinePeer, FedifyPeer

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RecordingHandler(logging.Handler):
    """Keeps every record (with its `extra=` fields) logged while an instance runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        extra = {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        if extra:
            line += " " + json.dumps(extra, default=str)
        if record.exc_info and record.exc_info[1] is not None:
            line += f" [{type(record.exc_info[1]).__name__}: {record.exc_info[1]}]"
        self.lines.append(line)


@contextmanager
def recording_logs(*names: str) -> Iterator[RecordingHandler]:
    handler = RecordingHandler()
    loggers = [logging.getLogger(name) for name in names]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in zip(loggers, levels, strict=True):
            lg.removeHandler(handler)
            lg.setLevel(level)


def evidence(cara: CaraInstance, *, fedify: FedifyPeer | None = None,
             bovine: BovinePeer | None = None) -> Callable[[], Awaitable[str]]:
    """What both sides said, for a failure message. A bovine peer also uses it when a driver call fails."""

    async def explain() -> str:
        parts = [f"--- cara_fed {cara.base} log (last 60) ---", *cara.log_lines()[-60:],
                 "--- cara_fed jobs (kind, state, attempts, last error) ---",
                 *(repr(j) for j in await cara.jobs())]
        if fedify is not None:
            try:
                received: Any = await fedify.received()
            except Exception as exc:  # noqa: BLE001 - evidence gathering must not hide the failure
                received = f"(could not read: {exc})"
            parts += ["--- Fedify /_test/received ---", json.dumps(received, indent=1)[-6000:],
                      "--- Fedify log ---", fedify.process.log_tail()]
        if bovine is not None:
            parts += ["--- bovine driver calls ---", *bovine.calls[-10:],
                      "--- bovine-herd log (last 60) ---", bovine.process.log_tail(60)]
        return "\n".join(parts)

    if bovine is not None:
        bovine.explain = explain
    return explain
