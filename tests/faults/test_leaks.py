"""1,000 aborted streams and 1,000 aborted uploads leave the pool idle, close() called, and RSS flat."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.testing import run_server

ROUNDS = 1000


def rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")  # pragma: no cover


class Counting:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = 0
        self.closed = 0
        self.upload_errors = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ["REQUEST_METHOD"] == "POST":
            try:
                environ["wsgi.input"].read()
            except OSError:
                with self.lock:
                    self.upload_errors += 1
                raise
            start_response("200 OK", [])
            return [b"read"]
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        return self.stream()

    def stream(self) -> Iterator[bytes]:
        with self.lock:
            self.started += 1
        try:
            for _ in range(10_000):  # bounded
                yield b"x" * 16384
                time.sleep(0.001)
        finally:
            with self.lock:
                self.closed += 1


def abort_stream(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        sock.recv(1024)


def abort_upload(port: int) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + b"y" * 1000)


@pytest.mark.server
def test_aborted_streams_and_uploads_leak_nothing() -> None:
    app = Counting()
    turnout = Turnout()
    # A queue that never refuses: this test is about leaks, not budgets.
    mount = turnout.mount_wsgi("/", app, name="legacy", threads=8, queue=4 * ROUNDS, queue_timeout=60)
    with run_server(turnout) as base:
        port = int(base.rsplit(":", 1)[1])
        abort_stream(port)  # warm up before measuring
        before = rss_mib()
        with ThreadPoolExecutor(8) as clients:
            list(clients.map(abort_stream, [port] * ROUNDS))
            list(clients.map(abort_upload, [port] * ROUNDS))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if app.closed == app.started and mount.budget.running == 0 and app.upload_errors >= ROUNDS:
                break
            time.sleep(0.05)
        grown = rss_mib() - before
    assert app.started == ROUNDS + 1
    assert app.closed == app.started
    assert app.upload_errors == ROUNDS
    assert mount.budget.running == 0 and mount.budget.waiting == 0 and mount.budget.stuck == 0
    assert grown < 20, f"RSS grew by {grown:.1f} MiB"
