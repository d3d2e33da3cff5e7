from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterable

import httpx
import pytest
from flask import Flask
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Mount, NoMatchFound, Route, WebSocketRoute
from starlette.websockets import WebSocket

from turnout import DuplicateRouteError, Turnout
from turnout._types import Environ, StartResponse
from turnout.lifespan import LifespanError
from turnout.testing import client


def shop() -> Flask:
    app = Flask("shop")

    @app.get("/products/<int:product_id>")
    def product(product_id: int) -> str:
        return f"legacy product {product_id}"

    @app.post("/products/<int:product_id>")
    def update(product_id: int) -> str:
        return f"updated {product_id}"

    @app.get("/")
    def index() -> str:
        return "legacy index"

    return app


async def product_v2(request: Request) -> Response:
    return JSONResponse({"id": request.path_params["product_id"], "url": str(request.url_for("shop:index"))})


def api() -> Starlette:
    async def items(request: Request) -> Response:
        return JSONResponse({"root_path": request.scope["root_path"], "path": request.url.path})

    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        await websocket.send_text("hello")
        await websocket.close()

    return Starlette(routes=[Route("/items", items, name="items"), WebSocketRoute("/ws", chat)])


def hybrid() -> Turnout:
    app = Turnout()
    app.mount_wsgi("/shop", shop(), name="shop")
    app.mount_asgi("/api", api(), name="api")
    app.add_route("/shop/products/{product_id:int}", product_v2, methods=["GET"], name="product_v2")
    return app


@pytest.mark.anyio
async def test_a_new_route_takes_over_a_legacy_one_for_its_methods_only() -> None:
    async with client(hybrid()) as http:
        new = await http.get("/shop/products/3")
        old = await http.post("/shop/products/3")
    assert new.json()["id"] == 3
    assert new.headers["x-served-by"] == "asgi:product_v2"
    assert old.text == "updated 3"
    assert old.headers["x-served-by"] == "wsgi:shop"


def test_the_table_lists_both_sides_and_marks_replaced_routes() -> None:
    entries = {(e.pattern, e.side): e for e in hybrid().table}
    assert entries[("/shop/products/{product_id:int}", "asgi")].status == "active"
    legacy = [e for e in hybrid().table if e.endpoint == "product"][0]
    assert legacy.status == "replaced"
    assert legacy.original == "/products/<int:product_id>"
    assert entries[("/api", "asgi")].kind == "mount"
    assert entries[("/shop", "wsgi")].kind == "mount"
    assert entries[("/shop/products/{product_id:int}", "asgi")].defined_at is not None


@pytest.mark.anyio
async def test_an_asgi_mount_gets_its_prefix_as_root_path() -> None:
    async with client(hybrid()) as http:
        response = await http.get("/api/items")
    assert response.json() == {"root_path": "/api", "path": "/api/items"}
    assert response.headers["x-served-by"] == "asgi:api"


@pytest.mark.anyio
async def test_urls_reverse_across_sides() -> None:
    app = hybrid()
    assert app.url_path_for("shop:product", product_id=3) == "/shop/products/3"
    assert app.url_path_for("product_v2", product_id=4) == "/shop/products/4"
    assert app.url_path_for("api:items") == "/api/items"
    with pytest.raises(NoMatchFound):
        app.url_path_for("shop:nothing")
    async with client(app) as http:
        response = await http.get("/shop/products/5")
    assert response.json()["url"] == "http://testserver/shop/"


@pytest.mark.anyio
async def test_errors_render_as_json_when_asked_and_html_otherwise() -> None:
    async with client(hybrid()) as http:
        page = await http.get("/nowhere")
        data = await http.get("/nowhere", headers={"Accept": "application/json"})
        not_allowed = await http.delete("/shop/products/3", headers={"Accept": "application/json"})
    assert page.status_code == 404 and "<h1>404 Not Found</h1>" in page.text
    assert data.json() == {"error": "Not Found", "status": 404, "request_id": data.headers["x-request-id"]}
    assert page.headers["x-request-id"] in page.text
    assert not_allowed.status_code == 405
    assert not_allowed.headers["allow"] == "GET, HEAD, OPTIONS, POST"


@pytest.mark.anyio
async def test_user_exception_handlers_still_win() -> None:
    async def custom_404(request: Request, exc: Exception) -> Response:
        return PlainTextResponse("custom", status_code=404)

    app = Turnout(exception_handlers={404: custom_404})
    async with client(app) as http:
        assert (await http.get("/x")).text == "custom"


def test_two_new_routes_with_the_same_pattern_fail_naming_both() -> None:
    app = Turnout()
    app.add_route("/a/{x:int}", product_v2, name="first")
    app.add_route("/a/{y:int}", product_v2, name="second")
    with pytest.raises(DuplicateRouteError) as info:
        _ = app.table
    assert "'first'" in str(info.value) and "'second'" in str(info.value)
    assert str(info.value).count("test_app.py") == 2


def test_different_methods_on_one_pattern_are_not_duplicates() -> None:
    app = Turnout()
    app.add_route("/a", product_v2, methods=["GET"], name="read")
    app.add_route("/a", product_v2, methods=["POST"], name="write")
    assert len(app.table) == 2


def test_mount_names_must_be_unique() -> None:
    app = Turnout()
    app.mount_wsgi("/a", shop(), name="x")
    with pytest.raises(ValueError, match="'x' already exists"):
        app.mount_asgi("/b", api(), name="x")


def test_mount_names_default_to_the_prefix() -> None:
    app = Turnout()
    assert app.mount_wsgi("/old/shop", shop()).name == "old_shop"
    assert app.mount_wsgi("/", shop()).name == "root"


@pytest.mark.anyio
async def test_routes_argument_takes_starlette_routes_and_named_mounts() -> None:
    async def hello(request: Request) -> Response:
        return PlainTextResponse("hello")

    app = Turnout(routes=[Route("/hello", hello), Mount("/api", app=api(), name="api")])
    async with client(app) as http:
        assert (await http.get("/hello")).text == "hello"
        assert (await http.get("/api/items")).status_code == 200
    with pytest.raises(TypeError):
        Turnout(routes=[Mount("/x", app=api())])


@pytest.mark.anyio
async def test_lifespans_of_the_app_and_of_asgi_mounts_run() -> None:
    events: list[str] = []

    @contextlib.asynccontextmanager
    async def sub_lifespan(app: Starlette) -> AsyncIterator[None]:
        events.append("api up")
        yield
        events.append("api down")

    @contextlib.asynccontextmanager
    async def main_lifespan(app: Turnout) -> AsyncIterator[dict[str, str]]:
        events.append("app up")
        yield {"greeting": "hi"}
        events.append("app down")

    async def greet(request: Request) -> Response:
        return PlainTextResponse(request.state.greeting)

    app = Turnout(lifespan=main_lifespan)
    app.mount_asgi("/api", Starlette(lifespan=sub_lifespan), name="api")
    app.add_route("/greet", greet)
    async with client(app) as http:
        assert (await http.get("/greet")).text == "hi"
    assert events == ["api up", "app up", "app down", "api down"]


@pytest.mark.anyio
async def test_a_failing_sub_app_start_up_fails_the_app() -> None:
    @contextlib.asynccontextmanager
    async def broken(app: Starlette) -> AsyncIterator[None]:
        raise RuntimeError("no database")
        yield

    app = Turnout()
    app.mount_asgi("/api", Starlette(lifespan=broken), name="api")
    with pytest.raises(LifespanError):
        async with client(app):
            pass


def test_websockets_reach_asgi_mounts_and_are_closed_on_the_legacy_side() -> None:
    from websockets.exceptions import ConnectionClosed, InvalidStatus
    from websockets.sync.client import connect

    from turnout.testing import run_server

    def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        start_response("200 OK", [])
        return [b"legacy"]

    app = Turnout()
    app.mount_asgi("/api", api(), name="api")
    app.mount_wsgi("/", legacy, name="legacy")
    with run_server(app) as base:
        ws_base = base.replace("http://", "ws://")
        with connect(ws_base + "/api/ws", open_timeout=5) as ws:
            assert ws.recv(timeout=5) == "hello"
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            with connect(ws_base + "/legacy-ws", open_timeout=5) as ws:
                ws.recv(timeout=5)
        with pytest.raises((InvalidStatus, ConnectionClosed)):
            with connect(ws_base + "/api/nothing", open_timeout=5) as ws:
                ws.recv(timeout=5)
        assert httpx.get(base + "/anything").text == "legacy"


@pytest.mark.anyio
async def test_a_flask_app_with_subdomain_rules_takes_every_method_under_its_prefix() -> None:
    flask_app = Flask("hosts", subdomain_matching=True)
    flask_app.config["SERVER_NAME"] = "example.com"

    @flask_app.get("/report", subdomain="admin")
    def report() -> str:
        return "admin report"

    async def post_report(request: Request) -> Response:
        return PlainTextResponse("new report")

    app = Turnout()
    app.mount_wsgi("/shop", flask_app, name="shop")
    app.add_route("/shop/report", post_report, methods=["POST"])
    async with client(app, base_url="http://admin.example.com") as http:
        response = await http.get("/shop/report")
    assert response.status_code == 200
    assert response.text == "admin report"
