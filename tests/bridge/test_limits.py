from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask, request, send_file
from flask import Response as FlaskResponse
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.bridge.body import BodyTooLarge
from turnout.bridge.files import FileWrapper
from turnout.testing import client, run_server


class Gate:
    """A legacy app whose `/slow` requests block until the test opens the gate (or 10 s pass)."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Semaphore(0)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/slow":
            self.entered.release()
            self.open.wait(10)
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [environ["PATH_INFO"].encode()]

    async def wait_entered(self, count: int = 1) -> None:
        for _ in range(count):
            assert await asyncio.to_thread(self.entered.acquire, True, 5)


async def native(request: Request) -> Response:
    return PlainTextResponse("native")


def gated(gate: Gate, **limits: float) -> Turnout:
    app = Turnout()
    app.mount_wsgi("/a", gate, name="a", **limits)  # type: ignore[arg-type]
    app.mount_wsgi("/b", Gate(), name="b", threads=1)
    app.add_route("/native", native)
    return app


@pytest.mark.anyio
async def test_a_full_queue_gets_a_503_at_once_and_other_routes_are_untouched() -> None:
    gate = Gate()
    app = gated(gate, threads=1, queue=0)
    async with client(app) as http:
        slow = asyncio.create_task(http.get("/a/slow"))
        await gate.wait_entered()
        started = time.monotonic()
        refused = await http.get("/a/fast")
        assert time.monotonic() - started < 2
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "5"
        assert refused.headers["x-served-by"] == "wsgi:a"
        assert (await http.get("/b/fast")).text == "/fast"
        assert (await http.get("/native")).text == "native"
        gate.open.set()
        assert (await slow).text == "/slow"


@pytest.mark.anyio
async def test_a_request_waits_in_the_queue_for_a_thread() -> None:
    gate = Gate()
    app = gated(gate, threads=1, queue=4)
    async with client(app) as http:
        slow = asyncio.create_task(http.get("/a/slow"))
        await gate.wait_entered()
        queued = asyncio.create_task(http.get("/a/fast"))
        await asyncio.sleep(0.1)
        assert app.wsgi_mounts[0].budget.waiting == 1
        assert not queued.done()
        gate.open.set()
        assert (await queued).text == "/fast"
        assert (await slow).status_code == 200
    assert app.wsgi_mounts[0].budget.running == 0


async def _queued_behind_slow(
    http: httpx.AsyncClient, gate: Gate
) -> tuple[asyncio.Task[httpx.Response], httpx.Response, float]:
    """Start `/a/slow` on the mount's one thread, then ask `/a/fast`: its answer, and how long it took."""
    slow = asyncio.create_task(http.get("/a/slow"))
    await gate.wait_entered()
    started = time.monotonic()
    answer = await http.get("/a/fast")
    return slow, answer, time.monotonic() - started


@pytest.mark.anyio
async def test_a_request_that_waits_past_the_queue_timeout_gets_a_503() -> None:
    gate = Gate()
    app = gated(gate, threads=1, queue=4, queue_timeout=0.2)
    async with client(app) as http:
        slow, refused, waited = await _queued_behind_slow(http, gate)
        assert refused.status_code == 503
        assert refused.headers["retry-after"] == "1"
        assert 0.15 < waited < 3
        assert app.wsgi_mounts[0].budget.waiting == 0
        gate.open.set()
        await slow


@pytest.mark.anyio
async def test_the_queue_timeout_holds_when_it_is_longer_than_the_timeout() -> None:
    # One timer serves both limits: while the request waits, only the queue timeout counts.
    gate = Gate()
    app = gated(gate, threads=1, queue=4, queue_timeout=0.6, timeout=0.2)
    async with client(app) as http:
        slow, refused, waited = await _queued_behind_slow(http, gate)
        assert refused.status_code == 503
        assert 0.5 < waited < 3
        gate.open.set()
        assert (await slow).status_code == 504  # the running one: past its own timeout


@pytest.mark.anyio
async def test_a_queued_request_that_gets_its_thread_in_time_is_served_in_full() -> None:
    gate = Gate()
    app = gated(gate, threads=1, queue=4, queue_timeout=0.5, timeout=5)
    async with client(app) as http:
        slow = asyncio.create_task(http.get("/a/slow"))
        await gate.wait_entered()
        queued = asyncio.create_task(http.get("/a/fast"))
        await asyncio.sleep(0.2)
        gate.open.set()
        await asyncio.sleep(0.6)  # past the queue timeout, now running or done: the timer goes on to the timeout
        assert (await queued).text == "/fast"
        assert (await slow).text == "/slow"


@pytest.mark.anyio
async def test_a_request_past_its_timeout_gets_a_504_and_its_thread_counts_as_stuck(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = Gate()
    app = gated(gate, threads=2, timeout=0.3)
    budget = app.wsgi_mounts[0].budget
    async with client(app) as http:
        with caplog.at_level(logging.WARNING, logger="turnout.bridge"):
            response = await http.get("/a/slow", headers={"Accept": "application/json"})
        assert response.status_code == 504
        assert response.json()["request_id"] == response.headers["x-request-id"]
        assert "stuck" in caplog.text
        assert budget.stuck == 1 and budget.running == 1
        # The other thread still serves.
        assert (await http.get("/a/fast")).text == "/fast"
        gate.open.set()
        for _ in range(100):
            if budget.running == 0:
                break
            await asyncio.sleep(0.02)
        assert budget.stuck == 0 and budget.running == 0


@pytest.mark.server
def test_a_stream_that_stalls_past_the_timeout_closes_the_connection() -> None:
    release = threading.Event()
    closed = threading.Event()

    def stalling(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        try:
            yield b"first"
            release.wait(10)
            yield b"never"
        finally:
            closed.set()

    app = Turnout()
    app.mount_wsgi("/", stalling, name="legacy", timeout=0.5)
    with run_server(app) as base:
        with pytest.raises(httpx.HTTPError):
            httpx.get(base + "/", timeout=5)
        release.set()
        assert closed.wait(5)


def upload_app(seen: list[str]) -> Flask:
    app = Flask("upload")

    @app.post("/upload")
    def upload() -> str:
        try:
            data = request.get_data()
        except BodyTooLarge:
            seen.append("too large")
            raise
        seen.append(f"read {len(data)}")
        return str(len(data))

    return app


@pytest.mark.anyio
async def test_a_declared_body_over_the_limit_gets_a_413_without_calling_the_app() -> None:
    seen: list[str] = []
    app = Turnout()
    app.mount_wsgi("/", upload_app(seen), name="legacy", max_body_size=100)
    async with client(app) as http:
        assert (await http.post("/upload", content=b"x" * 100)).text == "100"
        response = await http.post("/upload", content=b"x" * 101)
    assert response.status_code == 413
    assert seen == ["read 100"]


async def chunks(count: int, size: int) -> AsyncIterator[bytes]:
    for _ in range(count):
        yield b"y" * size


@pytest.mark.anyio
async def test_a_chunked_body_over_the_limit_gets_a_413_and_the_app_never_reads_past_it() -> None:
    seen: list[str] = []
    app = Turnout()
    app.mount_wsgi("/", upload_app(seen), name="legacy", max_body_size=100)
    async with client(app) as http:
        assert (await http.post("/upload", content=chunks(4, 25))).text == "100"
        response = await http.post("/upload", content=chunks(5, 25))
        first_too_big = await http.post("/upload", content=chunks(1, 101))
    assert response.status_code == 413
    assert first_too_big.status_code == 413
    assert seen == ["read 100", "too large"]


@pytest.mark.server
def test_a_chunked_upload_over_the_limit_through_a_real_server() -> None:
    seen: list[str] = []
    app = Turnout()
    app.mount_wsgi("/", upload_app(seen), name="legacy", max_body_size=1000)

    def body() -> Iterator[bytes]:
        for _ in range(100):
            yield b"z" * 100

    with run_server(app) as base:
        try:
            response = httpx.post(base + "/upload", content=body(), timeout=5)
            assert response.status_code == 413
        except httpx.HTTPError:
            pass  # the server may close before the client has sent everything
    assert seen in (["too large"], [])


@pytest.mark.anyio
async def test_send_file_goes_through_the_file_wrapper(tmp_path: Path) -> None:
    payload = tmp_path / "data.bin"
    payload.write_bytes(bytes(range(256)) * 1024)
    wrappers: list[object] = []
    flask_app = Flask("files")

    @flask_app.get("/file")
    def download() -> FlaskResponse:
        wrappers.append(request.environ["wsgi.file_wrapper"])
        return send_file(payload)

    app = Turnout()
    app.mount_wsgi("/", flask_app, name="legacy")
    async with client(app) as http:
        response = await http.get("/file")
    assert response.content == payload.read_bytes()
    assert wrappers == [FileWrapper]


@pytest.mark.anyio
async def test_wsgi_errors_writes_to_python_logging(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        errors = environ["wsgi.errors"]
        errors.write("first line\nsecond ")
        errors.writelines(["line\n", "unterminated"])
        errors.flush()
        start_response("204 No Content", [])
        return []

    turnout = Turnout()
    turnout.mount_wsgi("/", app, name="legacy")
    with caplog.at_level(logging.ERROR, logger="turnout.legacy.legacy"):
        async with client(turnout) as http:
            await http.get("/")
    assert [r.getMessage() for r in caplog.records if r.name == "turnout.legacy.legacy"] == [
        "first line",
        "second line",
        "unterminated",
    ]


@pytest.mark.server
def test_a_client_that_leaves_is_logged_at_debug_level_only(caplog: pytest.LogCaptureFixture) -> None:
    done = threading.Event()

    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        try:
            for _ in range(1000):
                yield b"x" * 1024
                time.sleep(0.01)
        finally:
            done.set()

    turnout = Turnout()
    turnout.mount_wsgi("/", app, name="legacy")
    with caplog.at_level(logging.DEBUG, logger="turnout"), run_server(turnout) as base:
        with httpx.stream("GET", base + "/", timeout=5) as response:
            next(response.iter_bytes())
        assert done.wait(5)
        time.sleep(0.1)
    assert "client left" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


class Endless:
    """A legacy download of 64 MiB in 64 KiB chunks that counts what it has produced."""

    def __init__(self) -> None:
        self.produced = 0

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "application/octet-stream")])
        chunk = b"\0" * 65536
        for _ in range(1024):
            self.produced += len(chunk)
            yield chunk


@pytest.mark.server
def test_a_client_that_stops_reading_holds_the_legacy_app_back() -> None:
    endless = Endless()
    app = Turnout()
    app.mount_wsgi("/", endless, name="legacy")
    with run_server(app) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
            sock.sendall(b"GET /download HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
            time.sleep(1.0)  # reads nothing: the app could produce all 64 MiB in this time
            held_back_at = endless.produced
            for _ in range(50):
                if not sock.recv(1024 * 1024):
                    break
            time.sleep(0.3)
            went_on_to = endless.produced
    # Socket buffers, the transport's, and the bridge's window of 1 MiB: far below the whole.
    assert held_back_at <= 24 * 1024 * 1024, held_back_at
    assert went_on_to > held_back_at  # reading again lets it go on
