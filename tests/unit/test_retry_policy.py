"""RetryPolicy: exponential backoff with jitter in [ceiling/2, ceiling], capped, retrying for about two days."""

from __future__ import annotations

import random

import pytest

from cara_fed.jobs.registry import RetryPolicy

TWO_DAYS = 2 * 24 * 3600.0


class FixedRandom(random.Random):
    """A Random whose random() always returns ``value``: 0.0 gives the shortest delay, just under 1.0 the
    longest."""

    def __init__(self, value: float) -> None:
        super().__init__(0)
        self.value = value

    def random(self) -> float:
        return self.value


SHORTEST = FixedRandom(0.0)
LONGEST = FixedRandom(1.0 - 2**-53)


def ceiling(policy: RetryPolicy, attempts: int) -> float:
    return min(policy.max_delay_seconds, policy.base_seconds * policy.factor ** (attempts - 1))


def retry_waits(policy: RetryPolicy, rng: random.Random) -> list[float]:
    """The waits between the runs of a job that always fails: one after each of attempts
    1 .. max_attempts-1 (the queue marks the job dead once attempts reaches max_attempts)."""
    return [policy.delay_after(attempts, rng) for attempts in range(1, policy.max_attempts)]


@pytest.mark.parametrize("policy", [
    RetryPolicy(),
    RetryPolicy(base_seconds=1.0, factor=3.0, max_delay_seconds=600.0, max_attempts=10),
    RetryPolicy(base_seconds=5.0, factor=1.5, max_delay_seconds=60.0),
], ids=["default", "fast", "gentle"])
def test_delay_stays_within_half_ceiling_and_ceiling(policy: RetryPolicy) -> None:
    rng = random.Random(20240607)
    for attempts in range(1, 41):
        top = ceiling(policy, attempts)
        for _ in range(200):
            delay = policy.delay_after(attempts, rng)
            assert top / 2 <= delay <= top, (attempts, delay, top)


def test_delay_spreads_over_the_whole_jitter_range() -> None:
    policy = RetryPolicy()
    rng = random.Random(7)
    delays = [policy.delay_after(5, rng) for _ in range(2_000)]
    top = ceiling(policy, 5)
    assert min(delays) < top / 2 + top * 0.02
    assert max(delays) > top - top * 0.02


def test_delay_is_deterministic_for_a_seeded_random() -> None:
    policy = RetryPolicy()
    first = [policy.delay_after(n, random.Random(42)) for n in range(1, 21)]
    second = [policy.delay_after(n, random.Random(42)) for n in range(1, 21)]
    assert first == second


def test_extremes_are_half_the_ceiling_and_the_ceiling() -> None:
    policy = RetryPolicy()
    for attempts in range(1, 25):
        assert policy.delay_after(attempts, SHORTEST) == pytest.approx(ceiling(policy, attempts) / 2)
        assert policy.delay_after(attempts, LONGEST) == pytest.approx(ceiling(policy, attempts))


def test_first_retry_waits_between_half_base_and_base() -> None:
    policy = RetryPolicy()
    assert policy.delay_after(1, SHORTEST) == pytest.approx(policy.base_seconds / 2)
    assert policy.delay_after(1, LONGEST) == pytest.approx(policy.base_seconds)


def test_delay_grows_with_attempts_until_the_cap() -> None:
    policy = RetryPolicy()
    shortest = [policy.delay_after(n, SHORTEST) for n in range(1, 30)]
    assert shortest == sorted(shortest)
    capped_from = next(n for n in range(1, 30) if ceiling(policy, n) == policy.max_delay_seconds)
    for n in range(1, capped_from - 1):
        assert policy.delay_after(n + 1, SHORTEST) == pytest.approx(policy.factor * policy.delay_after(n, SHORTEST))
    # With jitter of half the ceiling, a later attempt never waits less than any earlier one could.
    rng = random.Random(3)
    for n in range(1, capped_from - 1):
        assert policy.delay_after(n + 1, rng) >= policy.delay_after(n, rng)


def test_delay_is_capped_at_max_delay() -> None:
    policy = RetryPolicy()
    rng = random.Random(11)
    for attempts in (12, 20, 50, 100, 500):
        delay = policy.delay_after(attempts, rng)
        assert policy.max_delay_seconds / 2 <= delay <= policy.max_delay_seconds
    assert policy.delay_after(100, LONGEST) == pytest.approx(policy.max_delay_seconds)


def test_delay_is_capped_even_for_huge_attempt_counts() -> None:
    """A policy with many attempts (or a runaway counter) must still get the cap, not an OverflowError
    from ``factor ** (attempts - 1)``."""
    policy = RetryPolicy(max_attempts=5_000)
    for attempts in (1_100, 5_000):
        assert policy.max_delay_seconds / 2 <= policy.delay_after(attempts, random.Random(1)) \
            <= policy.max_delay_seconds


def test_defaults_give_up_after_two_days() -> None:
    assert RetryPolicy().give_up_after_seconds == TWO_DAYS


def test_default_policy_retries_for_about_two_days_even_with_the_shortest_delays() -> None:
    """DESIGN.md section 3 and the RetryPolicy docstring: deliveries are retried "for about two days".

    A job stops at whichever comes first: max_attempts runs, or give_up_after_seconds. So that the
    two-day clock (not an early run-out of attempts) decides, the waits before the last attempt must add up
    to about two days even when jitter picks the shortest delay every time. "About" is taken as at least
    90% of two days (43.2 h)."""
    policy = RetryPolicy()
    shortest_total = sum(retry_waits(policy, SHORTEST))
    assert shortest_total >= 0.9 * TWO_DAYS, (
        f"with {policy.max_attempts} attempts the shortest waits add up to only "
        f"{shortest_total / 3600:.1f} h before the job goes dead, not about {TWO_DAYS / 3600:.0f} h")


def test_default_policy_retries_for_about_two_days_on_average() -> None:
    """With typical (seeded) jitter a job is retried for about two days: the waits run past the give-up
    time, which then ends the retries."""
    policy = RetryPolicy()
    rng = random.Random(2024)
    windows = [min(sum(retry_waits(policy, rng)), policy.give_up_after_seconds) for _ in range(500)]
    average = sum(windows) / len(windows)
    assert 0.9 * TWO_DAYS <= average <= TWO_DAYS, f"{average / 3600:.1f} h"
    # The delay cap keeps every single wait well under the give-up time.
    assert max(retry_waits(policy, LONGEST)) <= policy.give_up_after_seconds / 4
