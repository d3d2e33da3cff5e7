"""Under `turnout serve`, every log line of a request carries its request id.

That is turnout's own lines, the access line, and the lines of the legacy app.
"""

from __future__ import annotations

import logging
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fixtures import write_config
from turnout.logs import RequestIdFilter
from turnout.middleware.request_id import request_id
from turnout.testing import free_port

APP = """
import logging
from flask import Flask

legacy = Flask(__name__)
log = logging.getLogger("legacy.views")

@legacy.get("/hello")
def hello():
    log.warning("legacy view ran")
    return "hello"
"""


def test_the_filter_adds_the_current_request_id() -> None:
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "message", None, None)
    assert RequestIdFilter().filter(record) and getattr(record, "request_id", None) == "-"
    token = request_id.set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id.reset(token)
    assert getattr(record, "request_id", None) == "abc123"


def test_one_request_id_follows_a_request_through_every_log_line(tmp_path: Path) -> None:
    (tmp_path / "logapp.py").write_text(APP)
    path = write_config(tmp_path, '[[wsgi]]\nprefix = "/"\napp = "logapp:legacy"\n')
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "turnout", "serve", str(path), "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/hello", headers={"X-Request-ID": "trace-42"})
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and proc.poll() is None
                time.sleep(0.1)
        assert response.headers["x-request-id"] == "trace-42"
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    lines = [line for line in output.splitlines() if "trace-42" in line]
    assert any("legacy.views: legacy view ran" in line and "[trace-42]" in line for line in lines), output
    assert any('"GET /hello" 200' in line and "id=trace-42" in line for line in lines), output
