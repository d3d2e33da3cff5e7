from __future__ import annotations

import sys
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Mount, Route, Router

from tests.routing.apps.asgi_apps import fastapi_app, raw_asgi, starlette_app
from turnout import DuplicateRouteError, Turnout
from turnout.routing.first_match import first_match_wins
from turnout.routing.imported import ImportedRoute
from turnout.routing.introspection import introspect_asgi
from turnout.routing.paths import split_path
from turnout.routing.pattern import parse_starlette
from turnout.routing.starlette_routes import StarletteRoutes, import_routes
from turnout.routing.table import Found, NotAllowed, RouteEntry
from turnout.testing import client


def served(app: Turnout, method: str, path: str) -> RouteEntry | tuple[str, ...] | None:
    result = app.table.match(method, split_path(path))
    if isinstance(result, Found):
        return result.route.entry
    return result.allow if isinstance(result, NotAllowed) else None


def entries_of(app: Turnout, owner: str) -> dict[str, RouteEntry]:
    return {e.endpoint: e for e in app.table if e.owner == owner and e.kind == "route"}


def new_app(**mounts: Any) -> Turnout:
    app = Turnout()
    for name, asgi_app in mounts.items():
        app.mount_asgi(f"/{name}", asgi_app, name=name)
    return app


async def ok(request: Request) -> Response:
    return JSONResponse({"path": request.url.path})


# -- FastAPI ------------------------------------------------------------------------------------


def test_fastapi_routes_of_included_routers_are_imported_with_their_prefixes() -> None:
    entries = entries_of(new_app(api=fastapi_app()), "api")
    assert entries["user"].pattern == "/api/v1/users/{uid}"
    assert entries["user"].original == "/v1/users/{uid}"
    assert entries["user"].methods == frozenset({"GET"})
    assert entries["user"].side == "asgi"
    assert entries["create_user"].pattern == "/api/v1/users/"
    assert entries["settings"].pattern == "/api/v1/users/admin/settings"  # a router included in a router
    assert entries["item"].methods == frozenset({"GET"}) and entries["item_update"].methods == frozenset({"POST"})
    assert entries["raw"].pattern == "/api/raw/{path:path}" and entries["raw"].methods is None
    assert "openapi" in entries
    assert entries["user"].defined_at is not None and "asgi_apps.py" in entries["user"].defined_at


def test_an_older_fastapi_without_route_contexts_is_read_from_app_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    # Older FastAPI copies included routes into `app.routes`: the plain walk finds them.
    monkeypatch.setitem(sys.modules, "fastapi.routing", None)
    app = Starlette(routes=[Route("/v1/users/{uid}", ok, name="user")])
    (route,) = import_routes(app, "/api")[0]
    assert route.text == "/api/v1/users/{uid}"


@pytest.mark.anyio
async def test_requests_reach_the_fastapi_app_and_urls_reverse_as_it_builds_them() -> None:
    app = new_app(api=fastapi_app())
    async with client(app) as http:
        user = await http.get("/api/v1/users/3")
        created = await http.post("/api/v1/users/")
        refused = await http.delete("/api/v1/users/3")
    assert user.json() == {"view": "user", "uid": 3}
    assert user.headers["x-served-by"] == "asgi:api"
    assert created.json() == {"view": "create_user"}
    # A method the app's route refuses still reaches the app, which answers as it would alone.
    assert refused.status_code == 405 and refused.headers["allow"] == "GET"
    assert refused.headers["x-served-by"] == "asgi:api"
    assert app.url_path_for("api:user", uid=3) == "/api/v1/users/3"
    source = StarletteRoutes.find(fastapi_app())
    assert source is not None
    assert source.build("user", {"uid": 3}, "/api") == "/api/v1/users/3"
    assert source.build("nothing", {}, "/api") is None


# -- Starlette ----------------------------------------------------------------------------------


def test_starlette_routes_mounts_and_endpoints_are_imported() -> None:
    entries = entries_of(new_app(st=starlette_app()), "st")
    assert entries["home"].pattern == "/st/" and entries["home"].methods == frozenset({"GET", "HEAD"})
    assert entries["admin:user"].pattern == "/st/admin/users/{name}"  # a named Mount names its routes
    assert entries["admin:user"].original == "/admin/users/{name}"
    assert entries["leaf"].pattern == "/st/nested/deeper/leaf"  # unnamed Mounts, one in another
    assert entries["files"].pattern == "/st/files/{path:path}"  # a Mount of an app without routes
    assert entries["/opaque"].pattern == "/st/opaque/{path:path}"
    assert entries["counter"].methods == frozenset({"GET", "HEAD", "POST"})  # an HTTPEndpoint's handlers
    assert entries["counter"].defined_at is not None and "asgi_apps.py" in entries["counter"].defined_at
    assert entries["thing"].methods == frozenset({"GET", "HEAD", "DELETE"})
    assert entries["thing_put"].methods == frozenset({"PUT"})  # Starlette gives GET to the first route
    patterns = {e.pattern for e in entries.values()}
    assert "/st/ws" not in patterns  # WebSocket routes: the mount's prefix forwards them


def test_host_routes_are_left_to_the_mount_prefix() -> None:
    source = StarletteRoutes.find(starlette_app())
    assert source is not None and source.takes_every_method
    plain = StarletteRoutes.find(Starlette(routes=[Route("/", ok)]))
    assert plain is not None and not plain.takes_every_method


def test_the_table_matches_paths_as_starlette_does() -> None:
    app = new_app(st=starlette_app())
    expected = {
        "/st/": "home",
        "/st/things/3": "thing",
        "/st/admin/users/ann": "admin:user",
        "/st/nested/deeper/leaf": "leaf",
        "/st/files/": "files",
        "/st/files/a/b": "files",
    }
    for path, endpoint in expected.items():
        entry = served(app, "GET", path)
        assert isinstance(entry, RouteEntry) and entry.endpoint == endpoint, path
    put = served(app, "PUT", "/st/things/3")
    assert isinstance(put, RouteEntry) and put.endpoint == "thing_put"
    for path in ("/st/things/x", "/st/files", "/st/ws"):
        entry = served(app, "GET", path)
        assert isinstance(entry, RouteEntry) and entry.kind == "mount", path


@pytest.mark.anyio
async def test_requests_reach_the_starlette_app_with_its_own_answers() -> None:
    app = new_app(st=starlette_app())
    async with client(app) as http:
        admin = await http.get("/st/admin/users/ann")
        refused = await http.patch("/st/things/3")
        on_host = await http.get("/st/", headers={"host": "api.example.com"})
    assert admin.json() == {"view": "admin_user", "name": "ann"}
    # Starlette's own url_path_for, under the mount's prefix.
    assert app.url_path_for("st:admin:user", name="x") == "/st" + starlette_app().url_path_for("admin:user", name="x")
    assert refused.status_code == 405 and set(refused.headers["allow"].split(", ")) == frozenset(
        {"GET", "HEAD", "DELETE"}
    )
    assert on_host.json() == {"view": "home"}  # Starlette tries routes in order: "/" comes before the Host


@pytest.mark.anyio
async def test_a_cors_preflight_still_reaches_the_app_s_middleware() -> None:
    api = Starlette(
        routes=[Route("/items", ok, methods=["GET"])],
        middleware=[Middleware(CORSMiddleware, allow_origins=["https://new.example"], allow_methods=["GET"])],
    )
    app = new_app(api=api)
    async with client(app) as http:
        preflight = await http.options(
            "/api/items",
            headers={"Origin": "https://new.example", "Access-Control-Request-Method": "GET"},
        )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "https://new.example"


# -- precedence and methods across sides ----------------------------------------------------------


@pytest.mark.anyio
async def test_an_imported_route_takes_its_methods_from_a_legacy_route_with_the_same_pattern() -> None:
    from flask import Flask

    legacy = Flask("legacy")

    @legacy.route("/api/items/<item_id>", methods=["GET", "POST", "DELETE"])
    def item(item_id: str) -> str:
        return f"legacy {item_id}"

    app = Turnout()
    app.mount_wsgi("/", legacy, name="legacy")
    app.mount_asgi("/api", fastapi_app(), name="api")
    entries = {(e.side, e.endpoint): e for e in app.table}
    assert entries["wsgi", "item"].status == "active"  # DELETE stays with the legacy app
    async with client(app) as http:
        new = await http.get("/api/items/3")
        updated = await http.post("/api/items/3")
        deleted = await http.delete("/api/items/3")
    assert new.json() == {"view": "item", "item_id": "3"}
    assert updated.json() == {"view": "item_update", "item_id": "3"}
    assert deleted.text == "legacy 3" and deleted.headers["x-served-by"] == "wsgi:legacy"


def test_a_mounted_app_s_routes_win_over_a_broader_legacy_route() -> None:
    from flask import Flask

    legacy = Flask("legacy")

    @legacy.get("/api/<path:rest>")
    def everything(rest: str) -> str:
        return rest

    app = Turnout()
    app.mount_wsgi("/", legacy, name="legacy")
    app.mount_asgi("/api", fastapi_app(), name="api")
    entry = served(app, "GET", "/api/v1/users/3")
    assert isinstance(entry, RouteEntry) and (entry.side, entry.endpoint) == ("asgi", "user")


def test_a_native_route_and_an_imported_one_with_the_same_pattern_and_methods_are_duplicates() -> None:
    app = new_app(api=Starlette(routes=[Route("/items", ok, name="items")]))
    app.add_route("/api/items", ok, methods=["GET"], name="native_items")
    with pytest.raises(DuplicateRouteError) as info:
        _ = app.table
    assert "native_items" in str(info.value) and "'items'" in str(info.value)


def test_apps_turnout_cannot_read_stay_opaque_prefixes() -> None:
    inner = Turnout()
    inner.add_route("/x", ok)
    app = new_app(raw=raw_asgi, inner=inner, router=Router([Route("/r", ok, name="r")]))
    assert introspect_asgi(raw_asgi) is None
    owners = {e.owner for e in app.table if e.kind == "route"}
    assert owners == {"router"}


def test_a_mount_at_the_root_imports_routes_without_a_prefix() -> None:
    app = Turnout()
    app.mount_asgi("/", Starlette(routes=[Route("/x", ok, name="x")]), name="root")
    assert {e.pattern for e in app.table if e.kind == "route"} == {"/x"}


class OnlyPost(HTTPEndpoint):
    async def post(self, request: Request) -> Response:
        return JSONResponse({})


class RawApp:
    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await (await ok(Request(scope, receive)))(scope, receive, send)


def test_methods_of_endpoints_and_raw_apps() -> None:
    app = Starlette(routes=[Route("/post", OnlyPost), Route("/raw", RawApp(), name="raw"), Mount("", routes=[])])
    routes = {r.endpoint: r for r in import_routes(app, "")[0]}
    assert routes["OnlyPost"].methods == frozenset({"POST"})
    assert routes["raw"].methods is None


# -- first match ---------------------------------------------------------------------------------


def route(methods: set[str] | None, endpoint: str, path: str = "/x") -> ImportedRoute:
    return ImportedRoute(
        parse_starlette(path), path, path, None if methods is None else frozenset(methods), endpoint, None
    )


def test_a_later_route_keeps_the_methods_the_earlier_ones_refuse() -> None:
    kept, hidden = first_match_wins(
        [route({"GET"}, "a"), route({"GET"}, "b"), route({"GET", "POST"}, "c"), route(None, "d"), route({"PUT"}, "e")],
        by_method=True,
    )
    assert [(r.endpoint, r.methods) for r in kept] == [("a", frozenset({"GET"})), ("c", frozenset({"POST"}))]
    assert hidden  # "d" takes every method but GET and POST
    kept, hidden = first_match_wins([route(None, "a"), route({"GET"}, "b"), route({"GET"}, "c", "/y")], by_method=True)
    assert [r.endpoint for r in kept] == ["a", "c"] and not hidden
    kept, _ = first_match_wins([route({"GET"}, "a"), route({"POST"}, "b")], by_method=False)
    assert [r.endpoint for r in kept] == ["a"]  # Django: the first pattern takes every method
