"""A fault suite against a real Uvicorn: partial headers, oversized requests, request smuggling.

Run under both of Uvicorn's parsers. Where the parser decides (what it accepts, and how it frames
a body), turnout cannot change the outcome; these tests pin what each parser does, and check
what turnout owns: nothing ambiguous reaches the legacy app, and a second request hidden in the
body of the first is never served.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterable, Iterator

import pytest

from tests.rawhttp import send_raw, status_of
from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.server import HEADER_TIMEOUT_VARIABLE, protocol
from turnout.testing import run_server

PARSERS = ["h11", "httptools"]


class Recorder:
    """A legacy app that records every path it serves and echoes the length of the body it read."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.lock = threading.Lock()

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        body = environ["wsgi.input"].read()
        with self.lock:
            self.paths.append(environ["PATH_INFO"])
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [f"{environ['PATH_INFO']} read {len(body)}".encode()]


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture(params=PARSERS)
def server(request: pytest.FixtureRequest, recorder: Recorder, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv(HEADER_TIMEOUT_VARIABLE, "0.5")
    app = Turnout()
    app.mount_wsgi("/", recorder, name="legacy")
    with run_server(app, http=protocol(request.param)) as base:
        yield base


def closed_within(base: str, data: bytes, seconds: float) -> float | None:
    """Send `data`, then wait for the server to close; how long it took, or None if it did not."""
    host, port = base.removeprefix("http://").split(":")
    started = time.monotonic()
    with socket.create_connection((host, int(port)), timeout=seconds) as sock:
        sock.sendall(data)
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    return time.monotonic() - started
        except TimeoutError:
            return None
        except ConnectionResetError:
            return time.monotonic() - started


@pytest.mark.server
def test_partial_headers_are_cut_off_at_the_deadline(server: str) -> None:
    waited = closed_within(server, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 5)
    assert waited is not None and waited < 3


@pytest.mark.server
def test_an_idle_connection_is_cut_off_at_the_deadline(server: str) -> None:
    waited = closed_within(server, b"", 5)
    assert waited is not None and waited < 3


@pytest.mark.server
def test_partial_headers_after_a_keep_alive_response_are_cut_off(server: str, recorder: Recorder) -> None:
    waited = closed_within(server, b"GET /first HTTP/1.1\r\nHost: x\r\n\r\nGET /second HTTP/1.1\r\nHo", 5)
    assert waited is not None and waited < 3
    assert recorder.paths == ["/first"]


@pytest.mark.server
def test_plain_uvicorn_keeps_partial_headers_open() -> None:
    """The difference: Uvicorn's own protocol has no header deadline."""
    app = Turnout()
    app.mount_wsgi("/", Recorder(), name="legacy")
    with run_server(app, http="h11", timeout_keep_alive=1) as base:
        assert closed_within(base, b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ", 2.5) is None


@pytest.mark.server
def test_oversized_requests_never_get_a_5xx_and_the_server_stays_up(server: str, recorder: Recorder) -> None:
    long_url = b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    big_header = b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 1_000_000 + b"\r\nConnection: close\r\n\r\n"
    many = b"GET / HTTP/1.1\r\nHost: x\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(5000)) + b"\r\n"
    for data in (long_url, big_header, many):
        reply = send_raw(server, data, timeout=5)
        assert not reply or status_of(reply) < 500
    assert status_of(send_raw(server, b"GET /ok HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")) == 200


SMUGGLING = {
    "te-and-cl": b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
    b"0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "duplicate-cl": b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 40\r\n\r\n"
    b"abcdGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n",
    "plus-cl": b"POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: +4\r\n\r\nabcd",
    "bad-chunk-size": b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabcd\r\n0\r\n\r\n",
    "bad-chunk-crlf": b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcdXX0\r\n\r\n",
    "te-obfuscated": b"POST /a HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\nContent-Length: 4\r\n\r\nabcd",
    "bare-lf": b"GET /a HTTP/1.1\nHost: x\n\n",
}

# What each parser does with each case: 400, or served. h11 lets a bare LF through; httptools
# refuses it. Everything else is refused by the parser, or by turnout's FramingGuard (h11 lets
# Transfer-Encoding with Content-Length through, and would then serve the hidden request).
EXPECTED = {("h11", "bare-lf"): 200}


@pytest.mark.server
@pytest.mark.parametrize("case", sorted(SMUGGLING))
def test_the_smuggling_corpus_never_serves_a_hidden_request(
    server: str, recorder: Recorder, case: str, request: pytest.FixtureRequest
) -> None:
    parser = request.node.callspec.params["server"]
    reply = send_raw(server, SMUGGLING[case], timeout=3)
    time.sleep(0.2)
    assert "/smuggled" not in recorder.paths
    expected = EXPECTED.get((parser, case), 400)
    if expected == 400:
        assert not reply or status_of(reply) in (400, 501)
        assert recorder.paths == []
    else:
        assert status_of(reply) == 200


@pytest.mark.server
def test_plain_a2wsgi_under_h11_serves_a_request_hidden_after_a_chunked_body() -> None:
    """The difference that `FramingGuard` makes: without it the hidden request is served."""
    from a2wsgi import WSGIMiddleware

    recorder = Recorder()
    with run_server(WSGIMiddleware(recorder), http="h11") as base:  # type: ignore[arg-type]
        send_raw(base, SMUGGLING["te-and-cl"], timeout=2)
        time.sleep(0.2)
    assert "/smuggled" in recorder.paths


def exchange_on(sock: socket.socket, path: str) -> bytes:
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    reply = b""
    while not reply.endswith((path.encode() + b" read 0", b"\r\n0\r\n\r\n")):  # a length, or chunks
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection before answering {path}"
        reply += chunk
    return reply


@pytest.mark.server
@pytest.mark.parametrize("parser", PARSERS)
def test_a_keep_alive_connection_closes_once_idle_for_the_keep_alive_timeout(
    parser: str, recorder: Recorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    # turnout's httptools protocol keeps this deadline on the connection's one timer.
    monkeypatch.setenv(HEADER_TIMEOUT_VARIABLE, "30")
    app = Turnout()
    app.mount_wsgi("/", recorder, name="legacy")
    with run_server(app, http=protocol(parser), timeout_keep_alive=0.6) as base:
        host, port = base.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            for index in range(4):  # each request comes before the timeout: the connection stays open
                assert status_of(exchange_on(sock, f"/{index}")) == 200
                time.sleep(0.3)
            started = time.monotonic()
            assert sock.recv(65536) == b""  # then idle: closed
            waited = time.monotonic() - started + 0.3
    assert 0.4 < waited < 3
    assert recorder.paths == ["/0", "/1", "/2", "/3"]
