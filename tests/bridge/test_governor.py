from __future__ import annotations

import sys
import threading
import time
from collections.abc import Iterable

import pytest
from starlette.responses import PlainTextResponse

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.bridge.governor import (
    CALM_PERIODS,
    FAST_SWITCH,
    MAX_REST,
    PERIOD,
    REST_FACTOR,
    TARGET_LAG,
    Gate,
    Governor,
)
from turnout.testing import client

LAGGING = TARGET_LAG * 2
CALM = 0.0


class Others:
    """How many requests the app served: one more (someone else's) at each call."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self) -> int:
        self.count += 1
        return self.count


def test_a_mount_that_computes_is_halved_while_the_loop_lags() -> None:
    hog, waiter = Gate("hog", 8), Gate("waiter", 8)
    others = Others()
    governor = Governor([hog, waiter], served=others)
    hog.cpu_seconds += PERIOD  # a whole core for the period
    waiter.cpu_seconds += PERIOD * 0.01  # waits on I/O
    governor.adjust(lag=LAGGING, elapsed=PERIOD)
    assert (hog.limit, waiter.limit) == (4, 8)
    for _ in range(5):
        hog.cpu_seconds += PERIOD
        others.count += 1
        governor.adjust(lag=LAGGING, elapsed=PERIOD)
    assert hog.limit == 1  # never below one


def test_a_mount_alone_is_never_throttled() -> None:
    hog = Gate("hog", 8)
    governor = Governor([hog])  # no other request served: nothing to make room for
    hog.enter()
    hog.leave(0.0)
    hog.cpu_seconds += PERIOD
    governor.adjust(lag=LAGGING, elapsed=PERIOD)
    assert hog.limit == 8 and not hog.cooling


def test_gates_open_again_one_by_one_once_the_loop_is_calm() -> None:
    gate = Gate("hog", 4)
    gate.set_limit(1)
    governor = Governor([gate], served=Others())
    for _ in range(CALM_PERIODS - 1):
        governor.adjust(lag=CALM, elapsed=PERIOD)
    assert gate.limit == 1
    governor.adjust(lag=CALM, elapsed=PERIOD)
    assert gate.limit == 2
    for _ in range(CALM_PERIODS * 5):
        governor.adjust(lag=CALM, elapsed=PERIOD)
    assert gate.limit == 4  # never above the mount's threads


def test_a_thread_waits_at_a_closed_gate_until_another_leaves() -> None:
    gate = Gate("m", 1)
    gate.enter()
    entered = threading.Event()

    def second() -> None:
        gate.enter()
        entered.set()
        gate.leave(0.0)

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.1)
    gate.leave(0.5)
    assert entered.wait(2)
    thread.join(2)
    assert gate.running == 0 and gate.cpu_seconds == 0.5


def spin(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    end = time.thread_time() + 0.01  # 10 ms of this thread's CPU time, however busy the machine
    while time.thread_time() < end:
        pass
    start_response("200 OK", [])
    return [b"spun"]


@pytest.mark.anyio
async def test_the_governor_runs_with_the_lifespan_and_counts_cpu_time() -> None:
    app = Turnout()
    mount = app.mount_wsgi("/", spin, name="cpu", threads=4)
    gate = mount.gateway.gate
    async with client(app) as http:
        for _ in range(3):
            assert (await http.get("/")).text == "spun"
        gate.set_limit(1)
    assert gate.cpu_seconds > 0.02
    assert gate.limit == 4  # opened again at shutdown


def test_a_throttled_mount_cools_down_and_the_switch_interval_shortens_until_calm() -> None:
    before = sys.getswitchinterval()
    hog = Gate("hog", 2)
    others = Others()
    governor = Governor([hog], served=others)
    try:
        hog.cpu_seconds += PERIOD
        governor.adjust(lag=LAGGING, elapsed=PERIOD)
        assert hog.cooling and sys.getswitchinterval() == min(before, FAST_SWITCH)
        hog.enter()
        started = time.monotonic()
        hog.leave(0.05)  # a request that computed for 50 ms rests as long
        assert time.monotonic() - started >= 0.045
        for _ in range(CALM_PERIODS):
            governor.adjust(lag=CALM, elapsed=PERIOD)
        assert not hog.cooling and sys.getswitchinterval() == before
    finally:
        sys.setswitchinterval(before)


def test_a_mount_is_throttled_to_make_room_for_another_mount() -> None:
    hog, other = Gate("hog", 8), Gate("other", 8)
    governor = Governor([hog, other])  # no new route served: only the other mount's requests
    hog.cpu_seconds += PERIOD
    other.enter()
    other.leave(0.0)
    governor.adjust(lag=LAGGING, elapsed=PERIOD)
    assert hog.limit == 4 and other.limit == 8


@pytest.mark.anyio
async def test_legacy_requests_alone_do_not_count_as_others() -> None:
    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"legacy"]

    async def new(request: object) -> PlainTextResponse:
        return PlainTextResponse("new")

    app = Turnout()
    app.mount_wsgi("/", legacy, name="legacy")
    app.add_route("/new", new, methods=["GET"])
    async with client(app) as http:
        for _ in range(5):
            assert (await http.get("/old")).text == "legacy"
        assert app.router.served == 0  # the gate counts these: a mount alone is never throttled
        assert (await http.get("/new")).text == "new"
        assert app.router.served == 1


def test_a_cooling_mount_rests_longer_than_it_computed_so_the_loop_gets_most_of_the_core(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rests: list[float] = []
    monkeypatch.setattr("turnout.bridge.governor.time.sleep", rests.append)
    gate = Gate("busy", 4)
    gate.enter()
    gate.leave(0.010)  # not cooling: no rest
    gate.cooling = True
    for computed in (0.010, 0.050, 1.0):
        gate.enter()
        gate.leave(computed)
    assert rests == [pytest.approx(0.010 * REST_FACTOR), pytest.approx(0.050 * REST_FACTOR), MAX_REST]
    assert REST_FACTOR > 1  # the mount gets less than half of a core while it cools
    assert gate.running == 0 and gate.cpu_seconds == pytest.approx(1.070)
