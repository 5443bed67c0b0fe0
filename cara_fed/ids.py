"""Time-sortable 64-bit ids, as Mastodon's (lib/mastodon/snowflake.rb): milliseconds since the Unix epoch
in the high bits, a 16-bit sequence in the low bits. Clients see them as numeric strings and page with
max_id/since_id/min_id, so newer rows always get larger ids.
"""

from __future__ import annotations

import secrets
import threading
import time

SEQUENCE_BITS = 16
_SEQUENCE_MASK = (1 << SEQUENCE_BITS) - 1


class _Generator:
    """Monotonic within a process. Each millisecond's sequence starts at a random point in the lower half,
    so two processes writing in the same millisecond rarely pick the same id (the primary key would refuse
    a collision, never merge rows) and at least 32,768 ids fit in a millisecond before it borrows the next."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last_ms = 0
        self._sequence = 0

    def next(self) -> int:
        with self._lock:
            now_ms = time.time_ns() // 1_000_000
            if now_ms <= self._last_ms:
                now_ms = self._last_ms
                self._sequence += 1
                if self._sequence > _SEQUENCE_MASK:
                    now_ms += 1
                    self._sequence = 0
            else:
                self._sequence = secrets.randbelow(1 << (SEQUENCE_BITS - 1))
            self._last_ms = now_ms
            return (now_ms << SEQUENCE_BITS) | self._sequence


_generator = _Generator()


def snowflake_id() -> int:
    """A new id, larger than every id this process made before."""
    return _generator.next()


def id_floor_for(ms_since_epoch: int) -> int:
    """The smallest id made at that millisecond (for turning a time into a max_id/min_id bound)."""
    return ms_since_epoch << SEQUENCE_BITS
