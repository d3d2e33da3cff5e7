from __future__ import annotations

import logging
from typing import Any

import pytest
from flask import Flask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError

from tests.routing.test_table import legacy, mount, new
from turnout import Turnout
from turnout.demo import create_app
from turnout.routing.pattern import parse_starlette, parse_werkzeug
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable
from turnout.routing.warnings import (
    RouteWarning,
    _served,
    format_warnings,
    log_table_warnings,
    representative_path,
    table_warnings,
)
from turnout.testing import client

HERE = __file__


async def v2(request: Request) -> Response:
    return PlainTextResponse("new")


def hybrid(rules: dict[str, list[str]], routes: dict[str, list[str]]) -> Turnout:
    """A Flask app with `rules` (rule -> methods) mounted at `/shop`, and new routes (path -> methods)."""
    legacy_app = Flask(__name__)
    for index, (rule, methods) in enumerate(rules.items()):
        legacy_app.add_url_rule(rule, f"view{index}", _view, methods=methods)
    app = Turnout()
    app.mount_wsgi("/shop", legacy_app, name="shop")
    for index, (path, new_methods) in enumerate(routes.items()):
        app.add_route(path, v2, methods=new_methods, name=f"new{index}")
    return app


def _view(**params: Any) -> str:
    return "legacy"


def kinds(table: RouteTable) -> list[tuple[str, str, str]]:
    return [(w.kind, w.legacy.pattern, w.new.pattern) for w in table_warnings(table)]


# -- no false warnings ----------------------------------------------------------------------------


def test_the_demo_has_no_warnings() -> None:
    assert table_warnings(create_app().table) == []


@pytest.mark.parametrize(
    ("rule", "path"),
    [
        ("/products/<int:id>", "/shop/products/{id:int}"),  # Werkzeug's \d+ and Starlette's [0-9]+ agree
        ("/files/<uuid:u>", "/shop/files/{u:uuid}"),
        ("/users/<name>", "/shop/users/{name}"),
        ("/users/<name>", "/shop/users/{other_name}"),  # the name of a parameter does not matter
    ],
)
def test_a_deliberate_replacement_is_not_a_warning(rule: str, path: str) -> None:
    table = hybrid({rule: ["GET"]}, {path: ["GET"]}).table
    assert table_warnings(table) == []
    assert [e.status for e in table if e.side == "wsgi" and e.endpoint == "view0"] == ["replaced"]


def test_a_static_legacy_route_is_not_hidden_by_a_new_parameter() -> None:
    # `/users/new` beats `/users/{id}` by precedence (static first): the legacy route keeps its URL.
    table = hybrid({"/users/new": ["GET"]}, {"/shop/users/{id}": ["GET"]}).table
    assert table_warnings(table) == []
    found = table.match("GET", ["shop", "users", "new"])
    assert isinstance(found, Found) and found.route.entry.side == "wsgi"


def test_a_table_with_one_side_only_has_no_warnings() -> None:
    assert table_warnings(RouteTable([legacy("/a/<path:p>")])) == []
    assert table_warnings(RouteTable([new("/a/{p}"), mount("/b", side="asgi")])) == []


def test_new_methods_that_the_legacy_route_never_served_replace_nothing() -> None:
    # Like the demo's cart: a new POST next to a legacy GET takes nothing from it.
    assert table_warnings(hybrid({"/cart": ["GET"]}, {"/shop/cart": ["POST"]}).table) == []


def test_routes_with_disjoint_methods_do_not_disagree() -> None:
    assert table_warnings(hybrid({"/users/<id>": ["POST"]}, {"/shop/users/{id:int}": ["GET"]}).table) == []


# -- shadowed -------------------------------------------------------------------------------------


def test_a_new_route_that_takes_a_legacy_routes_urls_by_precedence() -> None:
    app = hybrid({"/users/<id>/<path:rest>": ["GET", "POST"]}, {"/shop/users/{id}/{tab}": ["GET", "POST"]})
    [warning] = table_warnings(app.table)
    assert warning.kind == "shadowed"
    assert warning.legacy.endpoint == "view0" and warning.new.endpoint == "new0"
    assert warning.example == "/shop/users/sample-x/sample-x"
    assert warning.message.startswith(
        f"new route /shop/users/{{id}}/{{tab}} [GET, HEAD, POST] ('new0', defined at {HERE}:"
    )
    assert (
        f"hides legacy route /shop/users/{{id}}/{{rest:path}} [GET, HEAD, OPTIONS, POST] ('view0' in mount 'shop', "
        f"defined at {HERE}:" in warning.message
    )
    assert (
        "GET, POST /shop/users/sample-x/sample-x matches both, and the new route wins "
        "(at segment 4, '{str}' is more specific than '{path}')" in warning.message
    )
    assert warning.hint.startswith("if the new route should take them over, give it the legacy pattern")


def test_a_tie_of_precedence_between_different_patterns_goes_to_the_new_side() -> None:
    [warning] = table_warnings(hybrid({"/n/<a>.<b>": ["GET"]}, {"/shop/n/{a}{b}.{c}": ["GET"]}).table)
    assert warning.kind == "shadowed"
    assert "(on an exact tie of precedence the new side wins)" in warning.message


def test_only_the_methods_that_the_new_route_takes_are_named() -> None:
    table = RouteTable([legacy("/u/<path:p>", ["GET", "POST"]), new("/u/{p}", ["POST"])])
    [warning] = table_warnings(table)
    assert ": POST /u/sample-x matches both" in warning.message


def test_a_legacy_route_that_any_method_reaches_is_tried_with_get() -> None:
    [warning] = table_warnings(RouteTable([legacy("/u/<path:p>", None), new("/u/{p}")]))
    assert ": GET /u/sample-x matches both" in warning.message


def test_a_replaced_legacy_route_is_not_shadowed() -> None:
    # Both new routes take the legacy URLs: the first replaces it openly, the second is new-on-new.
    table = hybrid({"/docs/<a>/<b>": ["GET"]}, {"/shop/docs/{a}/{b}": ["GET"], "/shop/docs/{a}/{b:int}": ["GET"]})
    assert table_warnings(table.table) == []


class Even(BaseConverter):
    """A custom converter whose regex takes any number, but whose `to_python` takes even ones."""

    regex = r"\d+"

    def to_python(self, value: str) -> int:
        if int(value) % 2:
            raise ValidationError()
        return int(value)


def even_rule(rule: str) -> RouteSpec:
    url_map = Map([Rule(rule, endpoint="e", methods=["GET"])], converters={"even": Even})
    (bound,) = url_map.iter_rules()
    pattern, text = parse_werkzeug(bound.rule, bound._converters)
    return RouteSpec(RouteEntry(text, frozenset(bound.methods or ()), "wsgi", "shop", rule), pattern, rule)


def test_a_legacy_route_whose_sample_its_converter_refuses_is_left_alone() -> None:
    # The sample 4821 is odd: the legacy route does not take its own path, so nothing is hidden.
    assert table_warnings(RouteTable([even_rule("/e/<even:n>/x"), new("/e/{a}/{b}")])) == []
    assert table_warnings(RouteTable([even_rule("/e/<even:n>"), new("/other")])) == []


def test_a_converter_without_a_usual_value_gives_no_path() -> None:
    assert representative_path(parse_werkzeug("/s/<string(length=7):s>", _converters("string(length=7)"))[0]) is None
    table = RouteTable([legacy("/s/<string(length=7):s>"), new("/s/{a}/{b}")])
    assert table_warnings(table) == []


def _converters(spec: str) -> dict[str, Any]:
    (bound,) = Map([Rule(f"/x/<{spec}:v>", endpoint="e")]).iter_rules()
    return {"s": bound._converters["v"]}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("/", [""]),
        ("/a/{x:int}/b", ["a", "4821", "b"]),
        ("/a/{x:float}", ["a", "4821"]),  # Starlette's float takes an integer
        ("/a/{name}.txt", ["a", "sample-x.txt"]),
        ("/a/{x}/{rest:path}", ["a", "sample-x", "sample-x"]),
        ("/a/{u:uuid}", ["a", "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"]),
    ],
)
def test_representative_paths(text: str, path: list[str]) -> None:
    assert representative_path(parse_starlette(text)) == path


def test_the_words_of_any_are_its_samples() -> None:
    (bound,) = Map([Rule('/a/<any(x, "y z"):w>', endpoint="e")]).iter_rules()
    pattern, _ = parse_werkzeug(bound.rule, bound._converters)
    assert representative_path(pattern) == ["a", "x"]


# -- converters that disagree ------------------------------------------------------------------


def test_a_typed_new_route_next_to_an_untyped_legacy_route() -> None:
    app = hybrid({"/users/<id>": ["GET"]}, {"/shop/users/{id:int}": ["GET"]})
    [warning] = table_warnings(app.table)
    assert warning.kind == "converter-mismatch"
    assert warning.example == "/shop/users/sample"
    assert warning.message.startswith(
        f"legacy route /shop/users/{{id}} [GET, HEAD, OPTIONS] ('view0' in mount 'shop', defined at {HERE}:"
    )
    assert f"and new route /shop/users/{{id:int}} [GET, HEAD] ('new0', defined at {HERE}:" in warning.message
    assert (
        "read the parameter 'id' differently (legacy str, new int): /shop/users/sample matches the legacy route "
        "but not the new one, and turnout sends GET /shop/users/sample to legacy route /shop/users/{id}"
        in warning.message
    )
    assert "the legacy regex is '[^/]{1,}'" in warning.hint
    # Both stay active: numbers go to the new route, anything else to the legacy one.
    assert [e.status for e in app.table if e.pattern.startswith("/shop/users")] == ["active", "active"]


def test_werkzeugs_float_needs_a_dot_and_starlettes_does_not() -> None:
    [warning] = table_warnings(hybrid({"/price/<float:x>": ["GET"]}, {"/shop/price/{x:float}": ["GET"]}).table)
    assert warning.kind == "converter-mismatch"
    assert warning.example == "/shop/price/1"
    assert (
        "(legacy float, new float; Werkzeug's float needs a dot (`1.0`) and Starlette's takes `1` too): "
        "/shop/price/1 matches the new route but not the legacy one, and turnout sends GET /shop/price/1 to new "
        "route /shop/price/{x:float}" in warning.message
    )


def test_starlettes_path_may_be_empty_and_werkzeugs_may_not() -> None:
    [warning] = table_warnings(hybrid({"/files/<path:p>": ["GET"]}, {"/shop/files/{p:path}": ["GET"]}).table)
    assert warning.kind == "converter-mismatch"
    assert warning.example == "/shop/files/"
    assert "Werkzeug's path is never empty and Starlette's may be" in warning.message


def test_parameters_with_different_names_are_both_named() -> None:
    [warning] = table_warnings(hybrid({"/u/<user_id>": ["POST"]}, {"/shop/u/{id:int}": ["POST"]}).table)
    assert "read the parameter 'user_id'/'id' differently" in warning.message
    assert "turnout sends POST /shop/u/sample to legacy route" in warning.message


def test_a_mismatch_at_the_second_parameter_keeps_samples_for_the_first() -> None:
    [warning] = table_warnings(RouteTable([legacy("/a/<int:x>/<any(b, c):y>"), new("/a/{x:int}/{y}")]))
    assert warning.example == "/a/4821/sample"
    assert "(legacy any(b, c), new str)" in warning.message


def test_werkzeugs_bounds_and_signs_count() -> None:
    [warning] = table_warnings(RouteTable([legacy("/a/<int(min=1):x>"), new("/a/{x:int}")]))
    assert warning.example == "/a/0"
    assert "(legacy int(min=1), new int): /a/0 matches the new route but not the legacy one" in warning.message
    # A signed int ties with Starlette's int: the new route wins there too, but one warning says it all.
    assert kinds(RouteTable([legacy("/a/<int(signed=True):x>"), new("/a/{x:int}")])) == [
        ("converter-mismatch", "/a/<int(signed=True):x>", "/a/{x:int}")
    ]


def test_the_first_parameter_that_differs_is_the_one_named() -> None:
    # A legacy app whose converters are Starlette's own (as a Starlette app's would be).
    pattern = parse_starlette("/a/{x:int}/{y}")
    old = RouteSpec(RouteEntry("/a/{x:int}/{y}", frozenset({"GET"}), "wsgi", "old", "old"), pattern, "old")
    [warning] = table_warnings(RouteTable([old, new("/a/{x:int}/{y:float}")]))
    assert "read the parameter 'y' differently (legacy str, new float)" in warning.message


def test_one_warning_for_each_pair_of_routes() -> None:
    table = RouteTable(
        [
            legacy("/a/<x>", name="a"),
            legacy("/b/<x>", name="b"),
            new("/a/{x:int}", name="a2"),
            new("/b/{x:int}", name="b2"),
            new("/b/{x:float}", ["POST"], name="b3"),
        ]
    )
    assert kinds(table) == [
        ("converter-mismatch", "/a/{x}", "/a/{x:int}"),
        ("converter-mismatch", "/b/{x}", "/b/{x:int}"),
    ]


def test_routes_that_take_any_method_are_compared() -> None:
    assert kinds(RouteTable([legacy("/a/<x>", None), new("/a/{x:int}", None)])) == [
        ("converter-mismatch", "/a/{x}", "/a/{x:int}")
    ]


@pytest.mark.parametrize(
    ("result", "text"),
    [
        (None, "turnout answers GET /x with a 404"),
        (NotAllowed(("POST",)), "turnout answers GET /x with a 405"),
    ],
)
def test_what_the_table_does_with_an_example(result: NotAllowed | None, text: str) -> None:
    assert _served(result, "GET /x") == text


# -- partial replacements ------------------------------------------------------------------------


def test_a_new_route_that_takes_some_methods_of_a_legacy_route() -> None:
    app = hybrid({"/cart": ["GET", "POST"]}, {"/shop/cart": ["GET"]})
    [warning] = table_warnings(app.table)
    assert warning.kind == "partial-replacement"
    assert warning.example is None
    assert warning.message.startswith(f"new route /shop/cart [GET, HEAD] ('new0', defined at {HERE}:")
    assert (
        f"replaces legacy route /shop/cart [GET, HEAD, OPTIONS, POST] ('view0' in mount 'shop', defined at {HERE}:"
        in warning.message
    )
    assert warning.message.endswith(
        "for GET only: requests with POST still go to the legacy app, so /shop/cart answers from two apps"
    )
    assert warning.hint.startswith("add POST to the new route's methods to finish the replacement")


def test_several_new_routes_that_take_part_of_a_legacy_route() -> None:
    table = RouteTable(
        [legacy("/c", ["GET", "PUT", "POST"]), new("/c", ["GET"], name="get"), new("/c", ["PUT"], name="put")]
    )
    [warning] = table_warnings(table)
    assert warning.new.endpoint == "get"
    assert "('get', defined at an unknown place) (with 'put') replaces" in warning.message
    assert "for GET, HEAD, PUT only" not in warning.message
    assert "for GET, PUT only: requests with POST still go" in warning.message


def test_a_legacy_route_for_any_method() -> None:
    [warning] = table_warnings(RouteTable([legacy("/c", None), new("/c", ["GET"])]))
    assert "for GET, HEAD only: requests with every other method still go to the legacy app" in warning.message


# -- where they show ---------------------------------------------------------------------------


def test_warnings_as_text_and_data() -> None:
    [warning] = table_warnings(hybrid({"/cart": ["GET", "POST"]}, {"/shop/cart": ["GET"]}).table)
    assert str(warning) == f"[partial-replacement] {warning.message}\n  fix: {warning.hint}"
    assert format_warnings([warning]) == (
        f"Warnings (1):\n  [partial-replacement] {warning.message}\n    fix: {warning.hint}"
    )
    assert format_warnings([]) == ""
    data = warning.to_dict()
    assert data["kind"] == "partial-replacement"
    assert data["legacy"]["endpoint"] == "view0" and data["new"]["endpoint"] == "new0"
    assert set(data) == {"kind", "message", "hint", "example", "legacy", "new"}


@pytest.mark.anyio
async def test_warnings_are_logged_at_start_up(caplog: pytest.LogCaptureFixture) -> None:
    app = hybrid({"/cart": ["GET", "POST"]}, {"/shop/cart": ["GET"]})
    with caplog.at_level(logging.WARNING, logger="turnout.routing"):
        async with client(app):
            pass
    [record] = [r for r in caplog.records if r.name == "turnout.routing"]
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith("[partial-replacement] new route /shop/cart")
    assert "\n  fix: add POST" in record.getMessage()


@pytest.mark.anyio
async def test_the_demo_logs_no_warnings(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="turnout.routing"):
        async with client(create_app()):
            pass
    assert [r for r in caplog.records if r.name == "turnout.routing"] == []


def test_log_table_warnings_gives_what_it_logged(caplog: pytest.LogCaptureFixture) -> None:
    table = RouteTable([legacy("/c", None), new("/c", ["GET"])])
    with caplog.at_level(logging.WARNING, logger="turnout.routing"):
        found: list[RouteWarning] = log_table_warnings(table)
    assert [w.kind for w in found] == ["partial-replacement"]
    assert len(caplog.records) == 1
