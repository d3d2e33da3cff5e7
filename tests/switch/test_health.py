"""`RouteHealth`: when a switched route rolls back by itself, and what an admin sees of it.

Time comes from a fake clock. With the default 60s window, a bucket is 6s long; the clock starts at
600s, the start of a bucket, so "ages out after 60s" is exact.
"""

from __future__ import annotations

import math
from typing import Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.switch.health import RouteHealth, Side, Thresholds


class FakeClock:
    def __init__(self, now: float = 600.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def health_of(clock: FakeClock, **thresholds: float | int | None) -> RouteHealth:
    return RouteHealth(Thresholds(**thresholds), clock=clock)  # type: ignore[arg-type]


def feed(health: RouteHealth, side: Side, count: int, *, status: int = 200, duration: float = 0.050) -> None:
    for _ in range(count):
        health.record(side, status, duration)


def compare(health: RouteHealth, *, matched: int, mismatched: int) -> None:
    for _ in range(matched):
        health.record_comparison(False)
    for _ in range(mismatched):
        health.record_comparison(True)


# -- the 5xx rate ---------------------------------------------------------------------------------


def test_no_verdict_below_min_requests() -> None:
    health = health_of(FakeClock())
    feed(health, "new", 19, status=500)
    assert health.verdict() is None
    feed(health, "new", 1, status=503)
    assert health.verdict() == "new side answered 5xx to 100% of requests (20 of 20) in the last 60s; the limit is 5%"


def test_error_rate_verdict() -> None:
    health = health_of(FakeClock())
    feed(health, "new", 44)
    feed(health, "new", 3, status=500)
    feed(health, "new", 3, status=599)
    feed(health, "new", 10, status=404)  # a 4xx is the client's problem
    feed(health, "legacy", 50, status=500)  # so is a broken legacy side: it is not what rolls back
    assert health.verdict() == "new side answered 5xx to 10% of requests (6 of 60) in the last 60s; the limit is 5%"


def test_error_rate_at_the_limit_is_no_verdict() -> None:
    health = health_of(FakeClock())
    feed(health, "new", 95)
    feed(health, "new", 5, status=500)
    assert health.verdict() is None


def test_small_shares_keep_enough_digits() -> None:
    health = health_of(FakeClock(), error_rate=0.004, window=0.5)
    feed(health, "new", 199)
    feed(health, "new", 1, status=502)
    assert health.verdict() == (
        "new side answered 5xx to 0.5% of requests (1 of 200) in the last 0.5s; the limit is 0.4%"
    )


def test_a_share_just_over_the_limit_does_not_read_as_the_limit() -> None:
    health = health_of(FakeClock(), error_rate=0.125)
    feed(health, "new", 2185)
    feed(health, "new", 315, status=500)
    assert health.verdict() == (
        "new side answered 5xx to 13% of requests (315 of 2500) in the last 60s; the limit is 12.5%"
    )
    health = health_of(FakeClock())
    feed(health, "new", 1187)
    feed(health, "new", 63, status=500)  # 5.04% rounds to "5%", the limit
    assert health.verdict() == (
        "new side answered 5xx to 5.04% of requests (63 of 1250) in the last 60s; the limit is 5%"
    )


def test_errors_age_out_of_the_window() -> None:
    clock = FakeClock()
    health = health_of(clock)
    feed(health, "new", 10, status=500)
    clock.now += 30
    feed(health, "new", 40)
    assert health.verdict() is not None

    clock.now = 659.9  # 59.9s after the errors: their bucket is the oldest of the window
    assert health.snapshot()["new"]["errors"] == 10
    clock.now = 660.0  # 60s: it has left the window
    assert health.snapshot()["new"] == {"requests": 40, "errors": 0, "p50": 0.050, "p99": 0.050}
    assert health.verdict() is None

    clock.now += 60
    assert health.snapshot()["new"] == {"requests": 0, "errors": 0, "p50": None, "p99": None}
    feed(health, "new", 20, status=500)  # an old bucket of the ring is reused, without its old figures
    assert health.snapshot()["new"]["requests"] == 20


# -- latency --------------------------------------------------------------------------------------


def test_latency_verdict_against_the_legacy_side_in_the_window() -> None:
    health = health_of(FakeClock())
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 49, duration=0.050)
    feed(health, "new", 1, duration=0.412)  # the p99 of 50 is the 50th
    assert health.verdict() == (
        "new side p99 latency 0.412s is 4.1x the legacy side's 0.100s in the last 60s; the limit is 3.0x"
    )


def test_latency_under_the_ratio_is_no_verdict() -> None:
    health = health_of(FakeClock())
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 50, duration=0.300)
    assert health.verdict() is None


def test_a_ratio_just_over_the_limit_does_not_read_as_the_limit() -> None:
    health = health_of(FakeClock())
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 50, duration=0.304)
    assert health.verdict() == (
        "new side p99 latency 0.304s is 3.04x the legacy side's 0.100s in the last 60s; the limit is 3.0x"
    )
    health = health_of(FakeClock(), p99_ratio=2.25)
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 50, duration=0.226)
    assert health.verdict() == (
        "new side p99 latency 0.226s is 2.3x the legacy side's 0.100s in the last 60s; the limit is 2.25x"
    )


def test_latency_verdict_with_the_remembered_legacy_p99() -> None:
    clock = FakeClock()
    health = health_of(clock)
    feed(health, "legacy", 50, duration=0.100)
    assert health.verdict() is None  # the switchboard asks often: this is when the legacy p99 is measured
    clock.now += 120  # the route has been fully on the new side for longer than the window
    feed(health, "new", 50, duration=0.412)
    assert health.snapshot()["legacy"]["requests"] == 0
    assert health.snapshot()["legacy_p99_known"] == 0.100
    assert health.verdict() == (
        "new side p99 latency 0.412s in the last 60s is 4.1x the legacy side's 0.100s (its last known p99);"
        " the limit is 3.0x"
    )


def test_no_latency_verdict_without_any_legacy_p99() -> None:
    clock = FakeClock()
    health = health_of(clock)
    feed(health, "legacy", 19, duration=0.001)  # too few to measure a p99
    assert health.verdict() is None
    feed(health, "new", 50, duration=5.0)
    assert health.verdict() is None
    assert health.snapshot()["legacy_p99_known"] is None


def test_no_latency_verdict_under_p99_slack() -> None:
    health = health_of(FakeClock())
    feed(health, "legacy", 50, duration=0.001)
    feed(health, "new", 50, duration=0.009)  # 9x slower, but only by 8ms
    assert health.verdict() is None
    feed(health, "new", 50, duration=0.012)  # the p99 is now 12ms: 11ms more than the legacy side's
    assert health.verdict() == (
        "new side p99 latency 0.012s is 12.0x the legacy side's 0.001s in the last 60s; the limit is 3.0x"
    )


def test_latency_against_a_legacy_side_too_fast_to_measure() -> None:
    health = health_of(FakeClock(), p99_slack=0)
    feed(health, "legacy", 50, duration=0.0)  # a coarse clock (Windows) reads 0 for a fast request
    feed(health, "new", 50, duration=0.0004)
    assert health.verdict() == (
        "new side p99 latency 0.0004s is above the legacy side's 0s in the last 60s; the limit is 3.0x"
    )


def test_a_burst_in_one_bucket_weighs_as_many_requests_as_it_had() -> None:
    clock = FakeClock()
    health = health_of(clock)
    feed(health, "new", 1000, duration=0.010)  # only 256 of these are kept...
    clock.now += 6
    feed(health, "new", 10, duration=0.500)  # ... but they stand for 1000, and these are under 1% of 1010
    figures = health.snapshot()["new"]
    assert (figures["requests"], figures["p50"], figures["p99"]) == (1010, 0.010, 0.010)
    feed(health, "new", 1, duration=0.500)  # 11 of 1011 is over 1%
    assert health.snapshot()["new"]["p99"] == 0.500


def test_reservoir_keeps_memory_bounded() -> None:
    health = health_of(FakeClock())
    for i in range(100_000):
        health.record("new", 200, i / 100_000)
        health.record("legacy", 500, 0.5)
    assert max(len(tally.sample) for bucket in health._ring for tally in bucket.sides.values()) == 256
    figures = health.snapshot()
    assert figures["legacy"] == {"requests": 100_000, "errors": 100_000, "p50": 0.5, "p99": 0.5}
    new = figures["new"]
    assert (new["requests"], new["errors"]) == (100_000, 0)
    # 256 uniform draws from [0, 1): the median is 0.5 within 6 standard deviations (0.031 each).
    assert abs(new["p50"] - 0.5) < 0.2
    assert new["p99"] > 0.9


# -- shadow comparisons ---------------------------------------------------------------------------


def test_mismatch_verdict() -> None:
    health = health_of(FakeClock(), mismatch_rate=0.1)
    compare(health, matched=35, mismatched=15)
    assert health.verdict() == (
        "shadow responses differed from the legacy side's in 30% of comparisons (15 of 50) in the last 60s;"
        " the limit is 10%"
    )


def test_mismatches_under_the_limit_or_too_few_are_no_verdict() -> None:
    health = health_of(FakeClock(), mismatch_rate=0.1)
    compare(health, matched=0, mismatched=19)
    assert health.verdict() is None
    health.reset()
    compare(health, matched=45, mismatched=5)
    assert health.verdict() is None


# -- all checks -----------------------------------------------------------------------------------


def test_checks_run_in_order() -> None:
    clock = FakeClock()
    health = health_of(clock, mismatch_rate=0.1)
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 50, status=500, duration=1.0)
    compare(health, matched=0, mismatched=50)
    assert str(health.verdict()).startswith("new side answered 5xx")
    feed(health, "new", 5000, duration=1.0)  # the 5xx are now under 1%
    assert str(health.verdict()).startswith("new side p99 latency")
    clock.now += 60
    feed(health, "new", 50, duration=0.100)  # as fast as the legacy side was
    compare(health, matched=0, mismatched=50)
    assert str(health.verdict()).startswith("shadow responses differed")


def test_disabled_checks_never_fire() -> None:
    health = health_of(FakeClock(), error_rate=None, p99_ratio=None, mismatch_rate=None, min_requests=1)
    feed(health, "legacy", 50, duration=0.001)
    feed(health, "new", 50, status=500, duration=10.0)
    compare(health, matched=0, mismatched=50)
    assert health.verdict() is None


def test_reset_forgets_everything() -> None:
    clock = FakeClock()
    health = health_of(clock, mismatch_rate=0.1)
    feed(health, "legacy", 50, duration=0.100)
    feed(health, "new", 50, status=500)
    compare(health, matched=0, mismatched=50)
    assert health.verdict() is not None
    health.reset()
    assert health.verdict() is None
    empty = {"requests": 0, "errors": 0, "p50": None, "p99": None}
    assert health.snapshot() == {
        "window": 60.0,
        "legacy": empty,
        "new": empty,
        "comparisons": 0,
        "mismatches": 0,
        "legacy_p99_known": None,
    }
    feed(health, "new", 50, duration=0.412)  # no legacy p99 to compare with any more
    assert health.verdict() is None


def test_snapshot() -> None:
    health = RouteHealth(Thresholds(window=30, min_requests=3), clock=FakeClock())
    for duration in (0.4, 0.1, 0.3, 0.2):
        health.record("legacy", 200, duration)
    health.record("new", 502, 0.05)
    compare(health, matched=2, mismatched=1)
    assert health.snapshot() == {
        "window": 30.0,
        "legacy": {"requests": 4, "errors": 0, "p50": 0.2, "p99": 0.4},
        "new": {"requests": 1, "errors": 1, "p50": 0.05, "p99": 0.05},
        "comparisons": 3,
        "mismatches": 1,
        "legacy_p99_known": 0.4,
    }


# -- thresholds -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("error_rate", 0.0, "Thresholds.error_rate must be in (0, 1], or None, not 0.0"),
        ("error_rate", 1.5, "Thresholds.error_rate must be in (0, 1], or None, not 1.5"),
        ("error_rate", math.nan, "Thresholds.error_rate must be in (0, 1], or None, not nan"),
        ("mismatch_rate", -0.1, "Thresholds.mismatch_rate must be in (0, 1], or None, not -0.1"),
        ("p99_ratio", 0.5, "Thresholds.p99_ratio must be >= 1, or None, not 0.5"),
        ("p99_slack", -0.001, "Thresholds.p99_slack must be seconds >= 0, not -0.001"),
        ("window", 0, "Thresholds.window must be seconds > 0 (and finite), not 0"),
        ("window", math.inf, "Thresholds.window must be seconds > 0 (and finite), not inf"),
        ("min_requests", 0, "Thresholds.min_requests must be an integer >= 1, not 0"),
        ("min_requests", 2.5, "Thresholds.min_requests must be an integer >= 1, not 2.5"),
    ],
)
def test_thresholds_validation(field: str, value: float, message: str) -> None:
    with pytest.raises(ValueError) as caught:
        Thresholds(**{field: value})  # type: ignore[arg-type]
    assert str(caught.value) == message


def test_thresholds_at_the_edges_are_valid() -> None:
    Thresholds(error_rate=1, p99_ratio=1, p99_slack=0, mismatch_rate=1, window=0.001, min_requests=1)
    Thresholds(error_rate=None, p99_ratio=None)


# -- the window, against a brute-force count -------------------------------------------------------

Kind = Literal["legacy", "new", "comparison", "idle"]
record_strategy = st.tuples(
    st.floats(min_value=0, max_value=8, allow_nan=False),  # seconds since the record before
    st.sampled_from(["legacy", "new", "comparison", "idle"]),  # idle: time passes, nothing is recorded
    st.sampled_from([200, 404, 499, 500, 503, 599, 600]),  # a comparison mismatched when this is 5xx
)


@settings(max_examples=200, deadline=None)
@given(
    start=st.floats(min_value=0, max_value=1e6, allow_nan=False),
    window=st.sampled_from([0.3, 10.0, 60.0]),
    records=st.lists(record_strategy, max_size=60),
)
def test_window_figures_match_a_brute_force_count(
    start: float, window: float, records: list[tuple[float, Kind, int]]
) -> None:
    # The window is the bucket of `now` and the nine before it, a bucket being window / 10 seconds
    # counted from the clock's zero: a record made at `t` counts while
    # floor(t / (window / 10)) > floor(now / (window / 10)) - 10.
    clock = FakeClock(start)
    health = RouteHealth(Thresholds(window=window), clock=clock)
    width = window / 10
    history: list[tuple[float, Kind, bool]] = []
    for step, kind, status in records:
        clock.now += step * window / 10
        bad = 500 <= status <= 599
        if kind == "comparison":
            health.record_comparison(bad)
        elif kind != "idle":
            health.record(kind, status, 0.01)
        history.append((clock.now, kind, bad))

        oldest = math.floor(clock.now / width) - 10
        live = [(what, was_bad) for t, what, was_bad in history if math.floor(t / width) > oldest]
        figures = health.snapshot()
        for side in ("legacy", "new"):
            assert figures[side]["requests"] == sum(1 for what, _ in live if what == side)
            assert figures[side]["errors"] == sum(1 for what, was_bad in live if what == side and was_bad)
        assert figures["comparisons"] == sum(1 for what, _ in live if what == "comparison")
        assert figures["mismatches"] == sum(1 for what, was_bad in live if what == "comparison" and was_bad)


def _brute_percentile(buckets: list[tuple[int, list[float]]], percent: int) -> float | None:
    """Every kept duration with its bucket's weight, sorted; the first at which the weight reaches `percent`."""
    weighted = sorted((d, requests / len(sample)) for requests, sample in buckets if sample for d in sample)
    if not weighted:
        return None
    total = sum(weight for _, weight in weighted)
    rank = total * percent / 100 - total * 1e-9
    counted = 0.0
    for duration, weight in weighted:
        counted += weight
        if counted >= rank:
            return duration
    return weighted[-1][0]


@settings(max_examples=300, deadline=None)
@given(
    buckets=st.lists(
        st.lists(st.sampled_from([0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1.0]), max_size=40),
        max_size=10,
    ),
    extra=st.lists(st.integers(min_value=0, max_value=300), min_size=10, max_size=10),
    percent=st.sampled_from([1, 25, 50, 51, 90, 99, 100]),
)
def test_percentiles_match_a_brute_force_sort(buckets: list[list[float]], extra: list[int], percent: int) -> None:
    # Each bucket's requests may outnumber its kept durations (the reservoir keeps 256): a kept
    # duration then stands for several requests, and the buckets weigh differently.
    clock = FakeClock()
    health = RouteHealth(Thresholds(), clock=clock)
    expected: list[tuple[int, list[float]]] = []
    for durations, more in zip(buckets, extra, strict=False):
        for duration in durations:
            health.record("new", 200, duration)
        health._bucket().sides["new"].requests += more if durations else 0
        expected.append((len(durations) + (more if durations else 0), durations))
        clock.now += 6.0  # the next bucket
    clock.now -= 6.0
    window = health._window().new
    assert window.percentile(percent) == _brute_percentile(expected, percent)
