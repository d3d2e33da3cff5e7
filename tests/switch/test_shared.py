"""Switch states shared by the workers of `turnout serve --workers N`, through a file."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from turnout.routing.pattern import parse_starlette
from turnout.routing.table import RouteEntry, RouteSpec, RouteTable
from turnout.switch.board import Switchboard
from turnout.switch.health import Thresholds
from turnout.switch.options import SwitchOptions
from turnout.switch.shared import STATES_ENV, SharedStates
from turnout.switch.state import Setting
from turnout.testing import free_port


def _table() -> RouteTable:
    specs = []
    for name in ("a", "b"):
        pattern = f"/{name}/{{id:int}}"
        for side, endpoint in (("wsgi", name), ("asgi", f"{name}_v2")):
            entry = RouteEntry(
                pattern=pattern,
                methods=frozenset({"GET"}),
                side=side,  # type: ignore[arg-type]
                owner="shop" if side == "wsgi" else None,
                endpoint=endpoint,
            )
            specs.append(RouteSpec(entry, parse_starlette(pattern), None))
    return RouteTable(specs)


def _board() -> Switchboard:
    board = Switchboard()
    board.bind(_table())
    return board


@pytest.mark.anyio
async def test_a_change_in_one_worker_reaches_the_other(tmp_path: Path) -> None:
    path = tmp_path / "states.json"
    one, two = _board(), _board()
    async with SharedStates(one, path, interval=3600), SharedStates(two, path, interval=3600) as shared_two:
        one.set("a_v2", "canary 10%", who="alice", why="first users")
        assert two["a_v2"].setting == Setting("new")  # not yet: the other worker looks every interval
        shared_two.poll()
        assert two["a_v2"].setting == Setting("canary", 10)
        change = two.history[-1]
        assert (change.who, change.why) == ("alice (another worker)", "first users")
        # Taking a change does not write it back, nor take it twice.
        shared_two.poll()
        assert len(two.history) == 1
        assert json.loads(path.read_text())["a_v2"]["who"] == "alice"


@pytest.mark.anyio
async def test_changes_of_two_routes_in_two_workers_both_land(tmp_path: Path) -> None:
    path = tmp_path / "states.json"
    one, two = _board(), _board()
    async with (
        SharedStates(one, path, interval=3600) as shared_one,
        SharedStates(two, path, interval=3600) as shared_two,
    ):
        one.set("a_v2", "legacy", who="alice")
        two.set("b_v2", "shadow", who="bob")  # before it has read alice's change: the file merges
        shared_one.poll()
        shared_two.poll()
        for board in (one, two):
            assert board["a_v2"].setting == Setting("legacy")
            assert board["b_v2"].setting == Setting("shadow")


@pytest.mark.anyio
async def test_a_rollback_in_one_worker_holds_every_worker_back(tmp_path: Path) -> None:
    path = tmp_path / "states.json"
    clock = [0.0]
    one, two = Switchboard(clock=lambda: clock[0]), _board()
    one.declare("a_v2", SwitchOptions(rollback=Thresholds(error_rate=0.5, min_requests=2, p99_ratio=None)))
    one.bind(_table())
    async with SharedStates(one, path, interval=3600), SharedStates(two, path, interval=3600) as shared_two:
        switch = one["a_v2"]
        for _ in range(3):
            clock[0] += 1
            one.record(switch, "new", 500, 0.01)
        assert switch.setting == Setting("legacy") and switch.rolled_back is not None
        shared_two.poll()
        assert two["a_v2"].setting == Setting("legacy")
        assert two["a_v2"].rolled_back is not None
        # Moved forward again in the first worker: the second lets go too.
        one.set("a_v2", "new", who="alice", why="fixed")
        shared_two.poll()
        assert two["a_v2"].setting == Setting("new") and two["a_v2"].rolled_back is None


@pytest.mark.anyio
async def test_a_damaged_file_is_started_afresh(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "states.json"
    path.write_text("{not json")
    board = _board()
    async with SharedStates(board, path, interval=3600):
        board.set("b_v2", "legacy", who="alice")
    assert json.loads(path.read_text())["b_v2"]["setting"] == "legacy"
    assert "not JSON" in caplog.text


APP = """
from starlette.responses import PlainTextResponse

def legacy(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"legacy"]

async def new(request):
    return PlainTextResponse("new")
"""

CONFIG = """
[[wsgi]]
prefix = "/"
app = "pairapp:legacy"
name = "shop"

[[route]]
path = "/"
endpoint = "pairapp:new"
name = "home_v2"

[admin]
path = "/_turnout"

[[switch]]
route = "home_v2"
state = "legacy"
"""


@pytest.mark.server
def test_turnout_serve_with_two_workers_switches_them_both(tmp_path: Path) -> None:
    (tmp_path / "pairapp.py").write_text(APP)
    (tmp_path / "turnout.toml").write_text(CONFIG)
    token = "t" * 32
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k != STATES_ENV} | {"TURNOUT_ADMIN_TOKEN": token}
    process = subprocess.Popen(
        [sys.executable, "-m", "turnout", "serve", "turnout.toml", "--port", str(port), "--workers", "2"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, "turnout serve exited"
            try:
                if httpx.get(base + "/", timeout=1).text == "legacy":
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "turnout serve did not start"
            time.sleep(0.1)
        moved = httpx.put(
            base + "/_turnout/switches/home_v2",
            json={"state": "new", "who": "test", "why": "both workers"},
            headers={"Authorization": f"Bearer {token}"},
            timeout=5,
        )
        assert moved.status_code == 200
        time.sleep(1.5)  # three looks at the file
        # Each request on its own connection: the kernel spreads them over both workers.
        answers = {httpx.get(base + "/", headers={"Connection": "close"}, timeout=5).text for _ in range(40)}
        assert answers == {"new"}
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            _, err = process.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover
            os.killpg(process.pid, signal.SIGKILL)
            _, err = process.communicate(timeout=5)
    assert b"Traceback" not in err
