"""The edge's short way to the bridge answers exactly as the whole way through Starlette's layers.

A legacy route the router has matched before goes from the edge straight to its mount, unless
the app has middleware of its own (then every request goes the whole way). The first request to
a path always goes the whole way, so each path is asked twice here, and both answers compared
with those of the same app with a pass-through middleware, which never takes the short way.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.bridge import responder
from turnout.middleware.edge import EdgeMiddleware
from turnout.testing import client


def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    path = environ["PATH_INFO"]
    if path == "/fail":
        raise RuntimeError("legacy failure")
    if path == "/missing":
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"no such page"]
    body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
    start_response("200 OK", [("Content-Type", "text/plain"), ("X-Legacy", "yes")])
    return [f"{environ['SCRIPT_NAME']}|{path}|{environ.get('HTTP_X_REQUEST_ID')}|{len(body)}".encode()]


class PassThrough:
    """A user's middleware that does nothing: its presence alone keeps every request on the whole way."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def make(*, middleware: bool, **options: Any) -> Turnout:
    turnout = Turnout(middleware=[Middleware(PassThrough)] if middleware else None, **options)
    turnout.mount_wsgi("/legacy", validator(legacy), name="legacy", max_body_size=16)
    turnout.add_route("/new", lambda request: PlainTextResponse("new"))
    return turnout


def normalised(response: httpx.Response) -> tuple[int, str, list[tuple[str, str]]]:
    rid = response.headers["x-request-id"]
    headers = sorted((k, v.replace(rid, "<id>")) for k, v in response.headers.items() if k != "content-length")
    return response.status_code, response.text.replace(rid, "<id>"), headers


REQUESTS = [
    ("GET", "/legacy/hello", None),
    ("GET", "/legacy/a%2Fb", None),
    ("GET", "/legacy/missing", None),
    ("GET", "/legacy/fail", None),
    ("POST", "/legacy/hello", b"small"),
    ("POST", "/legacy/hello", b"x" * 17),  # over the mount's limit: its 413
    ("GET", "/new", None),
]


@pytest.mark.anyio
@pytest.mark.parametrize(("method", "path", "body"), REQUESTS)
async def test_the_short_way_answers_as_the_whole_way(method: str, path: str, body: bytes | None) -> None:
    answers = []
    for middleware in (False, True):
        async with client(make(middleware=middleware), raise_app_exceptions=False) as http:
            first, second = [await http.request(method, path, content=body) for _ in range(2)]
        answers.append([normalised(first), normalised(second)])
        for response in (first, second):
            assert response.headers["x-request-id"]
            if path.startswith("/legacy"):
                assert response.headers["x-served-by"] == "wsgi:legacy"
    assert answers[0] == answers[1]
    assert answers[0][0] == answers[0][1]


@pytest.mark.anyio
async def test_the_legacy_app_sees_the_request_id_the_client_gets() -> None:
    async with client(make(middleware=False)) as http:
        responses = [await http.get("/legacy/hello") for _ in range(3)]
    for response in responses:
        assert response.text == f"/legacy|/hello|{response.headers['x-request-id']}|0"
    assert len({r.headers["x-request-id"] for r in responses}) == 3


@pytest.mark.anyio
async def test_a_failure_of_turnouts_own_gets_the_apps_500_page_with_the_id(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    calls = []

    async def on_500(request: Request, exc: Exception) -> Response:
        calls.append(repr(exc))
        return PlainTextResponse(f"sorry {request.state.request_id}", status_code=500)

    turnout = make(middleware=False, exception_handlers={500: on_500})
    async with client(turnout, raise_app_exceptions=False) as http:
        assert (await http.get("/legacy/hello")).status_code == 200  # the first time: the whole way
        monkeypatch.setattr(responder, "build_environ", broken_environ)
        with caplog.at_level(logging.ERROR):
            response = await http.get("/legacy/hello")
    assert response.status_code == 500
    assert response.text == f"sorry {response.headers['x-request-id']}"
    assert calls == ["LookupError('a bug in the bridge')"]


def broken_environ(*args: Any, **kwargs: Any) -> Environ:
    raise LookupError("a bug in the bridge")


@pytest.mark.anyio
async def test_the_exception_still_reaches_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    async with client(make(middleware=False)) as http:
        await http.get("/legacy/hello")
        monkeypatch.setattr(responder, "build_environ", broken_environ)
        with pytest.raises(LookupError, match="a bug in the bridge"):
            await http.get("/legacy/hello")


@pytest.mark.anyio
async def test_a_sync_500_handler_runs_in_a_thread(monkeypatch: pytest.MonkeyPatch) -> None:
    def on_500(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("sync sorry", status_code=500)

    async with client(
        make(middleware=False, exception_handlers={Exception: on_500}), raise_app_exceptions=False
    ) as http:
        await http.get("/legacy/hello")
        monkeypatch.setattr(responder, "build_environ", broken_environ)
        response = await http.get("/legacy/hello")
    assert (response.status_code, response.text) == (500, "sync sorry")
    assert response.headers["x-request-id"]


@pytest.mark.anyio
async def test_the_access_log_records_requests_on_the_short_way(caplog: pytest.LogCaptureFixture) -> None:
    turnout = make(middleware=False, access_log="text")
    with caplog.at_level(logging.INFO, logger="turnout.access"):
        async with client(turnout, raise_app_exceptions=False) as http:
            for _ in range(2):
                await http.get("/legacy/hello")
                await http.get("/legacy/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "turnout.access"]
    assert len(lines) == 4
    assert sum(" 200 " in line for line in lines) == 2
    assert sum(" 404 " in line for line in lines) == 2


class FailingExchange:
    def __init__(self, send: Send, responded: bool) -> None:
        self.send = send
        self.responded = responded

    async def run(self) -> None:
        if self.responded:
            await self.send({"type": "http.response.start", "status": 200, "headers": []})
        raise RuntimeError("the bridge failed")


class FailingTarget:
    def __init__(self, responded: bool) -> None:
        self.responded = responded

    def exchange(
        self, scope: Scope, receive: Receive, send: Send, raw_path: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> FailingExchange:
        return FailingExchange(send, self.responded)


@pytest.mark.anyio
@pytest.mark.parametrize("responded", [False, True])
async def test_the_edge_alone_gives_a_500_page_only_before_a_response_started(responded: bool) -> None:
    async def unreachable(scope: Scope, receive: Receive, send: Send) -> None:
        raise AssertionError("the whole way was taken")

    edge = EdgeMiddleware(unreachable, direct=lambda scope: (FailingTarget(responded), "/x"))
    sent: list[Message] = []

    async def send(message: Message) -> None:
        sent.append(message)

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    scope: Scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    with pytest.raises(RuntimeError, match="the bridge failed"):
        await edge(scope, receive, send)
    starts = [m for m in sent if m["type"] == "http.response.start"]
    assert len(starts) == 1
    assert starts[0]["status"] == (200 if responded else 500)
    if not responded:
        assert dict(starts[0]["headers"])[b"x-request-id"] == scope["state"]["request_id"].encode()
