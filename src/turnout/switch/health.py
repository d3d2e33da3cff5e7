"""Automatic rollback: is the new side of a switched route healthy enough to keep its traffic?

A route moved from the legacy side to the new side should go back by itself when the new side
misbehaves: it answers 5xx too often, it is much slower than the legacy side, or (in shadow mode)
its answers differ from the legacy side's. `RouteHealth` keeps one route's figures over a sliding
window, and `verdict()` says whether, and why, to roll back. The module is pure: no I/O, no
asyncio, time only from the `clock` it is given. The switchboard decides what a verdict does.

`record()` runs on the event loop for every request of a switched route, so its cost and memory
are bounded. The window is a ring of ten buckets, each `window / 10` seconds long. Each keeps
counts and at most 256 durations per side (a reservoir sample). Percentiles are computed only when
asked for. Hence "the last 60s" means the current bucket and the nine before it: a record counts
from the moment it is made until its bucket is ten buckets old, i.e. for 54 to 60 seconds.
"""

from __future__ import annotations

import heapq
import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import repeat
from typing import Any, Literal

__all__ = ["RouteHealth", "Side", "Thresholds"]

Side = Literal["legacy", "new"]

_BUCKETS = 10
_SAMPLE_SIZE = 256
_NEVER = -(2**63)  # the epoch of a bucket never used: older than any window


@dataclass(frozen=True, slots=True)
class Thresholds:
    """When a route rolls back to the legacy side. `None` turns a check off.

    - `error_rate`: share of the new side's responses that are 5xx;
    - `p99_ratio`: the new side's p99 latency over the legacy side's; the new p99 must also exceed
      the legacy one by `p99_slack` seconds, so that microsecond noise does not count;
    - `mismatch_rate`: share of shadow comparisons that differed;
    - `window`: seconds of history that count;
    - `min_requests`: with fewer samples than this in the window, a check does not judge.

    ```python
    Thresholds(error_rate=0.02, mismatch_rate=0.01, window=30)
    ```
    """

    error_rate: float | None = 0.05
    p99_ratio: float | None = 3.0
    p99_slack: float = 0.010
    mismatch_rate: float | None = None
    window: float = 60.0
    min_requests: int = 20

    def __post_init__(self) -> None:
        errors, ratio, mismatches, least = self.error_rate, self.p99_ratio, self.mismatch_rate, self.min_requests
        checks = [
            ("error_rate", errors, errors is None or 0 < errors <= 1, "in (0, 1], or None"),
            ("p99_ratio", ratio, ratio is None or ratio >= 1, ">= 1, or None"),
            ("p99_slack", self.p99_slack, self.p99_slack >= 0, "seconds >= 0"),
            ("mismatch_rate", mismatches, mismatches is None or 0 < mismatches <= 1, "in (0, 1], or None"),
            ("window", self.window, 0 < self.window < math.inf, "seconds > 0 (and finite)"),
            ("min_requests", least, isinstance(least, int) and least >= 1, "an integer >= 1"),
        ]
        for name, value, valid, allowed in checks:
            if not valid:  # NaN fails every comparison, so it lands here too
                raise ValueError(f"Thresholds.{name} must be {allowed}, not {value!r}")


class _Tally:
    """One side's figures in one bucket."""

    __slots__ = ("requests", "errors", "sample", "_sorted")

    def __init__(self) -> None:
        self.requests = 0
        self.errors = 0
        self.sample: list[float] = []
        self._sorted: list[float] | None = None

    def add(self, duration: float, chance: random.Random) -> None:
        if len(self.sample) < _SAMPLE_SIZE:
            self.sample.append(duration)
        else:
            # Reservoir sampling: the n-th duration takes a random place with probability 256 / n,
            # so the sample stays a uniform draw from every duration of the bucket.
            place = chance.randrange(self.requests)
            if place >= _SAMPLE_SIZE:
                return
            self.sample[place] = duration
        self._sorted = None

    def clear(self) -> None:
        self.requests = self.errors = 0
        self.sample.clear()
        self._sorted = None

    def ordered(self) -> list[float]:
        """The sample, sorted; kept until the next change, so a bucket past its time is sorted once."""
        if self._sorted is None:
            self._sorted = sorted(self.sample)
        return self._sorted


class _Bucket:
    """The figures of `window / 10` seconds: number `epoch` since the clock's zero."""

    __slots__ = ("epoch", "sides", "comparisons", "mismatches")

    def __init__(self) -> None:
        self.sides: dict[Side, _Tally] = {"legacy": _Tally(), "new": _Tally()}
        self.clear(_NEVER)

    def clear(self, epoch: int) -> None:
        self.epoch = epoch
        self.comparisons = 0
        self.mismatches = 0
        for tally in self.sides.values():
            tally.clear()


class _SideWindow:
    """One side's figures over the buckets of the window.

    A percentile walks the buckets' sorted samples, merged, down from the top: the p99 reads the
    top hundredth of the durations, not all of them. Sorting and walking everything took about
    4 ms with full buckets, a stall of the event loop every `VERDICT_EVERY` on a busy route.
    """

    def __init__(self, tallies: list[_Tally]) -> None:
        self.requests = sum(tally.requests for tally in tallies)
        self.errors = sum(tally.errors for tally in tallies)
        # A kept duration stands for requests / len(sample) of its bucket's requests: without that
        # weight, a burst in one bucket would count no more than 256 requests of a quiet one.
        self._parts = [(tally.ordered(), tally.requests / len(tally.sample)) for tally in tallies if tally.sample]
        self._total = sum(weight * len(durations) for durations, weight in self._parts)

    def percentile(self, percent: int) -> float | None:
        """The nearest-rank percentile of the durations (weighted), or `None` without any.

        The first duration, in ascending order, at which the weight counted reaches `percent`:
        walking down from the top, the lowest one with at most `total - rank` of weight above it.
        """
        if not self._parts:
            return None
        total = self._total
        # The slack keeps an exact rank (the 99th of 100) from being missed by float rounding.
        room = total - (total * percent / 100 - total * 1e-9)
        above = 0.0
        answer = math.inf
        descending = (zip(reversed(durations), repeat(weight)) for durations, weight in self._parts)
        for duration, weight in heapq.merge(*descending, reverse=True):
            if above > room:
                break
            answer = duration
            above += weight
        return answer

    def snapshot(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "p50": self.percentile(50),
            "p99": self.percentile(99),
        }


@dataclass(frozen=True, slots=True)
class _Window:
    legacy: _SideWindow
    new: _SideWindow
    comparisons: int
    mismatches: int


class RouteHealth:
    """Sliding-window figures of one route's two sides, and the verdict of its thresholds.

    Not thread-safe: call it from the event loop only.

    ```python
    health = RouteHealth(Thresholds(error_rate=0.02))
    health.record("new", 503, 0.012)
    if (reason := health.verdict()) is not None:
        ...  # move the route back to the legacy side, and log `reason`
    ```
    """

    def __init__(self, thresholds: Thresholds, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.thresholds = thresholds
        self._clock = clock
        self._width = thresholds.window / _BUCKETS
        self._random = random.Random()
        self.reset()

    def reset(self) -> None:
        """Forget everything, the remembered legacy p99 included (the route moves forward again)."""
        self._ring = [_Bucket() for _ in range(_BUCKETS)]
        self._legacy_p99: float | None = None

    def record(self, side: Side, status: int, duration: float) -> None:
        """One response of `side`, with its status code and how long it took, in seconds."""
        tally = self._bucket().sides[side]
        tally.requests += 1
        if 500 <= status <= 599:
            tally.errors += 1
        tally.add(duration, self._random)

    def record_comparison(self, mismatched: bool) -> None:
        """One shadow comparison of the two sides' answers."""
        bucket = self._bucket()
        bucket.comparisons += 1
        bucket.mismatches += int(mismatched)

    def verdict(self) -> str | None:
        """The reason to roll back, or `None`; checks the 5xx rate, then latency, then mismatches."""
        limits = self.thresholds
        window = self._window()
        new = window.new
        within = f"in the last {_number(limits.window)}s"
        if limits.error_rate is not None and new.requests >= limits.min_requests:
            share = new.errors / new.requests
            if share > limits.error_rate:
                return (
                    f"new side answered 5xx to {_percent(share, limits.error_rate)} of requests"
                    f" ({new.errors} of {new.requests}) {within}; the limit is {_percent(limits.error_rate)}"
                )
        if limits.p99_ratio is not None and self._legacy_p99 is not None and new.requests >= limits.min_requests:
            legacy_p99, new_p99 = self._legacy_p99, new.percentile(99)
            assert new_p99 is not None  # a side with requests has a sample
            if new_p99 > limits.p99_ratio * legacy_p99 and new_p99 - legacy_p99 > limits.p99_slack:
                times = f"{_above(new_p99 / legacy_p99, limits.p99_ratio, 1)}x" if legacy_p99 > 0 else "above"
                latency = f"new side p99 latency {_seconds(new_p99)}"
                legacy = f"the legacy side's {_seconds(legacy_p99)}"
                limit = f"the limit is {_exact(limits.p99_ratio, 1)}x"
                if window.legacy.requests >= limits.min_requests:
                    return f"{latency} is {times} {legacy} {within}; {limit}"
                return f"{latency} {within} is {times} {legacy} (its last known p99); {limit}"
        if limits.mismatch_rate is not None and window.comparisons >= limits.min_requests:
            share = window.mismatches / window.comparisons
            if share > limits.mismatch_rate:
                return (
                    f"shadow responses differed from the legacy side's in {_percent(share, limits.mismatch_rate)}"
                    f" of comparisons ({window.mismatches} of {window.comparisons}) {within};"
                    f" the limit is {_percent(limits.mismatch_rate)}"
                )
        return None

    def snapshot(self) -> dict[str, Any]:
        """JSON-ready figures of the window, for an admin API."""
        window = self._window()
        return {
            "window": float(self.thresholds.window),
            "legacy": window.legacy.snapshot(),
            "new": window.new.snapshot(),
            "comparisons": window.comparisons,
            "mismatches": window.mismatches,
            "legacy_p99_known": self._legacy_p99,
        }

    def _epoch(self) -> int:
        return math.floor(self._clock() / self._width)

    def _bucket(self) -> _Bucket:
        epoch = self._epoch()
        bucket = self._ring[epoch % _BUCKETS]
        if bucket.epoch != epoch:  # its figures are older than the window: reuse it
            bucket.clear(epoch)
        return bucket

    def _window(self) -> _Window:
        now = self._epoch()
        live = [bucket for bucket in self._ring if now - _BUCKETS < bucket.epoch <= now]
        legacy = _SideWindow([bucket.sides["legacy"] for bucket in live])
        # Once a route is fully on the new side, the legacy side gets no traffic: the latency check
        # compares with the last legacy p99 measured on enough requests.
        if self.thresholds.p99_ratio is not None and legacy.requests >= self.thresholds.min_requests:
            self._legacy_p99 = legacy.percentile(99)
        return _Window(
            legacy=legacy,
            new=_SideWindow([bucket.sides["new"] for bucket in live]),
            comparisons=sum(bucket.comparisons for bucket in live),
            mismatches=sum(bucket.mismatches for bucket in live),
        )


def _number(value: float) -> str:
    """`60.0` as "60", `0.5` as "0.5"."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _seconds(value: float) -> str:
    return f"{value:.3f}s" if value >= 0.001 else f"{value:.2g}s"


def _exact(value: float, decimals: int) -> str:
    """A limit as the user wrote it: `decimals` places, or more (up to 6) when fewer would round it."""
    text = f"{value:.{decimals}f}"
    while not math.isclose(float(text), value, rel_tol=1e-9) and decimals < 6:
        decimals += 1
        text = f"{value:.{decimals}f}"
    return text


def _above(value: float, limit: float, decimals: int) -> str:
    """A figure over its limit: `decimals` places, or more (up to 6) when fewer would not show it above."""
    text = f"{value:.{decimals}f}"
    while float(text) <= limit and decimals < 6:
        decimals += 1
        text = f"{value:.{decimals}f}"
    return text


def _percent(share: float, limit: float | None = None) -> str:
    """A share as a percentage: whole from 10%, two significant digits below ("12%", "0.5%")."""
    percent = share * 100
    if limit is None:
        text = _exact(percent, 0)
    else:
        text = _above(percent, limit * 100, 0 if percent >= 10 else 1 - math.floor(math.log10(percent)))
    return f"{float(text):g}%"
