# mypy: disallow-untyped-decorators=False
from __future__ import annotations

import sys
from typing import Any

import bottle  # type: ignore[import-untyped,unused-ignore]
import httpx
import pytest

from tests.routing.apps import hybrid
from tests.routing.apps.bottle_app import bottle_app
from turnout import Turnout
from turnout.routing.bottle_routes import BottleRoutes, import_routes, parse_bottle
from turnout.routing.paths import split_path
from turnout.routing.table import Found, NotAllowed, RouteEntry
from turnout.testing import client


def served(app: Turnout, method: str, path: str) -> RouteEntry | tuple[str, ...] | None:
    result = app.table.match(method, split_path(path))
    if isinstance(result, Found):
        return result.route.entry
    return result.allow if isinstance(result, NotAllowed) else None


def bottle_entries(app: Turnout) -> dict[str, RouteEntry]:
    return {e.endpoint: e for e in app.table if e.owner == "bottle" and e.kind == "route"}


def test_a_bottle_app_is_recognised(monkeypatch: pytest.MonkeyPatch) -> None:
    app = bottle_app()
    assert isinstance(BottleRoutes.find(app), BottleRoutes)
    assert BottleRoutes.find(object()) is None
    monkeypatch.delitem(sys.modules, "bottle")
    assert BottleRoutes.find(app) is None  # an app can only be a Bottle once Bottle is imported


def test_wildcards_keep_bottle_s_filters() -> None:
    entries = bottle_entries(hybrid())
    assert entries["hello"].pattern == "/bottle/hello/{name}"
    assert entries["hello"].original == "/hello/<name>"
    assert entries["number"].pattern == "/bottle/numbers/{n:int}"
    assert entries["number"].methods == frozenset({"GET", "POST"})  # one callback for two methods: one entry
    assert entries["price"].pattern == "/bottle/prices/{x:float}"
    assert entries["static"].pattern == "/bottle/static/{filename:path}"
    assert entries["code"].pattern == "/bottle/codes/<code:re:[a-z]{3}>"
    assert entries["color"].pattern == "/bottle/colors/<value:hex>"
    assert entries["old"].pattern == "/bottle/old/{name}"  # the old `:name` syntax
    assert entries["anything"].methods is None
    assert entries["page"].pattern == "/bottle/child/page"  # a mounted Bottle app's routes are the parent's
    assert entries["hello"].defined_at is not None and "bottle_app.py" in entries["hello"].defined_at


def test_only_the_routes_bottle_reaches_are_kept() -> None:
    app = hybrid()
    entries = bottle_entries(app)
    assert "replaced_second" in entries and "replaced_first" not in entries  # the last for one rule and method
    assert "mixed_get" in entries and "mixed_any" not in entries  # ANY after GET: "every method but GET"
    # ...so the mount takes every method, and Bottle's ANY route gets a POST.
    assert served(app, "POST", "/bottle/mixed") == next(e for e in app.table if e.pattern == "/bottle")


def test_the_table_matches_paths_as_bottle_does() -> None:
    app = hybrid()
    expected = {
        "/bottle/hello/world": "hello",
        "/bottle/numbers/-3": "number",
        "/bottle/prices/1.5": "price",
        "/bottle/prices/1.2.3": "price",  # Bottle's float regex takes it; Bottle answers 400 itself
        "/bottle/static/css/site.css": "static",
        "/bottle/codes/abc": "code",
        "/bottle/colors/ff00aa": "color",
        "/bottle/old/x": "old",
        "/bottle/wsgi/deep/path": "mountpoint_wrapper",
    }
    for path, endpoint in expected.items():
        entry = served(app, "GET", path)
        assert isinstance(entry, RouteEntry) and entry.endpoint == endpoint, path
    for path in ("/bottle/numbers/x", "/bottle/codes/abcd", "/bottle/colors/xyz", "/bottle/hello/a/b"):
        entry = served(app, "GET", path)
        assert isinstance(entry, RouteEntry) and entry.kind == "mount", path


@pytest.mark.anyio
async def test_requests_reach_bottle_and_urls_reverse_as_bottle_builds_them() -> None:
    app = hybrid()
    async with client(app) as http:
        hello = await http.get("/bottle/hello/world")
        bad_float = await http.get("/bottle/prices/1.2.3")
        mounted = await http.get("/bottle/wsgi/deep")
    assert hello.headers["x-served-by"] == "wsgi:bottle"
    body = hello.json()
    assert body["self"] == app.url_path_for("bottle:hello", name="world") == "/bottle/hello/world"  # Bottle's get_url
    assert body["api"] == app.url_path_for("api:user", uid=5) == "/api/v1/users/5"
    assert bad_float.status_code == 400
    assert mounted.text == "plain /deep"
    assert app.url_path_for("bottle:color", value=255) == "/bottle/colors/ff"  # the filter's to_url
    assert app.url_path_for("bottle:number", n=3) == "/bottle/numbers/3"  # an unnamed route, by its callback
    assert app.url_path_for("bottle:/prices/<x:float>", x=2.5) == "/bottle/prices/2.5"  # by its rule


def test_building_a_url_bottle_cannot_build_gives_none() -> None:
    source = BottleRoutes(bottle_app())
    assert source.build("nothing", {}, "/bottle") is None
    assert source.build("hello", {}, "/bottle") is None  # a parameter is missing
    assert source.build("hello", {"name": "x"}, "") == "/hello/x"


def test_a_405_is_the_one_bottle_gives_alone() -> None:
    app = bottle.Bottle()

    @app.get("/only-get")
    def only_get() -> str:
        return "get"

    turnout_app = Turnout()
    turnout_app.mount_wsgi("/b", app, name="b")
    assert served(turnout_app, "POST", "/b/only-get") == ("GET", "HEAD")
    with httpx.Client(transport=httpx.WSGITransport(app=app), base_url="http://testserver") as alone:
        direct = alone.post("/only-get")
    assert direct.status_code == 405 and direct.headers["allow"] == "GET"


def test_rules_one_at_a_time() -> None:
    router = bottle.Bottle().router
    router.add_filter("hex", lambda conf: (conf or "[0-9a-f]+", None, None))
    cases = {
        "/a/<x><y:int>": "/a/{x}{y:int}",  # two wildcards side by side
        "/b/\\<x>": "/b/<x>",  # an escaped wildcard is text
        "/c/<x:re>": "/c/{x}",  # `re` without its regex is the default
        "/d/<x:hex:[0-9]+>": "/d/<x:hex:[0-9]+>",
        "/e/<:re:.*>": "/e/<:re:.*>",  # an anonymous wildcard
    }
    for rule, text in cases.items():
        pattern, shown = parse_bottle(router, rule, mount_prefix="/")
        assert shown == text, rule
    # Bottle's old syntax, read without Bottle's deprecation warning (Bottle gave it when the route was added).
    pattern, shown = parse_bottle(router, "/f/:x#[0-9]+#", mount_prefix="")
    assert shown == "/f/:x#[0-9]+#"
    assert pattern.convert(["12"]) == {"x": "12"}


def test_conversions_never_refuse_a_value_bottle_s_regex_took() -> None:
    pattern, _ = parse_bottle(bottle.Bottle().router, "/n/<n:int>")
    assert pattern.convert(["3"]) == {"n": 3}
    pattern, _ = parse_bottle(bottle.Bottle().router, "/f/<x:float>")
    assert pattern.convert(["1.2.3"]) == {"x": "1.2.3"}  # Bottle answers 400 itself


def test_routes_bottle_never_matches_and_mounted_apps() -> None:
    app = bottle.Bottle()

    @app.get("no-slash")
    def never() -> str:
        return "never"

    @app.get("/kept")
    def kept() -> str:
        return "kept"

    @app.route("/sub/<:re:.*>", method="PROXY")
    def proxy() -> str:
        return "proxy"

    @app.get("/sub/<:re:.*>")
    def shadowed() -> str:
        return "never: PROXY is tried first"

    @app.route("/any", method="ANY")
    def any_method() -> str:
        return "any"

    routes, hidden = import_routes(app, "")
    assert {(r.endpoint, r.methods) for r in routes} == {
        ("kept", frozenset({"GET"})),
        ("proxy", None),
        ("any_method", None),
    }
    assert not hidden


def test_an_unnamed_route_without_a_callback_name_is_known_by_its_rule() -> None:
    class Callback:
        def __call__(self) -> str:
            return "callable"

    app: Any = bottle.Bottle()
    app.route("/callable", callback=Callback())
    (route,) = import_routes(app, "")[0]
    assert route.endpoint == "/callable"
    assert BottleRoutes(app).build("/callable", {}, "/b") == "/b/callable"
