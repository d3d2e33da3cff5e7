"""Small edges of the app, the errors, the server protocols and the testing helpers."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Iterable

import pytest
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import NoMatchFound
from starlette.types import Message, Receive, Scope, Send

from tests.rawhttp import send_raw, status_of
from turnout import ConfigError, Turnout
from turnout._types import Environ, StartResponse
from turnout.server import HEADER_TIMEOUT_VARIABLE, protocol
from turnout.testing import client, run_server


def hello(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello"]


async def not_modified(request: Request) -> Response:
    raise HTTPException(304)


async def asgi_call(app: Turnout, scope: Scope) -> list[Message]:
    sent: list[Message] = []
    incoming: list[Message] = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> Message:
        if incoming:
            return incoming.pop()
        await asyncio.sleep(5)
        return {"type": "http.disconnect"}

    async def send(message: Message) -> None:
        sent.append(message)

    base: Scope = {
        "type": "http",
        "method": "POST",
        "path": "/",
        "raw_path": b"/",
        "query_string": b"",
        "headers": [],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "scheme": "http",
        "http_version": "1.1",
    }
    await app({**base, **scope}, receive, send)
    return sent


@pytest.mark.anyio
async def test_ambiguous_framing_is_refused_and_the_connection_closed() -> None:
    app = Turnout()
    app.mount_wsgi("/", hello, name="legacy")
    both = await asgi_call(app, {"headers": [(b"transfer-encoding", b"chunked"), (b"content-length", b"4")]})
    gzip = await asgi_call(app, {"headers": [(b"transfer-encoding", b"gzip, chunked")]})
    assert both[0]["status"] == 400 and (b"connection", b"close") in both[0]["headers"]
    assert gzip[0]["status"] == 501


@pytest.mark.anyio
async def test_an_http_exception_with_no_body_status_has_no_body() -> None:
    app = Turnout()
    app.add_route("/cached", not_modified)
    async with client(app) as http:
        response = await http.get("/cached")
    assert response.status_code == 304 and response.content == b""


def test_config_error_without_a_file_is_just_the_message() -> None:
    assert str(ConfigError("bad")) == "bad"
    assert str(ConfigError("bad", key="x", fix="do y")) == "key 'x': bad\n  fix: do y"


def test_an_opaque_mount_cannot_reverse_urls() -> None:
    app = Turnout()
    app.mount_wsgi("/legacy", hello, name="legacy")
    with pytest.raises(NoMatchFound):
        app.url_path_for("legacy:anything")


@pytest.mark.anyio
async def test_a_stuck_thread_at_shutdown_is_logged_and_left_behind(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    def stuck(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        release.wait(10)
        start_response("200 OK", [])
        return [b""]

    app = Turnout(shutdown_grace=0.2)
    app.mount_wsgi("/", stuck, name="legacy", timeout=0.1)
    with caplog.at_level(logging.WARNING, logger="turnout.bridge"):
        async with client(app) as http:
            assert (await http.get("/")).status_code == 504
    release.set()
    assert "still running at shutdown" in caplog.text


def test_websockets_to_native_routes_and_bad_paths_are_closed() -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    async def page(request: Request) -> Response:
        return Response("page")

    app = Turnout()
    app.add_route("/page", page)
    with run_server(app) as base:
        for path in ("/page", "/a/%2e%2e/b"):
            with pytest.raises((InvalidStatus, ConnectionClosed)):
                with connect(base.replace("http", "ws") + path, open_timeout=5) as ws:
                    ws.recv(timeout=5)


@pytest.mark.server
def test_the_header_deadline_does_not_cut_a_slow_response(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(HEADER_TIMEOUT_VARIABLE, "0.3")

    def slow(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        time.sleep(0.8)
        start_response("200 OK", [("Content-Length", "4")])
        return [b"slow"]

    app = Turnout()
    app.mount_wsgi("/", slow, name="legacy")
    with run_server(app, http=protocol("h11")) as base:
        reply = send_raw(base, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", timeout=5)
    assert status_of(reply) == 200 and reply.endswith(b"slow")


def test_run_server_reports_an_app_that_fails_start_up() -> None:
    async def broken(scope: Scope, receive: Receive, send: Send) -> None:
        assert scope["type"] == "lifespan"
        await receive()
        await send({"type": "lifespan.startup.failed", "message": "no"})

    with pytest.raises(RuntimeError, match="stopped during start-up"):
        with run_server(broken, lifespan="on"):
            pass  # pragma: no cover


def test_run_server_gives_up_on_a_server_that_never_starts() -> None:
    async def slow_start(scope: Scope, receive: Receive, send: Send) -> None:
        await receive()
        await asyncio.sleep(2)
        await send({"type": "lifespan.startup.complete"})
        await receive()
        await send({"type": "lifespan.shutdown.complete"})

    with pytest.raises(TimeoutError):
        with run_server(slow_start, startup_timeout=0.3, lifespan="on"):
            pass  # pragma: no cover


@pytest.mark.anyio
async def test_an_app_can_render_turnouts_errors_its_own_way() -> None:
    from collections.abc import Mapping

    from starlette.responses import PlainTextResponse

    def renderer(scope: Scope, status: int, detail: str, headers: Mapping[str, str] | None) -> Response:
        return PlainTextResponse(f"our own {status}: {detail}", status_code=status, headers=headers)

    app = Turnout(error_renderer=renderer)
    app.mount_wsgi("/legacy", hello, name="legacy", max_body_size=1)
    async with client(app) as http:
        missing = await http.get("/nowhere")
        too_large = await http.post("/legacy/x", content=b"too large")
    assert missing.text == "our own 404: Not Found"
    assert too_large.status_code == 413 and too_large.text.startswith("our own 413")


@pytest.mark.anyio
async def test_the_app_wide_body_limit_answers_on_turnouts_error_page() -> None:
    async def upload(request: Request) -> Response:
        return Response(str(len(await request.body())))

    app = Turnout(max_body_size=10)
    app.add_route("/upload", upload, methods=["POST"])

    async def chunks() -> AsyncIterator[bytes]:
        yield b"x" * 8
        yield b"x" * 8

    async with client(app) as http:
        assert (await http.post("/upload", content=b"x" * 10)).text == "10"
        declared = await http.post("/nowhere", content=b"x" * 11, headers={"Accept": "application/json"})
        chunked = await http.post("/upload", content=chunks(), headers={"Accept": "application/json"})
    assert declared.status_code == 413 and declared.json()["status"] == 413
    assert chunked.status_code == 413 and chunked.json()["status"] == 413
