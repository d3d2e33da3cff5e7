from __future__ import annotations

import sys
from typing import Any

import pytest

from tests.routing.apps import hybrid
from tests.routing.apps.pyramid_app import Configurator, named, pyramid_app
from turnout import Turnout
from turnout.routing.paths import split_path
from turnout.routing.pyramid_routes import PyramidRoutes, import_routes, parse_pyramid
from turnout.routing.table import Found, RouteEntry
from turnout.testing import client


def served(app: Turnout, method: str, path: str) -> RouteEntry | None:
    result = app.table.match(method, split_path(path))
    return result.route.entry if isinstance(result, Found) else None


def pyramid_entries(app: Turnout) -> dict[str, RouteEntry]:
    return {e.endpoint: e for e in app.table if e.owner == "pyr" and e.kind == "route"}


def test_a_pyramid_app_with_url_dispatch_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    app = pyramid_app()
    assert isinstance(PyramidRoutes.find(app), PyramidRoutes)
    assert PyramidRoutes.find(object()) is None
    with Configurator() as config:
        traversal_only = config.make_wsgi_app()
    assert PyramidRoutes.find(traversal_only) is None  # no routes: traversal, an opaque prefix
    monkeypatch.delitem(sys.modules, "pyramid.router")
    assert PyramidRoutes.find(app) is None


def test_patterns_methods_and_names_are_pyramid_s() -> None:
    entries = pyramid_entries(hybrid())
    assert (entries["user"].pattern, entries["user"].original) == (r"/pyr/users/{id:\d+}", r"/users/{id:\d+}")
    assert entries["user"].methods == frozenset({"GET", "HEAD"})  # the route's request_method (GET implies HEAD)
    assert entries["update_user"].methods == frozenset({"POST"})
    assert entries["files"].pattern == "/pyr/files/{subpath:path}"
    assert entries["tail"].pattern == "/pyr/tail{rest:path}"
    assert entries["old"].pattern == "/pyr/old/{name}"  # the old `:name` syntax
    assert entries["by_view"].methods == frozenset({"DELETE", "PATCH", "PUT"})  # the views' request_method
    assert entries["all_but_post"].methods is None  # not_("POST"): the table cannot say "all but"
    assert entries["home"].methods is None
    assert entries["no_view"].methods is None and entries["no_view"].defined_at is None
    assert entries["things"].methods == frozenset({"GET"})
    assert entries["things"].defined_at is not None and "pyramid_app.py" in entries["things"].defined_at
    assert entries["user"].defined_at is not None and "pyramid_app.py" in entries["user"].defined_at


def test_a_later_route_keeps_only_the_methods_earlier_ones_refuse() -> None:
    entries = pyramid_entries(hybrid())
    assert entries["shadow"].methods == frozenset({"GET", "HEAD"})
    assert "shadow_any" not in entries  # it takes "every method but GET": left to the mount


def test_a_pyramid_mount_takes_every_method_its_routes_refuse() -> None:
    app = hybrid()
    # Pyramid never answers 405: a route that refuses a method lets the next one try, then traversal.
    entry = served(app, "PUT", "/pyr/users/3")
    assert entry is not None and entry.kind == "mount"
    entry = served(app, "POST", "/pyr/users/3")
    assert entry is not None and entry.endpoint == "update_user"


def test_the_table_matches_paths_as_pyramid_does() -> None:
    app = hybrid()
    expected = {
        "/pyr/": "home",
        "/pyr/users/42": "user",
        "/pyr/files/": "files",
        "/pyr/files/a/b": "files",
        "/pyr/tail": "tail",
        "/pyr/tailor/made": "tail",
        "/pyr/old/x": "old",
    }
    for path, endpoint in expected.items():
        entry = served(app, "GET", path)
        assert entry is not None and entry.endpoint == endpoint, path
    for path in ("/pyr/users/abc", "/pyr/users/1/2"):
        entry = served(app, "GET", path)
        assert entry is not None and entry.kind == "mount", path


@pytest.mark.anyio
async def test_requests_reach_pyramid_and_urls_reverse_as_pyramid_builds_them() -> None:
    app = hybrid()
    async with client(app) as http:
        user = await http.get("/pyr/users/42")
        files = await http.get("/pyr/files/a/b")
        refused = await http.put("/pyr/users/42")
    assert user.headers["x-served-by"] == "wsgi:pyr"
    body = user.json()
    assert body["self"] == app.url_path_for("pyr:user", id=42) == "/pyr/users/42"  # Pyramid's route_path
    assert body["api"] == app.url_path_for("api:user", uid=9)
    assert files.json() == {"view": "files", "subpath": ["a", "b"]}
    assert refused.status_code == 404  # Pyramid's own answer
    assert app.url_path_for("pyr:files", subpath=("a", "b")) == "/pyr/files/a/b"


def test_building_a_url_pyramid_cannot_build_gives_none() -> None:
    app = pyramid_app()
    source = PyramidRoutes.find(app)
    assert source is not None
    assert source.build("nothing", {}, "/pyr") is None
    assert source.build("user", {}, "/pyr") is None  # a parameter is missing
    assert source.build("user", {"id": 1}, "") == "/users/1"


def test_patterns_one_at_a_time() -> None:
    cases = {
        "users": "/users",  # Pyramid puts the leading "/"
        "/a/{x:[^/]+}": "/a/{x}",
        "/b/{x:.+}": "/b/{x:.+}",
        "/c/{y:\\d{4}}": "/c/{y:\\d{4}}",
        "/d/*": "/d/",  # a star without a name
        "/e/:x/{y}": "/e/:x/{y}",  # the old syntax only where there is no new one
    }
    for pattern, text in cases.items():
        assert parse_pyramid(pattern)[1] == text, pattern
    spanning, _ = parse_pyramid("/b/{x:.+}")
    assert spanning.tail is not None  # a regex that may match "/" takes the rest of the path


def test_without_introspection_only_the_route_s_own_methods_are_known() -> None:
    with Configurator(introspection=False) as config:
        config.add_route("get_only", "/get-only", request_method="GET")
        config.add_view(named, route_name="get_only", request_method="POST", renderer="json")
        config.add_route("xhr", "/xhr", xhr=True)  # a predicate the path cannot decide: the app does
        app: Any = config.make_wsgi_app()
    source = PyramidRoutes.find(app)
    assert source is not None
    routes = {route.endpoint: route for route in import_routes(app, source.mapper, "")}
    assert routes["get_only"].methods == frozenset({"GET", "HEAD"}) and routes["get_only"].defined_at is None
    assert routes["xhr"].methods is None
