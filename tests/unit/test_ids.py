"""Snowflake ids: time-sortable, strictly increasing within a process, unique, 64-bit signed."""

from __future__ import annotations

import threading
import time
import types

import pytest

import cara_fed.ids
from cara_fed.ids import SEQUENCE_BITS, id_floor_for, snowflake_id

INT64_MAX = 2**63 - 1


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def test_ids_strictly_increase_over_200k_calls() -> None:
    previous = snowflake_id()
    for _ in range(200_000):
        current = snowflake_id()
        assert current > previous
        previous = current


def test_ids_are_unique() -> None:
    ids = [snowflake_id() for _ in range(50_000)]
    assert len(set(ids)) == len(ids)


def test_ids_are_unique_across_threads() -> None:
    results: list[list[int]] = [[] for _ in range(4)]

    def make(into: list[int]) -> None:
        into.extend(snowflake_id() for _ in range(20_000))

    threads = [threading.Thread(target=make, args=(bucket,)) for bucket in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for bucket in results for i in bucket]
    assert len(set(everything)) == len(everything) == 80_000
    for bucket in results:  # each thread still sees its own ids increase
        assert bucket == sorted(bucket) and len(set(bucket)) == len(bucket)


def test_ids_are_positive_and_fit_in_signed_64_bits() -> None:
    for _ in range(1_000):
        value = snowflake_id()
        assert isinstance(value, int)
        assert 0 < value <= INT64_MAX


def test_high_bits_are_the_current_epoch_milliseconds() -> None:
    for _ in range(100):
        before = now_ms()
        value = snowflake_id()
        after = now_ms()
        assert before <= value >> SEQUENCE_BITS <= after


def test_id_floor_brackets_ids_made_in_that_millisecond() -> None:
    before = now_ms()
    value = snowflake_id()
    after = now_ms()
    assert id_floor_for(before) <= value < id_floor_for(after + 1)


def test_id_floor_is_the_smallest_id_of_its_millisecond() -> None:
    ms = 1_700_000_000_123
    floor = id_floor_for(ms)
    assert floor >> SEQUENCE_BITS == ms
    assert (floor - 1) >> SEQUENCE_BITS == ms - 1
    assert id_floor_for(ms + 1) - floor == 1 << SEQUENCE_BITS
    assert id_floor_for(0) == 0


def test_id_floor_is_monotonic_and_fits_for_centuries() -> None:
    times = [0, 1, 1_000, 1_700_000_000_000, 4_102_444_800_000]  # ... up to 2100-01-01
    floors = [id_floor_for(ms) for ms in times]
    assert floors == sorted(floors) and len(set(floors)) == len(floors)
    assert floors[-1] <= INT64_MAX


def test_ids_made_later_are_above_an_earlier_floor() -> None:
    floor = id_floor_for(now_ms())
    assert snowflake_id() >= floor


def test_ids_keep_increasing_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    last_real = snowflake_id()
    ten_seconds_ago = time.time_ns() - 10 * 1_000_000_000
    monkeypatch.setattr(cara_fed.ids, "time", types.SimpleNamespace(time_ns=lambda: ten_seconds_ago))
    made = [snowflake_id() for _ in range(1_000)]
    assert made[0] > last_real
    assert all(later > earlier for earlier, later in zip(made, made[1:]))
