from __future__ import annotations

import json
from collections.abc import Iterable

import pytest
from flask import Blueprint, Flask
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from tests.fixtures.apps import wsgi_function
from tests.routing.test_table import legacy, new
from turnout import Turnout
from turnout.report import (
    GroupProgress,
    MigrationReport,
    MountProgress,
    format_report,
    migration_report,
    report_json,
    route_group,
)
from turnout.routing.imported import defined_at
from turnout.routing.pattern import parse_prefix
from turnout.routing.table import RouteEntry, RouteSpec, RouteTable
from turnout.routing.warnings import table_warnings


def shop_app() -> Flask:
    """A legacy shop: app-level views, an `admin` blueprint (with its own static files) and a nested `api.v1`."""
    shop = Flask(__name__)

    @shop.get("/")
    def index() -> str:
        return "home"

    @shop.get("/cart")
    def cart() -> str:
        return "cart"

    @shop.post("/cart")
    def cart_add() -> str:
        return "added"

    @shop.get("/products/<int:id>")
    def product(id: int) -> str:
        return "product"

    @shop.get("/products/<int:id>/reviews")
    def reviews(id: int) -> str:
        return "reviews"

    admin = Blueprint("admin", __name__, static_folder="static", static_url_path="/assets")

    @admin.get("/users")
    def users() -> str:
        return "users"

    @admin.get("/users/<int:id>")
    def user(id: int) -> str:
        return "user"

    api = Blueprint("api", __name__)
    v1 = Blueprint("v1", __name__)

    @v1.get("/items")
    def items() -> str:
        return "items"

    api.register_blueprint(v1, url_prefix="/v1")
    shop.register_blueprint(admin, url_prefix="/admin")
    shop.register_blueprint(api, url_prefix="/api")
    return shop


def blog_app() -> Flask:
    blog = Flask(__name__, static_folder=None)

    @blog.get("/posts/<slug>")
    def post(slug: str) -> str:
        return slug

    @blog.get("/about")
    def about() -> str:
        return "about"

    return blog


async def v2(request: Request) -> Response:
    return PlainTextResponse("new")


def migrating() -> Turnout:
    """The shop half migrated, an opaque WSGI app at /old, and a blog at / that nothing replaces yet."""
    app = Turnout()
    app.mount_wsgi("/shop", shop_app(), name="shop")
    app.mount_wsgi("/old", wsgi_function, name="old")
    app.mount_wsgi("/", blog_app(), name="blog")
    for path in [
        "/shop/products/{id:int}",
        "/shop/admin/users",
        "/shop/admin/users/{id:int}",
        "/shop/cart",
        "/shop/api/v1/items",
    ]:
        app.add_route(path, v2, methods=["GET"], name=path.replace("/", "_"))
    return app


def patterns(entries: Iterable[RouteEntry]) -> list[str]:
    return [f"{entry.pattern} {entry.endpoint}" for entry in entries]


# -- the figures ------------------------------------------------------------------------------------


def test_figures_by_mount_and_group() -> None:
    report = migration_report(migrating().table)
    assert (report.total, report.replaced, report.percent) == (10, 5, 50.0)
    shop, old, blog = report.mounts
    assert (shop.name, shop.prefix, shop.total, shop.replaced, shop.percent) == ("shop", "/shop", 8, 5, 62.5)
    assert [(g.name, g.total, g.replaced, g.percent) for g in shop.groups] == [
        ("/", 1, 0, 0.0),
        ("/cart", 2, 1, 50.0),
        ("/products", 2, 1, 50.0),
        ("admin", 2, 2, 100.0),
        ("api.v1", 1, 1, 100.0),
    ]
    assert patterns(shop.remaining) == [
        "/shop/ index",
        "/shop/cart cart_add",
        "/shop/products/{id:int}/reviews reviews",
    ]
    assert (old.name, old.prefix, old.routes_known, old.total, old.groups) == ("old", "/old", False, 0, ())
    assert (blog.name, blog.prefix, blog.total, blog.replaced) == ("blog", "/", 2, 0)
    assert [g.name for g in blog.groups] == ["/about", "/posts"]
    assert patterns(report.remaining) == [*patterns(shop.remaining), "/about about", "/posts/{slug} post"]


def test_the_mount_prefixes_and_flasks_static_endpoints_are_not_counted() -> None:
    report = migration_report(migrating().table)
    assert patterns(report.not_counted) == [
        "/shop/static/{filename:path} static",
        "/shop/admin/assets/{filename:path} admin.static",
    ]
    counted = [e for m in report.mounts for g in m.groups for e in g.remaining]
    assert all(e.kind == "route" and not e.endpoint.endswith("static") for e in counted)


@pytest.mark.parametrize(
    ("replaced", "total", "percent"),
    [(0, 0, 100.0), (0, 3, 0.0), (1, 3, 33.3), (2, 3, 66.6), (1, 6, 16.6), (2, 2, 100.0), (999, 1000, 99.9)],
)
def test_the_percentage_is_rounded_down_to_a_tenth(replaced: int, total: int, percent: float) -> None:
    assert GroupProgress("g", total, replaced, ()).percent == percent


def test_nothing_to_migrate_is_done() -> None:
    app = Turnout()
    app.add_route("/new", v2)
    report = migration_report(app.table)
    assert (report.mounts, report.total, report.percent) == ((), 0, 100.0)
    assert format_report(report) == (
        "Legacy routes replaced by new ones: 0 of 0 (100.0%)\n\nNo legacy mounts: nothing to migrate."
    )


@pytest.mark.parametrize(
    ("endpoint", "pattern", "flask", "group"),
    [
        ("admin.users", "/shop/admin/users", True, "admin"),
        ("api.v1.items", "/shop/api/v1/items", True, "api.v1"),
        ("index", "/shop/", True, "/"),
        ("product", "/shop/products/{id:int}", True, "/products"),
        ("polls:detail", "/shop/polls/{id:int}", False, "polls"),
        ("admin:auth:user_change", "/shop/admin/auth/user/{id}", False, "admin:auth"),
        ("polls.views.detail", "/shop/polls/{id:int}", False, "/polls"),  # a dotted name, not a blueprint
        ("index", "/shop", False, "/"),
    ],
)
def test_the_group_of_a_route(endpoint: str, pattern: str, flask: bool, group: str) -> None:
    entry = RouteEntry(pattern, None, "wsgi", "shop", endpoint)
    assert route_group(entry, depth=1, flask=flask) == group


def test_routes_of_other_apps_are_grouped_by_namespace_or_path() -> None:
    # Routes whose importer is not Werkzeug's (a Django app, say), and an owner without a mount prefix.
    specs = [
        legacy("/polls/<int:id>", name="polls:detail"),
        legacy("/polls/", name="polls:index"),
        legacy("/static/<path:p>", name="static"),
        new("/polls/{id:int}"),
    ]
    report = migration_report(RouteTable(specs))
    [mount] = report.mounts
    assert (mount.name, mount.prefix, mount.defined_at) == ("shop", "/", None)
    assert [(g.name, g.total, g.replaced) for g in mount.groups] == [("/static", 1, 0), ("polls", 2, 1)]
    assert report.not_counted == ()


def test_a_mount_prefix_on_its_own_is_a_mount_whose_routes_are_unknown() -> None:
    entry = RouteEntry("/old", None, "wsgi", "old", "old", defined_at="conf.py:3", kind="mount")
    report = migration_report(RouteTable([RouteSpec(entry, parse_prefix("/old"), "old", any_method=True)]))
    assert report.mounts == (MountProgress("old", "/old", "conf.py:3", (), routes_known=False),)


# -- the text -------------------------------------------------------------------------------------


def test_the_report_as_text() -> None:
    summary, table, remaining, not_counted = format_report(migration_report(migrating().table)).split("\n\n")
    assert summary == "Legacy routes replaced by new ones: 5 of 10 (50.0%)"
    assert table.splitlines() == [
        "MOUNT / GROUP    ROUTES  REPLACED  REMAINING    DONE",
        "shop (/shop/**)       8         5          3   62.5%",
        "  /                   1         0          1    0.0%",
        "  /cart               2         1          1   50.0%",
        "  /products           2         1          1   50.0%",
        "  admin               2         2          0  100.0%",
        "  api.v1              1         1          0  100.0%",
        "old (/old/**)         -         -          -       -",
        "blog (/**)            2         0          2    0.0%",
        "  /about              1         0          1    0.0%",
        "  /posts              1         0          1    0.0%",
        "TOTAL                10         5          5   50.0%",
    ]
    assert remaining.startswith("Remaining (5):\n")
    assert not_counted.startswith("Not counted: the bare prefix of each mount")


def test_the_report_as_text_lists_what_remains_and_what_is_not_counted() -> None:
    app = migrating()
    lines = format_report(migration_report(app.table)).splitlines()
    shop: Flask = app.wsgi_mounts[0].app  # type: ignore[assignment]
    blog: Flask = app.wsgi_mounts[2].app  # type: ignore[assignment]
    start = lines.index("Remaining (5):")
    index_at, cart_add_at, reviews_at = (defined_at(shop.view_functions[n]) for n in ("index", "cart_add", "reviews"))
    about_at, post_at = (defined_at(blog.view_functions[n]) for n in ("about", "post"))
    assert lines[start + 1 :] == [
        "  shop /",
        f"    /shop/                           GET,HEAD,OPTIONS  index     {index_at}",
        "  shop /cart",
        f"    /shop/cart                       OPTIONS,POST      cart_add  {cart_add_at}",
        "  shop /products",
        f"    /shop/products/{{id:int}}/reviews  GET,HEAD,OPTIONS  reviews   {reviews_at}",
        "  blog /about",
        f"    /about                           GET,HEAD,OPTIONS  about     {about_at}",
        "  blog /posts",
        f"    /posts/{{slug}}                    GET,HEAD,OPTIONS  post      {post_at}",
        "",
        "Not counted: the bare prefix of each mount: /shop/** (shop), /old/** (old), /** (blog).",
        "Not counted: Flask's static endpoints: /shop/static/{filename:path} (shop: static), "
        "/shop/admin/assets/{filename:path} (shop: admin.static).",
        "Not counted: mounts whose app's routes turnout cannot read, each one opaque prefix: /old/** (old).",
    ]


def test_the_warnings_come_after_the_report() -> None:
    app = Turnout()
    app.mount_wsgi("/shop", shop_app(), name="shop")
    app.add_route("/shop/products/{id}", v2, methods=["GET"], name="product_v2")  # untyped: a converter mismatch
    table = app.table
    warnings = table_warnings(table)
    text = format_report(migration_report(table), warnings=warnings)
    assert [w.kind for w in warnings] == ["converter-mismatch"]
    body, _, tail = text.rpartition("\n\nWarnings (1):\n")
    assert body.endswith("(shop: admin.static).")
    assert tail.startswith("  [converter-mismatch] legacy route /shop/products/{id:int}")
    assert "\n    fix: give the new route a converter" in tail


def test_a_report_with_everything_replaced_lists_nothing_remaining() -> None:
    report = MigrationReport((MountProgress("shop", "/shop", None, (GroupProgress("/a", 2, 2, ()),)),))
    assert format_report(report).splitlines() == [
        "Legacy routes replaced by new ones: 2 of 2 (100.0%)",
        "",
        "MOUNT / GROUP    ROUTES  REPLACED  REMAINING    DONE",
        "shop (/shop/**)       2         2          0  100.0%",
        "  /a                  2         2          0  100.0%",
        "TOTAL                 2         2          0  100.0%",
        "",
        "Not counted: the bare prefix of each mount: /shop/** (shop).",
    ]


# -- the JSON -------------------------------------------------------------------------------------


def test_the_report_as_json() -> None:
    app = migrating()
    table = app.table
    data = json.loads(report_json(migration_report(table), warnings=table_warnings(table)))
    assert {k: data[k] for k in ("total", "replaced", "remaining", "percent")} == {
        "total": 10,
        "replaced": 5,
        "remaining": 5,
        "percent": 50.0,
    }
    shop, old, blog = data["mounts"]
    assert {k: shop[k] for k in ("name", "prefix", "routes_known", "total", "replaced", "remaining", "percent")} == {
        "name": "shop",
        "prefix": "/shop",
        "routes_known": True,
        "total": 8,
        "replaced": 5,
        "remaining": 3,
        "percent": 62.5,
    }
    assert shop["defined_at"].startswith(__file__)
    cart = shop["groups"][1]
    assert {k: cart[k] for k in ("group", "total", "replaced", "remaining", "percent")} == {
        "group": "/cart",
        "total": 2,
        "replaced": 1,
        "remaining": 1,
        "percent": 50.0,
    }
    [cart_add] = cart["remaining_routes"]
    assert (cart_add["pattern"], cart_add["endpoint"], cart_add["methods"]) == (
        "/shop/cart",
        "cart_add",
        ["OPTIONS", "POST"],
    )
    assert (old["routes_known"], old["groups"]) == (False, [])
    assert blog["prefix"] == "/"
    assert data["not_counted"]["mount_prefixes"] == ["/shop/**", "/old/**", "/**"]
    assert [e["endpoint"] for e in data["not_counted"]["static"]] == ["static", "admin.static"]
    assert data["warnings"] == []


def test_the_json_has_the_warnings() -> None:
    app = Turnout()
    app.mount_wsgi("/shop", shop_app(), name="shop")
    app.add_route("/shop/products/{id}", v2, methods=["GET"], name="product_v2")
    table = app.table
    data = json.loads(report_json(migration_report(table), warnings=table_warnings(table)))
    [warning] = data["warnings"]
    assert warning["kind"] == "converter-mismatch"
    assert warning["legacy"]["endpoint"] == "product" and warning["new"]["endpoint"] == "product_v2"


def test_a_pair_whose_switch_is_not_at_new_is_held_not_replaced() -> None:
    async def product_v2(request: Request) -> Response:
        return PlainTextResponse("new product")

    async def cart_v2(request: Request) -> Response:
        return PlainTextResponse("new cart")

    app = Turnout()
    app.mount_wsgi("/shop", shop_app(), name="shop")
    app.add_route("/shop/products/{id:int}", product_v2, methods=["GET"], name="product_v2")
    app.add_route("/shop/cart", cart_v2, methods=["GET"], name="cart_v2")
    app.configure_switch("product_v2", "canary 10%")
    before = migration_report(app.table)  # without the switches: what the table alone says
    report = migration_report(app.table, app.switches)
    assert before.replaced - report.replaced == 1
    assert [(h.route, h.state, h.legacy) for h in report.held] == [("product_v2", "canary 10%", ("shop:product",))]
    assert any(e.endpoint == "product" for e in report.remaining)
    text = format_report(report)
    assert "Held on the legacy side by their switch (1, not counted as replaced):" in text
    assert "product_v2  /shop/products/{id:int}  canary 10%  shop:product" in text
    assert json.loads(report_json(report))["held"] == [
        {"route": "product_v2", "pattern": "/shop/products/{id:int}", "state": "canary 10%", "legacy": ["shop:product"]}
    ]
    app.switches.set("product_v2", "new")
    assert migration_report(app.table, app.switches).replaced == before.replaced
