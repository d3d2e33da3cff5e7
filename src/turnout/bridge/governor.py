"""Keep CPU-bound legacy code from starving the event loop.

Python runs one thread at a time (the GIL). When legacy threads spin in Python, the event loop
waits for the GIL up to the switch interval (5 ms) each time it wants it, once per wake-up, so
a few busy legacy threads can cut a new route's throughput to a few percent (measured here:
0.02x of unloaded with ten threads spinning, 0.58x with one). How many legacy threads run Python
at once is the lever; the number of threads is not, because a thread that waits on a database
holds no GIL and costs the loop nothing.

So each WSGI mount has a gate, and a governor on the event loop sets how many requests each gate
lets run at once. Every `PERIOD` the governor measures the loop's lag (how late a timer fires).
When the lag passes `TARGET_LAG` (Python's default switch interval), it halves the gate of each
mount that used more than a `HOG_SHARE` of a core in CPU time since the last check, and marks it
as cooling: after each of its requests, its thread rests `REST_FACTOR` times as long as the
request computed (at most `MAX_REST`), holding the gate, so the mount uses at most 40% of a core
while the loop lags. While any mount is throttled, the switch interval is shortened to
`FAST_SWITCH`, so the loop gets the GIL back sooner each time it wakes. When the lag has stayed under half the target
for `CALM_PERIODS` checks in a row, every gate opens by one, up to the mount's `threads`, and
cooling stops. A mount that waits on I/O uses little CPU and is never throttled; a mount that
computes keeps at least one running request, and the loop gets the rest. A mount is throttled
only when other requests (new routes, other mounts) were served in the period: with no one else
to make room for, slowing it down would help nobody.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import time
from collections.abc import Callable, Sequence

logger = logging.getLogger("turnout.bridge")

PERIOD = 0.02
TARGET_LAG = 0.005
HOG_SHARE = 0.25
CALM_PERIODS = 5
MAX_REST = 0.1
# A cooling mount rests this many times as long as it computed: it then uses at most 1 / 2.5 of a
# core, and the loop the rest. At 1 (half each), the loop's share was eaten by the hand-offs of
# the GIL, and a native route kept 0.45x to 0.58x of its unloaded throughput.
REST_FACTOR = 1.5
FAST_SWITCH = 0.001


class Gate:
    """How many requests of one mount may run at once; threads past it wait their turn."""

    def __init__(self, name: str, limit: int) -> None:
        assert limit >= 1
        self.name = name
        self.ceiling = limit
        self.limit = limit
        self.running = 0
        self.cpu_seconds = 0.0  # CPU time used by the mount's requests, added by their threads
        self.cooling = False  # set by the governor: rest after each request as long as it computed
        self.requests = 0  # requests that entered the gate
        # The condition is only waited on when the gate is full: with room, `enter` and `leave`
        # take its lock directly, which saves a small request the Python of `Condition.__enter__`
        # and `notify`, and `notify` is called only while a thread waits.
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._waiting = 0

    def enter(self) -> None:
        """Wait for room, then count one more running request (called from the pool thread)."""
        with self._lock:
            if self.running >= self.limit:
                self._waiting += 1
                try:
                    while self.running >= self.limit:
                        self._cond.wait(PERIOD)
                finally:
                    self._waiting -= 1
            self.running += 1
            self.requests += 1

    def leave(self, cpu_seconds: float) -> None:
        if self.cooling and cpu_seconds > 0:
            time.sleep(min(cpu_seconds * REST_FACTOR, MAX_REST))  # still holding the slot: the loop gets the core
        with self._lock:
            self.running -= 1
            self.cpu_seconds += cpu_seconds
            if self._waiting:
                self._cond.notify()

    def set_limit(self, limit: int) -> None:
        with self._cond:
            self.limit = max(1, min(self.ceiling, limit))
            self._cond.notify_all()


class Governor:
    """Adjusts the gates of all WSGI mounts from the event loop's lag. Run with `async with`."""

    def __init__(self, gates: Sequence[Gate], served: Callable[[], int] = lambda: 0) -> None:
        self.gates = list(gates)
        self.served = served  # how many requests the new side has served (legacy ones are counted by the gates)
        self._switch = sys.getswitchinterval()
        self._served = served()
        self._entered = {id(gate): gate.requests for gate in self.gates}
        self._task: asyncio.Task[None] | None = None
        self._used = {id(gate): gate.cpu_seconds for gate in self.gates}
        self._calm = 0
        self.lag = 0.0  # the loop's lag at the last check: shadow calls are dropped while it is high

    async def __aenter__(self) -> Governor:
        if self.gates:
            self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        for gate in self.gates:
            gate.set_limit(gate.ceiling)
            gate.cooling = False
        sys.setswitchinterval(self._switch)

    async def _run(self) -> None:
        while True:
            started = time.monotonic()
            await asyncio.sleep(PERIOD)
            elapsed = time.monotonic() - started
            self.adjust(lag=elapsed - PERIOD, elapsed=elapsed)

    def adjust(self, *, lag: float, elapsed: float) -> None:
        """One step: throttle the mounts that compute when the loop lags, open the gates when it does not."""
        self.lag = lag
        self._calm = self._calm + 1 if lag < TARGET_LAG / 2 else 0
        served = self.served()
        served_here, self._served = served - self._served, served
        entered: dict[int, int] = {}
        for gate in self.gates:
            entered[id(gate)] = gate.requests - self._entered[id(gate)]
            self._entered[id(gate)] = gate.requests
        all_entered = sum(entered.values())
        for gate in self.gates:
            used = gate.cpu_seconds - self._used[id(gate)]
            self._used[id(gate)] = gate.cpu_seconds
            # Others: new routes served, or requests of other mounts that got a thread.
            others = served_here + all_entered - entered[id(gate)] > 0
            if lag > TARGET_LAG and used > HOG_SHARE * elapsed and others:
                if gate.limit > 1:
                    logger.debug("loop lag %.1f ms: mount %r runs %d at once", lag * 1000, gate.name, gate.limit // 2)
                gate.set_limit(gate.limit // 2)
                gate.cooling = True
            elif self._calm >= CALM_PERIODS or not others:
                gate.cooling = False
                if gate.limit < gate.ceiling:
                    gate.set_limit(gate.limit + 1)
        if self._calm >= CALM_PERIODS:
            self._calm = 0
        throttled = any(gate.cooling for gate in self.gates)
        sys.setswitchinterval(min(self._switch, FAST_SWITCH) if throttled else self._switch)
