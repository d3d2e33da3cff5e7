from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest
from a2wsgi import WSGIMiddleware
from flask import Flask, request

from tests.rawhttp import send_raw
from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.testing import client, run_server

Reader = Callable[[Any], object]


def reading_app(read: Reader) -> Any:
    """A WSGI app that answers with JSON of what `read(wsgi.input)` gave."""

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        result = read(environ["wsgi.input"])
        if isinstance(result, bytes):
            result = result.decode()
        elif isinstance(result, list):
            result = [r.decode() for r in result]
        start_response("200 OK", [("Content-Type", "application/json")])
        return [json.dumps(result).encode()]

    return validator(app)


async def pieces(*parts: bytes) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def post(read: Reader, content: bytes | AsyncIterator[bytes]) -> Any:
    app = Turnout()
    app.mount_wsgi("/", reading_app(read), name="legacy")
    async with client(app) as http:
        response = await http.post("/upload", content=content)
    assert response.status_code == 200, response.text
    return response.json()


def read_in_pieces(body: Any) -> list[bytes]:
    out: list[bytes] = []
    while True:
        chunk = body.read(3)
        if not chunk:
            return out
        out.append(chunk)


@pytest.mark.anyio
async def test_read_with_a_size_never_reads_past_the_end() -> None:
    assert await post(read_in_pieces, pieces(b"abcd", b"efg", b"h")) == ["abc", "def", "gh"]


@pytest.mark.anyio
async def test_readline_with_a_size_on_a_fresh_body_reads_from_the_client() -> None:
    assert await post(lambda body: body.readline(4), b"hello\nworld") == "hell"


@pytest.mark.anyio
async def test_readline_finds_lines_across_chunks() -> None:
    def lines(body: Any) -> list[bytes]:
        return [body.readline(), body.readline(), body.readline(), body.readline()]

    assert await post(lines, pieces(b"ab", b"c\nde", b"f\n", b"g")) == ["abc\n", "def\n", "g", ""]


@pytest.mark.anyio
async def test_readlines_takes_a_byte_hint() -> None:
    assert await post(lambda body: body.readlines(3), b"one\ntwo\nthree\n") == ["one\n"]
    assert await post(lambda body: body.readlines(), pieces(b"one\ntw", b"o\n")) == ["one\n", "two\n"]


@pytest.mark.anyio
async def test_iterating_the_body_gives_its_lines() -> None:
    assert await post(lambda body: list(body), pieces(b"a\nb", b"\nc")) == ["a\n", "b\n", "c"]


def test_a2wsgi_readline_with_a_size_returns_nothing_on_a_fresh_body() -> None:
    """The difference from plain a2wsgi that `RequestBody.readline` fixes."""

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        line = environ["wsgi.input"].readline(4)
        start_response("200 OK", [])
        return [line]

    with run_server(WSGIMiddleware(app)) as base:  # type: ignore[arg-type]
        assert httpx.post(base + "/", content=b"hello\n").content == b""


def flask_echo() -> Flask:
    app = Flask("echo")

    @app.post("/echo")
    def echo() -> bytes:
        return request.get_data()

    return app


def chunked_body() -> Iterable[bytes]:
    yield b"first,"
    yield b"second,"
    yield b"third"


@pytest.mark.server
def test_a_chunked_upload_reaches_flask_whole() -> None:
    app = Turnout()
    app.mount_wsgi("/", flask_echo(), name="legacy")
    with run_server(app) as base:
        response = httpx.post(base + "/echo", content=chunked_body())
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert response.content == b"first,second,third"


@pytest.mark.server
def test_plain_a2wsgi_gives_flask_an_empty_chunked_upload() -> None:
    with run_server(WSGIMiddleware(flask_echo())) as base:  # type: ignore[arg-type]
        response = httpx.post(base + "/echo", content=chunked_body())
    assert response.content == b""


@pytest.mark.server
def test_a_truncated_upload_raises_oserror_in_the_app() -> None:
    outcome: list[str] = []
    done = threading.Event()

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        try:
            data = environ["wsgi.input"].read(100)
            outcome.append(f"read {len(data)} bytes")
        except OSError as exc:
            outcome.append(type(exc).__name__)
        finally:
            done.set()
        start_response("200 OK", [])
        return [b""]

    turnout = Turnout()
    turnout.mount_wsgi("/", app, name="legacy")
    with run_server(turnout) as base:
        send_raw(
            base,
            b"POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n" + b"x" * 10,
            close_after_send=True,
        )
        assert done.wait(5)
    assert outcome == ["ClientDisconnected"]
