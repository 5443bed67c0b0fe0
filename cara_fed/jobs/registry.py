"""Job kinds: a handler and a retry policy per kind.

Handlers must be idempotent: a worker that dies mid-job leaves its lease to expire and the job runs again
(at-least-once). Work that is only database writes can be made exactly-once by checking for its own
effect first, or by writing with a unique key.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any


class PermanentJobError(Exception):
    """Raised by a handler when retrying cannot help (e.g. the remote answered 410): the job goes dead."""


class RetryJobLater(Exception):
    """Raised by a handler to be retried after a given delay (e.g. a Retry-After header)."""

    def __init__(self, message: str, after_seconds: float) -> None:
        super().__init__(message)
        self.after_seconds = after_seconds


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter (AWS architecture blog, "Exponential Backoff And Jitter").

    The defaults retry for two days, as the design asks of deliveries: even when every jittered delay
    comes out at its shortest, 30 attempts outlast the 48-hour give-up time, so that time decides."""

    base_seconds: float = 30.0
    factor: float = 2.0
    max_delay_seconds: float = 6 * 3600.0
    max_attempts: int = 30
    give_up_after_seconds: float = 2 * 24 * 3600.0

    def delay_after(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after ``attempts`` failed runs (attempts >= 1)."""
        exponent = min(max(0, attempts - 1), 64)  # past 2**64 every ceiling is capped anyway: no overflow
        ceiling = min(self.max_delay_seconds, self.base_seconds * self.factor ** exponent)
        rng = rng or random
        # Never less than half the ceiling, so retries still spread out as the ceiling grows.
        return ceiling / 2 + rng.random() * ceiling / 2



@dataclass(frozen=True)
class JobContext:
    """What a handler gets: the job's identity, its payload, and which attempt this is (1-based)."""

    job_id: int
    kind: str
    payload: dict[str, Any]
    attempt: int
    services: dict[str, Any] = field(default_factory=dict)  # e.g. the app's settings and HTTP session


Handler = Callable[[JobContext], Awaitable[None]]


@dataclass(frozen=True)
class JobKind:
    name: str
    handler: Handler
    policy: RetryPolicy


_KINDS: dict[str, JobKind] = {}


def job_kind(name: str, policy: RetryPolicy | None = None) -> Callable[[Handler], Handler]:
    """Decorator registering ``handler`` for jobs of kind ``name``."""

    def register(handler: Handler) -> Handler:
        if name in _KINDS and _KINDS[name].handler is not handler:
            raise ValueError(f"job kind {name!r} is already registered")
        _KINDS[name] = JobKind(name=name, handler=handler, policy=policy or RetryPolicy())
        return handler

    return register


def get_kind(name: str) -> JobKind | None:
    return _KINDS.get(name)


def registered_kinds() -> list[str]:
    return sorted(_KINDS)
