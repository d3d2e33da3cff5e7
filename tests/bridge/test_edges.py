"""Edges of the WSGI bridge: misbehaving apps, odd requests, and races the happy path never meets."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Iterable, Iterator
from typing import Any

import httpx
import pytest
from starlette.types import Message

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.testing import client, run_server


def mounted(app: Any, **limits: Any) -> Turnout:
    turnout = Turnout()
    turnout.mount_wsgi("/", app, name="legacy", **limits)
    return turnout


async def call(app: Turnout, *, headers: list[tuple[bytes, bytes]], body: list[bytes]) -> list[Message]:
    """Call the app with a hand-made scope, as a server would; gives what it sent."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 1234),
        "server": ("127.0.0.1", 80),
    }
    messages: list[Message] = [
        {"type": "http.request", "body": chunk, "more_body": i < len(body) - 1} for i, chunk in enumerate(body)
    ]
    sent: list[Message] = []

    async def receive() -> Message:
        if messages:
            return messages.pop(0)
        await asyncio.sleep(10)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    await asyncio.wait_for(app(scope, receive, send), 10)
    return sent


def echo_length(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    data = environ["wsgi.input"].read()
    start_response("200 OK", [])
    return [str(len(data)).encode()]


@pytest.mark.anyio
async def test_a_content_length_that_is_not_a_number_is_not_trusted_for_the_limit() -> None:
    sent = await call(mounted(echo_length), headers=[(b"content-length", b"abc")], body=[b"12345"])
    assert sent[0]["status"] == 200
    assert sent[1]["body"] == b"5"


@pytest.mark.anyio
async def test_iterating_the_body_directly() -> None:
    def lines(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        got = [line for line in environ["wsgi.input"]]
        start_response("200 OK", [])
        return [b"|".join(got)]

    sent = await call(mounted(lines), headers=[], body=[b"a\nb", b"\nc"])
    assert sent[1]["body"] == b"a\n|b\n|c"


def misbehaving(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    case = environ["PATH_INFO"]
    if case == "/twice":
        start_response("200 OK", [])
        start_response("200 OK", [])
    if case == "/no-start":
        yield b"body first"
    if case == "/late-exc-info":
        start_response("200 OK", [])
        yield b"sent"
        try:
            raise KeyError("late")
        except KeyError:
            import sys

            start_response("500 Oops", [], sys.exc_info())
    if case == "/empty-chunks":
        write = start_response("200 OK", [])
        write(b"")
        yield b""
        yield b"data"
        yield b""
    if case == "/close-fails":
        start_response("200 OK", [])
        yield b"complete"


class FailingClose:
    def __init__(self, inner: Iterator[bytes]) -> None:
        self.inner = inner

    def __iter__(self) -> Iterator[bytes]:
        return self.inner

    def close(self) -> None:
        raise RuntimeError("teardown failed")


def app_with_failing_close(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    if environ["PATH_INFO"] == "/close-fails":
        return FailingClose(misbehaving(environ, start_response))
    return misbehaving(environ, start_response)


@pytest.mark.anyio
async def test_pep_3333_misuse_gives_a_500(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="turnout.bridge"):
        async with client(mounted(app_with_failing_close)) as http:
            assert (await http.get("/twice")).status_code == 500
            assert (await http.get("/no-start")).status_code == 500
            assert (await http.get("/empty-chunks")).text == "data"
            # close() failing after a complete body: logged, and the response still ends.
            assert (await http.get("/close-fails")).text == "complete"
    assert "called a second time" in caplog.text
    assert "before it called start_response" in caplog.text
    assert "teardown failed" in caplog.text


@pytest.mark.server
def test_exc_info_after_the_headers_were_sent_ends_the_connection() -> None:
    with run_server(mounted(misbehaving)) as base:
        with pytest.raises(httpx.HTTPError):
            httpx.get(base + "/late-exc-info", timeout=5)


@pytest.mark.anyio
async def test_a_stream_that_keeps_sending_may_run_longer_than_the_timeout() -> None:
    def ticking(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        for _ in range(8):
            time.sleep(0.1)
            yield b"tick "

    async with client(mounted(ticking, timeout=0.35)) as http:
        response = await http.get("/")
    assert response.text == "tick " * 8


@pytest.mark.anyio
async def test_a_request_cancelled_while_it_waits_in_the_queue_leaves_no_trace() -> None:
    release = threading.Event()

    def slow(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        release.wait(5)
        start_response("200 OK", [])
        return [b"done"]

    app = mounted(slow, threads=1, queue=4)
    budget = app.wsgi_mounts[0].budget
    async with client(app) as http:
        first = asyncio.create_task(http.get("/"))
        while budget.running == 0:
            await asyncio.sleep(0.01)
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(http.get("/"), 0.2)
        assert budget.waiting == 0
        release.set()
        assert (await first).text == "done"
    assert budget.running == 0


@pytest.mark.server
def test_a_body_over_the_limit_after_the_response_started_ends_the_connection() -> None:
    def streams_then_reads(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [])
        yield b"started "
        try:
            environ["wsgi.input"].read()
        except OSError:
            return
        yield b"read it all"

    def body() -> Iterator[bytes]:
        for _ in range(50):
            yield b"q" * 100
            time.sleep(0.02)  # small chunks, so the first one is under the limit

    with run_server(mounted(streams_then_reads, max_body_size=1000)) as base:
        with pytest.raises(httpx.HTTPError):
            httpx.post(base + "/", content=body(), timeout=5)


@pytest.mark.anyio
async def test_a_write_after_the_client_left_raises_in_the_app() -> None:
    from turnout.bridge.body import ClientDisconnected

    raised: list[str] = []
    entered = threading.Event()
    proceed = threading.Event()

    def writer(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        write = start_response("200 OK", [])
        write(b"first")
        entered.set()
        proceed.wait(5)
        try:
            write(b"second")
        except ClientDisconnected:
            raised.append("ClientDisconnected")
        return []

    app = mounted(writer)
    with run_server(app) as base:
        with httpx.stream("GET", base + "/", timeout=5) as response:
            next(response.iter_bytes())
        time.sleep(0.2)
        proceed.set()
        deadline = time.monotonic() + 5
        while not raised and time.monotonic() < deadline:
            time.sleep(0.02)
    assert raised == ["ClientDisconnected"]
