from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import Any

import pytest
from flask import Blueprint, Flask
from werkzeug.routing import BuildError, Map, Rule

from turnout.routing.werkzeug_routes import build_url, defined_at, find_url_map, has_host_rules, import_routes

LINE_OF: dict[str, int] = {}  # endpoint -> line where its view is defined, filled below


def logged(func: Callable[..., str]) -> Callable[..., str]:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> str:
        return func(*args, **kwargs)

    return wrapper


def make_shop() -> Flask:
    app = Flask("shop")
    items = Blueprint("items", __name__, url_prefix="/items")

    @app.get("/")
    def home() -> str:
        return "home"

    @items.route("/<int:item_id>", methods=["GET", "PUT"])
    @logged
    def item(item_id: int) -> str:
        return str(item_id)

    @items.post("/")
    def create() -> str:
        return "created"

    app.register_blueprint(items)
    LINE_OF.update(home=home.__code__.co_firstlineno, item=item.__wrapped__.__code__.co_firstlineno)  # type: ignore[attr-defined]
    return app


def test_find_url_map() -> None:
    app = make_shop()
    assert find_url_map(app) is app.url_map

    def plain(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        return [b""]

    assert find_url_map(plain) is None

    class LooksLikeFlask:
        url_map = {"/": "home"}  # not a Werkzeug Map: the app stays opaque

    assert find_url_map(LooksLikeFlask()) is None


def test_import_routes_of_a_flask_app_with_a_blueprint() -> None:
    app = make_shop()
    routes = {r.endpoint: r for r in import_routes(app, app.url_map, "/shop")}
    assert set(routes) == {"home", "items.item", "items.create", "static"}

    item = routes["items.item"]
    assert item.text == "/shop/items/{item_id:int}"
    assert item.original == "/items/<int:item_id>"
    assert item.methods == frozenset({"GET", "HEAD", "OPTIONS", "PUT"})
    assert item.defined_at == f"{__file__}:{LINE_OF['item']}"  # through the decorator, to the view itself
    assert routes["home"].text == "/shop/"
    assert routes["home"].defined_at == f"{__file__}:{LINE_OF['home']}"
    assert routes["items.create"].text == "/shop/items/"
    assert routes["static"].text == "/shop/static/{filename:path}"


def test_import_routes_at_the_root() -> None:
    app = make_shop()
    texts = {r.text for r in import_routes(app, app.url_map, "")}
    assert "/items/{item_id:int}" in texts and "/" in texts


def test_rules_bound_to_a_subdomain_or_a_host_are_left_to_the_mount_prefix() -> None:
    url_map = Map([Rule("/", endpoint="root"), Rule("/", subdomain="api", endpoint="api_root")])
    assert [r.endpoint for r in import_routes(object(), url_map, "")] == ["root"]

    by_host = Map([Rule("/", host="example.com", endpoint="root")], host_matching=True)
    assert import_routes(object(), by_host, "") == []


def test_a_mount_must_take_every_method_when_rules_depend_on_the_host() -> None:
    assert not has_host_rules(Map([Rule("/", endpoint="root")]))
    assert has_host_rules(Map([Rule("/", endpoint="root"), Rule("/", subdomain="api", endpoint="api")]))
    assert has_host_rules(Map([Rule("/", host="example.com", endpoint="root")], host_matching=True))
    assert not has_host_rules(Map([Rule("/", subdomain="api", endpoint="api", build_only=True)]))


def test_repeated_slashes_in_a_rule_are_merged_as_werkzeug_does() -> None:
    (merged,) = import_routes(object(), Map([Rule("/a//b", endpoint="ab")]), "")
    assert (merged.text, merged.original) == ("/a/b", "/a//b")
    (kept,) = import_routes(object(), Map([Rule("/a//b", endpoint="ab")], merge_slashes=False), "")
    assert kept.text == "/a//b"


def test_rules_werkzeug_never_matches_over_http_are_left_out() -> None:
    url_map = Map(
        [
            Rule("/kept", endpoint="kept"),
            Rule("/docs/<page>", endpoint="external", build_only=True),
            Rule("/ws", endpoint="socket", websocket=True),
        ]
    )
    assert [r.endpoint for r in import_routes(object(), url_map, "")] == ["kept"]


def test_a_rule_without_methods_takes_any_method() -> None:
    url_map = Map([Rule("/any", endpoint="any")])
    (route,) = import_routes(object(), url_map, "")
    assert route.methods is None
    assert route.defined_at is None  # no view function to point at


def test_defined_at() -> None:
    assert defined_at(None) is None
    assert defined_at(len) is None  # a builtin has no code object

    def view() -> None:
        pass

    assert defined_at(view) == f"{__file__}:{view.__code__.co_firstlineno}"


def test_build_url_reverses_with_werkzeug_under_the_prefix() -> None:
    app = make_shop()
    assert build_url(app.url_map, "/shop", "items.item", {"item_id": 3}) == "/shop/items/3"
    assert build_url(app.url_map, "", "home", {}) == "/"
    with pytest.raises(BuildError):
        build_url(app.url_map, "/shop", "nowhere", {})
