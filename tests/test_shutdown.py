"""SIGTERM and SIGINT on `turnout serve`: in-flight requests finish, stuck ones do not hold the exit."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from turnout.testing import free_port

APP = """
import time

def legacy(environ, start_response):
    if environ["PATH_INFO"] == "/slow":
        time.sleep(1.0)
    elif environ["PATH_INFO"] == "/stuck":
        time.sleep(60)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [environ["PATH_INFO"].encode()]
"""

CONFIG = """
[app]
shutdown_grace = 2

[[wsgi]]
prefix = "/"
app = "slowapp:legacy"
name = "legacy"
"""


def wait_until_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited during start-up"
        try:
            httpx.get(base + "/up", timeout=1)
            return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise AssertionError("the server did not start")


@pytest.mark.server
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_shutdown_lets_requests_finish_and_exits_by_grace_plus_one_second(tmp_path: Path, sig: signal.Signals) -> None:
    (tmp_path / "slowapp.py").write_text(APP)
    (tmp_path / "turnout.toml").write_text(CONFIG)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "turnout", "serve", str(tmp_path / "turnout.toml"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    try:
        wait_until_up(base, proc)
        results: dict[str, object] = {}

        def get(path: str) -> None:
            try:
                results[path] = httpx.get(base + path, timeout=10).status_code
            except httpx.HTTPError as exc:
                results[path] = type(exc).__name__

        threads = [threading.Thread(target=get, args=(p,)) for p in ("/slow", "/stuck")]
        for thread in threads:
            thread.start()
        time.sleep(0.3)  # both requests are in flight
        signalled = time.monotonic()
        proc.send_signal(sig)
        time.sleep(0.3)
        with pytest.raises(httpx.ConnectError):
            httpx.get(base + "/new", timeout=2)
        proc.wait(timeout=10)
        took = time.monotonic() - signalled
        for thread in threads:
            thread.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert results["/slow"] == 200
    assert results["/stuck"] != 200
    assert took <= 2 + 1 + 0.5, f"exit took {took:.1f} s"
