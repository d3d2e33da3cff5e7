from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from werkzeug.routing import Map, Rule

from turnout.exceptions import DuplicateRouteError
from turnout.routing.paths import split_path
from turnout.routing.pattern import parse_prefix, parse_starlette, parse_werkzeug
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable, Side, significant_methods

Methods = Iterable[str] | None


def new(text: str, methods: Methods = ("GET",), *, name: str | None = None, at: str | None = None) -> RouteSpec:
    """A native route, as `Turnout.route` registers it (Starlette adds HEAD to GET)."""
    declared = None if methods is None else frozenset(methods) | ({"HEAD"} if "GET" in methods else set())
    entry = RouteEntry(text, declared, "asgi", None, name or text, defined_at=at)
    return RouteSpec(entry, parse_starlette(text), name or text)


def legacy(rule: str, methods: Methods = ("GET",), *, name: str | None = None, at: str | None = None) -> RouteSpec:
    """A route imported from a Flask app mounted at the root (Werkzeug adds HEAD, Flask adds OPTIONS)."""
    url_map = Map([Rule(rule, endpoint="e", methods=None if methods is None else [*methods, "OPTIONS"])])
    (bound,) = url_map.iter_rules()
    pattern, text = parse_werkzeug(bound.rule, bound._converters)
    declared = None if bound.methods is None else frozenset(bound.methods)
    entry = RouteEntry(text, declared, "wsgi", "shop", name or rule, defined_at=at, original=rule)
    return RouteSpec(entry, pattern, name or rule)


def mount(prefix: str, *, side: Side = "wsgi", opaque: bool = True, name: str | None = None) -> RouteSpec:
    """A mount's bare prefix; `opaque` when its app's routes are not known (any WSGI app without url_map)."""
    name = name or f"mount {prefix}"
    entry = RouteEntry(prefix, None, side, name, name, kind="mount")
    return RouteSpec(entry, parse_prefix(prefix), name, any_method=opaque)


def served(table: RouteTable, path: str, method: str = "GET") -> object:
    """What serves `method` on `path`: the route's target, `405 <allow>`, or `404`."""
    result = table.match(method, split_path(path))
    if isinstance(result, Found):
        return result.route.target
    if isinstance(result, NotAllowed):
        return "405 " + ",".join(result.allow)
    return "404"


def both_orders(*specs: RouteSpec) -> list[RouteTable]:
    return [RouteTable(specs), RouteTable(reversed(specs))]


# -- precedence ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("specific", "general", "path"),
    [
        (new("/users/me"), new("/users/{id:int}"), "/users/me"),
        (new("/users/7"), new("/users/{id:int}"), "/users/7"),
        (new("/users/{id:int}"), new("/users/{name}"), "/users/7"),
        (new("/users/{id:int}"), new("/users/{id:float}"), "/users/7"),
        (new("/users/{name}"), new("/users/{p:path}"), "/users/ann"),
        (new("/users/{p:path}"), mount("/users"), "/users/ann/x"),
        (new("/users/{name}/posts"), new("/users/{p:path}"), "/users/ann/posts"),
        (new("/users/me/{p:path}"), new("/users/{name}/posts"), "/users/me/posts"),
        (mount("/shop/api"), mount("/shop"), "/shop/api/x"),
        (mount("/shop"), mount("/"), "/shop/x"),
        (new("/shop"), mount("/shop"), "/shop"),
        (new("/shop/"), mount("/shop"), "/shop/"),
        (new("/"), mount("/"), "/"),
        # Across sides: the same rules, whichever side each route is on.
        (legacy("/users/me"), new("/users/{id:int}"), "/users/me"),
        (new("/users/{id:int}"), legacy("/users/<name>"), "/users/7"),
        (legacy("/users/<int:id>"), new("/users/{id:float}"), "/users/7"),
        (legacy("/users/<name>"), new("/users/{p:path}"), "/users/ann"),
        (legacy("/static/<path:f>"), mount("/static", side="asgi"), "/static/a.css"),
        (new("/shop/items/{id:int}"), mount("/shop"), "/shop/items/3"),
    ],
)
def test_the_most_specific_route_wins_whatever_the_order(specific: RouteSpec, general: RouteSpec, path: str) -> None:
    for table in both_orders(specific, general):
        assert served(table, path) == specific.target


def test_a_less_specific_route_still_serves_what_the_specific_one_does_not_match() -> None:
    for table in both_orders(new("/users/{id:int}"), legacy("/users/<name>")):
        assert served(table, "/users/ann") == "/users/<name>"


# -- ties across sides --------------------------------------------------------------------------


def test_on_an_exact_tie_the_new_route_wins_and_the_legacy_one_is_replaced() -> None:
    for table in both_orders(legacy("/items/<int:item_id>"), new("/items/{id:int}")):
        assert served(table, "/items/3") == "/items/{id:int}"
        assert served(table, "/items/3", "HEAD") == "/items/{id:int}"
        status = {e.side: e.status for e in table}
        assert status == {"asgi": "active", "wsgi": "replaced"}


def test_a_legacy_route_with_more_methods_stays_active_for_the_others() -> None:
    table = RouteTable([legacy("/items", ["GET", "POST"]), new("/items", ["GET"])])
    assert served(table, "/items") == "/items"  # the new one
    assert table.match("GET", ["items"]).route.entry.side == "asgi"  # type: ignore[union-attr]
    assert served(table, "/items", "POST") == legacy("/items").target
    assert {e.side: e.status for e in table} == {"asgi": "active", "wsgi": "active"}


def test_new_routes_on_one_pattern_replace_a_legacy_route_together() -> None:
    table = RouteTable(
        [legacy("/items", ["GET", "POST"]), new("/items", ["GET"], name="list"), new("/items", ["POST"])]
    )
    assert [e.status for e in table if e.side == "wsgi"] == ["replaced"]
    assert served(table, "/items", "POST") == "/items"


def test_a_new_route_for_any_method_replaces_the_legacy_route() -> None:
    table = RouteTable([legacy("/hook", ["POST"]), new("/hook", None)])
    assert [e.status for e in table if e.side == "wsgi"] == ["replaced"]
    assert served(table, "/hook", "PATCH") == "/hook"


def test_a_new_mount_on_the_prefix_of_a_legacy_mount_replaces_it() -> None:
    table = RouteTable([mount("/shop"), mount("/shop", side="asgi", name="new shop")])
    assert served(table, "/shop/x") == "new shop"
    assert {e.side: e.status for e in table} == {"asgi": "active", "wsgi": "replaced"}


def test_a_route_and_a_prefix_are_never_a_tie() -> None:
    # `/a/**` as text is a static segment: it neither replaces nor duplicates the mount `/a`.
    table = RouteTable([mount("/a"), new("/a/**", None), mount("/b", side="asgi"), new("/b/**", None)])
    assert all(e.status == "active" for e in table)
    assert served(table, "/a/**") == "/a/**"
    assert served(table, "/a/x") == "mount /a"


# -- duplicates ---------------------------------------------------------------------------------


def test_two_routes_of_one_side_with_one_pattern_fail_at_start_up_naming_both() -> None:
    first = new("/users/{id:int}", name="user", at="app.py:10")
    second = new("/users/{key:int}", ["GET", "POST"], name="user_v2", at="app.py:20")
    with pytest.raises(DuplicateRouteError) as caught:
        RouteTable([first, second])
    message = str(caught.value)
    assert "'user'" in message and "app.py:10" in message
    assert "'user_v2'" in message and "app.py:20" in message
    assert "fix:" in message


def test_legacy_duplicates_too_and_the_message_names_the_mount() -> None:
    with pytest.raises(DuplicateRouteError, match=r"in mount 'shop', defined at unknown location"):
        RouteTable([legacy("/a/<x>", name="a"), legacy("/a/<y>", name="b")])


def test_two_mounts_on_one_prefix_are_duplicates() -> None:
    with pytest.raises(DuplicateRouteError, match="any method"):
        RouteTable([mount("/shop", name="one"), mount("/shop/", name="two")])


def test_one_pattern_with_other_methods_is_not_a_duplicate() -> None:
    table = RouteTable([new("/items", ["GET"], name="list"), new("/items", ["POST"], name="create")])
    assert served(table, "/items", "POST") == "create"
    # Flask adds OPTIONS (and HEAD) to every rule: those do not make two rules overlap.
    table = RouteTable([legacy("/items", ["GET"], name="list"), legacy("/items", ["POST"], name="create")])
    assert served(table, "/items", "POST") == "create"


def test_the_same_pattern_on_both_sides_is_not_a_duplicate() -> None:
    assert len(RouteTable([new("/x", None), legacy("/x", None)])) == 2


def test_significant_methods() -> None:
    assert significant_methods(None) is None
    assert significant_methods(frozenset({"GET", "HEAD", "OPTIONS"})) == frozenset({"GET"})
    assert significant_methods(frozenset({"HEAD", "OPTIONS"})) == frozenset({"HEAD", "OPTIONS"})


# -- methods across sides -----------------------------------------------------------------------


def test_a_path_that_matches_only_for_other_methods_gets_405_with_both_sides_methods() -> None:
    table = RouteTable([legacy("/items/<int:id>", ["GET"]), new("/items/{id:int}", ["PUT"]), mount("/", opaque=False)])
    assert served(table, "/items/3", "DELETE") == "405 GET,HEAD,OPTIONS,PUT"
    assert served(table, "/items/3", "PUT") == "/items/{id:int}"
    assert served(table, "/items/3", "GET") == "/items/<int:id>"


def test_head_is_served_wherever_get_is() -> None:
    table = RouteTable(
        [
            new("/a", ["GET"]),
            RouteSpec(RouteEntry("/b", frozenset({"GET"}), "asgi", None, "b"), parse_starlette("/b"), "b"),
        ]
    )
    assert served(table, "/a", "HEAD") == "/a"
    assert served(table, "/b", "HEAD") == "b"  # even when the route did not declare it
    assert served(table, "/b", "POST") == "405 GET,HEAD"


def test_an_introspected_mount_does_not_catch_a_method_its_routes_do_not_take() -> None:
    table = RouteTable([mount("/shop", opaque=False), legacy("/shop/items", ["GET"])])
    assert served(table, "/shop/items", "POST") == "405 GET,HEAD,OPTIONS"
    assert served(table, "/shop/unknown", "POST") == "mount /shop"  # the legacy app gives its own 404


def test_an_opaque_mount_takes_every_method_a_route_does_not() -> None:
    table = RouteTable([mount("/shop", opaque=True), new("/shop/items", ["GET"])])
    assert served(table, "/shop/items", "POST") == "mount /shop"
    assert served(table, "/shop/items", "GET") == "/shop/items"


def test_no_route_no_mount_is_none() -> None:
    table = RouteTable([new("/a")])
    assert table.match("GET", ["b"]) is None


# -- paths --------------------------------------------------------------------------------------


def test_a_prefix_ends_at_a_segment_boundary() -> None:
    table = RouteTable([mount("/shop")])
    assert served(table, "/shop") == "mount /shop"
    assert served(table, "/shop/") == "mount /shop"
    assert served(table, "/shop/a/b") == "mount /shop"
    assert served(table, "/shopping") == "404"
    assert served(table, "/") == "404"


def test_a_root_mount_catches_everything_else() -> None:
    table = RouteTable([mount("/"), new("/api/ping")])
    assert served(table, "/") == "mount /"
    assert served(table, "/anything/at/all") == "mount /"
    assert served(table, "/api/ping") == "/api/ping"


def test_an_encoded_slash_stays_in_its_segment() -> None:
    table = RouteTable([mount("/a"), mount("/a/b", name="ab"), new("/files/{name}"), new("/raw/{p:path}")])
    assert served(table, "/a%2Fb/c") == "404"
    assert served(table, "/a/b%2Fc") == "mount /a"
    assert served(table, "/files/x%2Fy") == "404"
    found = table.match("GET", split_path("/raw/x%2Fy/z"))
    assert isinstance(found, Found) and found.params == {"p": "x/y/z"}


def test_a_value_the_converter_refuses_falls_through_to_the_next_route() -> None:
    url_map = Map([Rule("/page/<int(max=10):n>", endpoint="page")])
    (rule,) = url_map.iter_rules()
    pattern, text = parse_werkzeug(rule.rule, rule._converters)
    small = RouteSpec(RouteEntry(text, None, "wsgi", "shop", "page"), pattern, "small pages")
    table = RouteTable([small, new("/page/{n}")])
    assert table.match("GET", ["page", "10"]) == Found(table.routes[0], {"n": 10})
    assert served(table, "/page/11") == "/page/{n}"


def test_parameters_are_converted_by_their_own_side() -> None:
    table = RouteTable([legacy("/l/<int:n>"), new("/n/{x:float}")])
    assert table.match("GET", ["l", "5"]) == Found(table.routes[0], {"n": 5})
    assert table.match("GET", ["n", "5"]) == Found(table.routes[1], {"x": 5.0})


def test_many_routes_sharing_parameters_still_match_exactly() -> None:
    specs = [new(f"/r{i}/items/{{id:int}}", name=f"r{i}") for i in range(2000)]
    specs += [legacy(f"/r{i}/items/<name>", name=f"l{i}") for i in range(0, 2000, 2)]
    table = RouteTable(specs)
    assert served(table, "/r1999/items/5") == "r1999"
    assert served(table, "/r1998/items/five") == "l1998"
    assert served(table, "/r1999/items/five") == "404"
    assert served(table, "/r2000/items/5") == "404"


# -- reading ------------------------------------------------------------------------------------


def test_the_table_lists_every_route_sorted_by_pattern_new_side_first() -> None:
    table = RouteTable([mount("/shop", opaque=False), legacy("/shop/a"), new("/shop/a"), new("/api", None)])
    assert len(table) == 4
    assert [(e.pattern, e.side) for e in table] == [
        ("/api", "asgi"),
        ("/shop", "wsgi"),
        ("/shop/a", "asgi"),
        ("/shop/a", "wsgi"),
    ]
    assert [r.target for r in table.routes] == ["mount /shop", "/shop/a", "/shop/a", "/api"]
    assert table.entries == tuple(table)


def test_to_json() -> None:
    table = RouteTable([legacy("/a", ["POST"]), mount("/", side="asgi", name="api")])
    data = json.loads(table.to_json())
    assert data[0] == {
        "pattern": "/",
        "methods": None,
        "side": "asgi",
        "owner": "api",
        "endpoint": "api",
        "defined_at": None,
        "status": "active",
        "original": None,
        "kind": "mount",
    }
    assert data[1]["methods"] == ["OPTIONS", "POST"]
    assert data[1]["original"] == "/a"


def test_format_shows_one_aligned_line_per_route() -> None:
    table = RouteTable([mount("/shop", name="shop"), mount("/", side="asgi", name="api"), new("/x", at="app.py:3")])
    lines = table.format().splitlines()
    assert lines[0].split() == ["PATTERN", "METHODS", "SIDE", "OWNER", "ENDPOINT", "STATUS", "DEFINED", "AT"]
    assert lines[1].split() == ["/**", "*", "asgi", "api", "api", "active", "-"]
    assert lines[2].split() == ["/shop/**", "*", "wsgi", "shop", "shop", "active", "-"]
    assert lines[3].split() == ["/x", "GET,HEAD", "asgi", "-", "/x", "active", "app.py:3"]
    column = lines[0].index("SIDE")  # columns are aligned
    assert [line[column:].split()[0] for line in lines[1:]] == ["asgi", "wsgi", "asgi"]


def test_served_by_names_the_side_and_the_owner_or_endpoint() -> None:
    assert RouteEntry("/a", None, "wsgi", "shop", "home").served_by == "wsgi:shop"
    assert RouteEntry("/a", None, "asgi", None, "ping").served_by == "asgi:ping"


def test_a_path_whose_only_route_refuses_the_value_is_not_found() -> None:
    url_map = Map([Rule("/page/<int(max=10):n>", endpoint="page")])
    (rule,) = url_map.iter_rules()
    pattern, text = parse_werkzeug(rule.rule, rule._converters)
    table = RouteTable([RouteSpec(RouteEntry(text, None, "wsgi", "shop", "page"), pattern, "page")])
    assert table.match("GET", ["page", "11"]) is None


def test_only_routes_put_their_methods_in_allow() -> None:
    # A mount limited to some methods refuses the others without making the path a 405.
    limited = RouteEntry("/a", frozenset({"GET"}), "asgi", "api", "api", kind="mount")
    table = RouteTable([RouteSpec(limited, parse_prefix("/a"), "api")])
    assert served(table, "/a/x") == "api"
    assert table.match("POST", ["a", "x"]) is None
    assert not table.routes[0].accepts("POST")
