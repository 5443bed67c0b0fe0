"""The collector settings of the long-running processes (cara_fed/heap.py), checked in a fresh interpreter:
freezing the heap in the test process itself would keep every later test's garbage cycles alive."""

from __future__ import annotations

import subprocess
import sys

import orjson

PROBE = """
import gc, orjson
import cara_fed.app  # what `cara-fed serve` has imported when it settles
from cara_fed.heap import settle_after_startup
before = gc.get_freeze_count()
settle_after_startup()
print(orjson.dumps({"before": before, "frozen": gc.get_freeze_count(), "threshold": gc.get_threshold(),
                    "young_now": gc.get_count()[0]}).decode())
"""


def test_settling_freezes_what_startup_made_and_makes_young_collections_rarer() -> None:
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=60,
                          check=True)
    found = orjson.loads(done.stdout)
    assert found["before"] == 0
    assert found["frozen"] > 10_000  # the imported modules, classes and functions: no longer walked
    assert found["threshold"] == [7000, 10, 10]
    assert found["young_now"] < 100  # collected first: the young generation starts empty
