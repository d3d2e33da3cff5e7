from __future__ import annotations

import asyncio
import contextvars
import gc
import logging
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from wsgiref.validate import validator

import httpx
import pytest
from a2wsgi import WSGIMiddleware

from tests.rawhttp import send_raw, status_of
from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.testing import client, run_server


def mounted(app: object, *, threads: int = 4, **options: object) -> Turnout:
    turnout = Turnout(**options)  # type: ignore[arg-type]
    turnout.mount_wsgi("/", app, name="legacy", threads=threads)  # type: ignore[arg-type]
    return turnout


def replaces_headers_on_error(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    """PEP 3333's own example: start_response again with exc_info before any body was sent."""
    try:
        start_response("200 OK", [("Content-Type", "text/plain")])
        raise RuntimeError("failed after start_response")
    except RuntimeError:
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], sys.exc_info())
        return [b"sorry"]


@pytest.mark.anyio
async def test_headers_wait_for_the_first_body_chunk_so_exc_info_can_replace_them() -> None:
    async with client(mounted(validator(replaces_headers_on_error))) as http:
        response = await http.get("/")
    assert response.status_code == 500
    assert response.text == "sorry"


@pytest.mark.server
def test_plain_a2wsgi_sends_headers_at_start_response() -> None:
    # The difference: a2wsgi has already sent "200 OK" when the app asks for a 500.
    with run_server(WSGIMiddleware(replaces_headers_on_error)) as base:  # type: ignore[arg-type]
        reply = send_raw(base, b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
    assert status_of(reply) == 200


def failing(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("boom")


@pytest.mark.anyio
async def test_an_app_that_fails_gives_a_500_page_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="turnout.bridge"):
        async with client(mounted(failing)) as http:
            html = await http.get("/")
            data = await http.get("/", headers={"Accept": "application/json"})
    assert html.status_code == 500
    assert "text/html" in html.headers["content-type"]
    assert data.status_code == 500
    assert data.json()["status"] == 500
    assert any("boom" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def bad_header(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("X-Evil", "a\r\nSet-Cookie: stolen=1")])
    return [b"never"]


@pytest.mark.anyio
async def test_a_header_with_cr_lf_gives_a_500_and_never_reaches_the_wire(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR, logger="turnout.bridge"):
        async with client(mounted(bad_header)) as http:
            response = await http.get("/")
    assert response.status_code == 500
    assert "stolen" not in response.headers.get("set-cookie", "")
    assert any("CR, LF or NUL" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def using_write(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    write = start_response("200 OK", [("Content-Type", "text/plain")])
    write(b"written, ")
    return [b"then ", b"returned"]


@pytest.mark.anyio
async def test_the_write_callable_and_the_iterable_both_reach_the_client() -> None:
    async with client(mounted(validator(using_write))) as http:
        response = await http.get("/")
    assert response.text == "written, then returned"


class Tracked:
    """A response iterable that records when its close() is called."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        return self.chunks

    def close(self) -> None:
        self.closed.set()


@pytest.mark.anyio
async def test_close_is_called_on_a_normal_response() -> None:
    responses: list[Tracked] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        responses.append(Tracked(iter([b"a", b"b"])))
        return responses[-1]

    async with client(mounted(app)) as http:
        assert (await http.get("/")).text == "ab"
    assert responses[0].closed.is_set()


def endless(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    for _ in range(10_000):  # bounded: 100 s at most
        yield b"tick\n"
        time.sleep(0.01)


@pytest.mark.server
def test_a_client_that_leaves_a_stream_gets_it_closed_and_frees_the_thread() -> None:
    streams: list[Tracked] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        if environ["PATH_INFO"] == "/fast":
            start_response("200 OK", [])
            return [b"fast"]
        streams.append(Tracked(iter(endless(environ, start_response))))
        return streams[-1]

    with run_server(mounted(app, threads=2)) as base:
        for _ in range(3):  # more abandoned streams than threads
            with httpx.stream("GET", base + "/stream", timeout=5) as response:
                assert next(response.iter_bytes()).startswith(b"tick")
        deadline = time.monotonic() + 5
        while not all(s.closed.is_set() for s in streams) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(streams) == 3 and all(s.closed.is_set() for s in streams)
        assert httpx.get(base + "/fast", timeout=5).text == "fast"


def big(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    for i in range(320):  # 20 MiB
        yield bytes([i % 256]) * 65536


@pytest.mark.server
def test_a_large_stream_arrives_whole_and_in_order() -> None:
    with run_server(mounted(big)) as base, httpx.stream("GET", base + "/", timeout=30) as response:
        received = b"".join(response.iter_bytes())
    assert len(received) == 320 * 65536
    assert received[::65536] == bytes(i % 256 for i in range(320))


@pytest.mark.server
def test_an_app_that_fails_mid_stream_closes_the_connection() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Length", "100")])
        yield b"partial"
        if environ["PATH_INFO"] == "/fail":
            raise RuntimeError("mid-stream")
        yield b"x" * 93

    with run_server(mounted(app)) as base:
        with pytest.raises(httpx.HTTPError):
            httpx.get(base + "/fail", timeout=5)
        # The server stays healthy.
        assert len(httpx.get(base + "/ok", timeout=5).content) == 100


request_tag: contextvars.ContextVar[str] = contextvars.ContextVar("request_tag", default="none")


@pytest.mark.anyio
async def test_contextvars_of_the_request_reach_the_legacy_thread() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [request_tag.get().encode()]

    turnout = mounted(app)
    async with client(turnout) as http:
        request_tag.set("tagged")
        assert (await http.get("/")).text == "tagged"


@pytest.mark.server
def test_head_on_a_legacy_route_has_headers_and_no_body() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
        return [b"hello"]

    with run_server(mounted(validator(app))) as base:
        response = httpx.head(base + "/", timeout=5)
    assert response.status_code == 200
    assert response.headers["content-length"] == "5"
    assert response.content == b""


@pytest.mark.anyio
async def test_served_by_header_names_the_mount_and_can_be_turned_off() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("204 No Content", [])
        return []

    async with client(mounted(app)) as http:
        assert (await http.get("/")).headers["x-served-by"] == "wsgi:legacy"
    async with client(mounted(app, served_by_header=False)) as http:
        assert "x-served-by" not in (await http.get("/")).headers


@pytest.mark.anyio
async def test_the_pools_stop_with_the_lifespan() -> None:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"ok"]

    turnout = mounted(app, threads=3)
    async with client(turnout) as http:
        await http.get("/")
        assert turnout.wsgi_mounts[0].pool.size == 1
    assert turnout.wsgi_mounts[0].pool.size == 0
    # And the app serves again after a new start-up.
    async with client(turnout) as http:
        assert (await http.get("/")).text == "ok"


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello " + body]


@pytest.mark.anyio
async def test_a_finished_request_is_freed_without_the_garbage_collector() -> None:
    # Objects left in reference cycles wait for the collector, whose passes over every request
    # in flight cost a small legacy request about a tenth of its time.
    from turnout.bridge.responder import Exchange

    async with client(mounted(validator(hello))) as http:
        await http.get("/")
        gc.collect()
        gc.disable()
        try:
            for _ in range(5):
                assert (await http.get("/")).text == "hello "
                assert (await http.post("/", content=b"body")).text == "hello body"
            for _ in range(100):  # the last request's thread may still be on its way out
                left = sum(1 for o in gc.get_objects() if isinstance(o, Exchange))
                if not left:
                    break
                await asyncio.sleep(0.01)
        finally:
            gc.enable()
    assert left == 0
