"""Routing as a client sees it: a Flask app, an opaque WSGI app and native routes behind one table.

Most requests go through `turnout.testing.client`. Paths that httpx would normalise (`/a/../b`)
are sent as raw bytes over a socket to a real Uvicorn, with both of its HTTP parsers.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterable, Iterator
from wsgiref.types import StartResponse, WSGIEnvironment
from wsgiref.validate import validator

import pytest
from flask import Flask, current_app, request
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from werkzeug.routing import BaseConverter, ValidationError

from turnout import Turnout
from turnout.testing import client, run_server


class UserConverter(BaseConverter):
    """A converter that needs the app context, as Flask gives it when it matches a request."""

    def to_python(self, value: str) -> str:
        users: dict[str, str] = current_app.config["USERS"]
        if value not in users:
            raise ValidationError()
        return users[value]


def make_shop() -> Flask:
    """The legacy app: its routes are imported into the table."""
    shop = Flask("shop")
    shop.config["USERS"] = {"ann": "Ann"}
    shop.url_map.converters["user"] = UserConverter

    @shop.get("/users/<user:user>")
    def user(user: str) -> str:
        return f"hello {user}"

    @shop.get("/")
    def home() -> str:
        return "shop home"

    @shop.route("/items", methods=["GET", "POST"])
    def items() -> str:
        return f"legacy items {request.method}"

    @shop.get("/items/<int:item_id>")
    def item(item_id: int) -> str:
        return f"legacy item {item_id}"

    @shop.get("/about")
    def about() -> str:
        return "legacy about"

    return shop


def where(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
    """An opaque WSGI app (no url_map): it answers with what it was given."""
    body = f"{environ['REQUEST_METHOD']} {environ['SCRIPT_NAME']}|{environ['PATH_INFO']}".encode("latin-1")
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def make_app() -> Turnout:
    app = Turnout()
    app.mount_wsgi("/shop", make_shop(), name="shop")
    app.mount_wsgi("/files", validator(where), name="files")
    app.mount_wsgi("/files/archive", validator(where), name="archive")

    @app.route("/shop/items/0", methods=["GET"], name="item_zero")
    async def item_zero(request: Request) -> Response:
        return PlainTextResponse("new item zero")

    @app.route("/shop/items/{item_id:int}", methods=["PUT"], name="put_item")
    async def put_item(request: Request) -> Response:
        return PlainTextResponse(f"new put {request.path_params['item_id']}")

    @app.route("/shop/items", methods=["GET"], name="list_items")
    async def list_items(request: Request) -> Response:
        return PlainTextResponse("new items")

    @app.route("/shop/about", methods=["GET"], name="about")
    async def about(request: Request) -> Response:
        return PlainTextResponse("new about")

    @app.route("/shop/new", methods=["GET"], name="new")
    async def new(request: Request) -> Response:
        return PlainTextResponse("new page")

    @app.route("/files/{name}.json", methods=["GET"], name="file_json")
    async def file_json(request: Request) -> Response:
        return PlainTextResponse(f"new json {request.path_params['name']}")

    return app


# -- through the ASGI client --------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_most_specific_route_wins_across_sides() -> None:
    async with client(make_app()) as http:
        zero = await http.get("/shop/items/0")  # static beats Flask's <int:item_id>
        assert (zero.status_code, zero.text, zero.headers["x-served-by"]) == (200, "new item zero", "asgi:item_zero")
        five = await http.get("/shop/items/5")
        assert (five.status_code, five.text, five.headers["x-served-by"]) == (200, "legacy item 5", "wsgi:shop")
        json_file = await http.get("/files/report.json")  # a route beats an opaque mount's prefix
        assert (json_file.text, json_file.headers["x-served-by"]) == ("new json report", "asgi:file_json")


@pytest.mark.anyio
async def test_on_a_tie_the_new_route_wins_and_the_legacy_one_keeps_its_other_methods() -> None:
    app = make_app()
    async with client(app) as http:
        assert (await http.get("/shop/items")).text == "new items"
        posted = await http.post("/shop/items")
        assert (posted.text, posted.headers["x-served-by"]) == ("legacy items POST", "wsgi:shop")
        assert (await http.get("/shop/about")).text == "new about"
    status = {(e.pattern, e.side): e.status for e in app.table}
    assert status[("/shop/about", "wsgi")] == "replaced"
    assert status[("/shop/items", "wsgi")] == "active"


@pytest.mark.anyio
async def test_405_lists_the_methods_of_both_sides() -> None:
    async with client(make_app()) as http:
        deleted = await http.delete("/shop/items/5")
        assert deleted.status_code == 405
        assert deleted.headers["allow"] == "GET, HEAD, OPTIONS, PUT"
        assert (await http.put("/shop/items/5")).text == "new put 5"
        posted = await http.post("/shop/new")
        assert (posted.status_code, posted.headers["allow"]) == (405, "GET, HEAD")


@pytest.mark.anyio
async def test_head_is_served_wherever_get_is() -> None:
    async with client(make_app()) as http:
        for path, served_by in [("/shop/new", "asgi:new"), ("/shop/items/5", "wsgi:shop"), ("/files/a", "wsgi:files")]:
            response = await http.head(path)
            assert (response.status_code, response.headers["x-served-by"]) == (200, served_by), path
            assert response.content == b""


@pytest.mark.anyio
async def test_a_prefix_serves_itself_and_below_never_a_longer_name() -> None:
    async with client(make_app()) as http:
        exact = await http.get("/files")  # not redirected to /files/
        assert (exact.status_code, exact.text) == (200, "GET /files|")
        assert (await http.get("/files/")).text == "GET /files|/"
        assert (await http.get("/files/a/b")).text == "GET /files|/a/b"
        assert (await http.get("/filesystem")).status_code == 404
        assert (await http.get("/shopping")).status_code == 404
        # The Flask app gets /shop too; the redirect to /shop/ is Werkzeug's own (strict slashes).
        shop = await http.get("/shop")
        assert shop.headers["x-served-by"] == "wsgi:shop"


@pytest.mark.anyio
async def test_a_legacy_converter_that_needs_the_app_context_still_works() -> None:
    async with client(make_app()) as http:
        ann = await http.get("/shop/users/ann")
        assert (ann.status_code, ann.text, ann.headers["x-served-by"]) == (200, "hello Ann", "wsgi:shop")
        bob = await http.get("/shop/users/bob")
        assert (bob.status_code, bob.headers["x-served-by"]) == (404, "wsgi:shop")


@pytest.mark.anyio
async def test_an_unknown_path_under_an_introspected_mount_reaches_the_legacy_app() -> None:
    async with client(make_app()) as http:
        missing = await http.get("/shop/nothing")
        assert (missing.status_code, missing.headers["x-served-by"]) == (404, "wsgi:shop")
        assert (await http.get("/nowhere")).status_code == 404


@pytest.mark.anyio
async def test_an_encoded_slash_never_moves_a_request_to_another_mount() -> None:
    async with client(make_app()) as http:
        inside = await http.get("/files/archive%2Fold")
        assert inside.headers["x-served-by"] == "wsgi:files"
        assert inside.text == "GET /files|/archive/old"  # PATH_INFO is decoded, as PEP 3333 wants
        nested = await http.get("/files/archive/old")
        assert (nested.headers["x-served-by"], nested.text) == ("wsgi:archive", "GET /files/archive|/old")
        assert (await http.get("/files%2Farchive/old")).status_code == 404


# -- through a real server, with raw request bytes ----------------------------------------------


def raw_request(base_url: str, target: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """Send `target` exactly as given (httpx would normalise it) and read the whole response."""
    host, port = base_url.removeprefix("http://").split(":")
    deadline = time.monotonic() + 10
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(f"{method} {target} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while len(data) < 1_000_000 and time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


@pytest.fixture(scope="module", params=["h11", "httptools"])
def server(request: pytest.FixtureRequest) -> Iterator[str]:
    with run_server(make_app(), http=request.param) as base_url:
        yield base_url


@pytest.mark.server
@pytest.mark.parametrize(
    "target",
    [
        "/shop/../files/x",
        "/files/../shop/",
        "/files/./x",
        "/files/%2e%2e/shop/",
        "/files/%2E%2E/shop/",
        "/files/.%2e/shop/",
        "/files/%2e/x",
        "/files/x%2F..%2Fy",
        "/files/..",
    ],
)
def test_dot_segments_are_refused_with_400_before_routing(server: str, target: str) -> None:
    status, headers, _ = raw_request(server, target)
    assert status == 400
    assert "x-served-by" not in headers


@pytest.mark.server
def test_raw_paths_are_routed_segment_by_segment(server: str) -> None:
    status, headers, body = raw_request(server, "/files/archive%2Fold")
    assert (status, headers["x-served-by"], body) == (200, "wsgi:files", b"GET /files|/archive/old")
    status, headers, body = raw_request(server, "/files/archive/old")
    assert (status, headers["x-served-by"], body) == (200, "wsgi:archive", b"GET /files/archive|/old")
    assert raw_request(server, "/files%2Farchive/old")[0] == 404
    assert raw_request(server, "/shopping")[0] == 404
    assert raw_request(server, "/files/...")[2] == b"GET /files|/..."  # three dots are a name


@pytest.mark.server
def test_a_prefix_is_served_without_a_redirect(server: str) -> None:
    status, headers, body = raw_request(server, "/files")
    assert (status, body) == (200, b"GET /files|")
    assert "location" not in headers


@pytest.mark.server
def test_methods_across_sides_on_a_real_server(server: str) -> None:
    status, headers, _ = raw_request(server, "/shop/items/5", "DELETE")
    assert (status, headers["allow"]) == (405, "GET, HEAD, OPTIONS, PUT")
    status, headers, body = raw_request(server, "/shop/new", "HEAD")
    assert (status, headers["x-served-by"], body) == (200, "asgi:new", b"")
    status, headers, body = raw_request(server, "/shop/items/5", "HEAD")
    assert (status, headers["x-served-by"], body) == (200, "wsgi:shop", b"")
