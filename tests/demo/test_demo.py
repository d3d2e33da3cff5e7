from __future__ import annotations

import html
from collections import deque
from html.parser import HTMLParser
from importlib import resources

import httpx
import pytest
from flask.sessions import SecureCookieSessionInterface

from turnout import Turnout
from turnout.demo import create_app
from turnout.demo.catalog import MAX_QUANTITY, PRODUCTS
from turnout.demo.shop import DEMO_PASSWORD, DEMO_USER, create_shop
from turnout.lifespan import Lifespan
from turnout.testing import client

CSS = resources.files("turnout.demo") / "static" / "shop.css"


async def log_in(http: httpx.AsyncClient, password: str = DEMO_PASSWORD) -> httpx.Response:
    return await http.post("/shop/login", data={"username": DEMO_USER, "password": password})


# -- pages --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_root_page_is_new_and_links_to_both_sides(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "asgi:home"
    assert 'href="/shop/"' in response.text
    assert 'href="/shop/products/1"' in response.text
    assert 'href="/api/products"' in response.text


@pytest.mark.anyio
async def test_the_root_page_shows_the_routing_table(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/")
    assert '<tr class="replaced">' in response.text
    for entry in demo_app.table:
        assert f"<td>{entry.endpoint}</td>" in response.text


@pytest.mark.anyio
async def test_the_product_list_is_a_legacy_page(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "wsgi:shop"
    for product in PRODUCTS:
        assert f'<a href="/shop/products/{product.id}">{html.escape(product.name)}</a>' in response.text
        assert product.price in response.text
    assert "Signed in" not in response.text


@pytest.mark.anyio
async def test_a_product_page_is_served_by_the_new_route(demo_app: Turnout) -> None:
    product = PRODUCTS[2]
    async with client(demo_app) as http:
        response = await http.get(f"/shop/products/{product.id}")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "asgi:product_v2"
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert f"<h1>{html.escape(product.name)}</h1>" in response.text
    assert product.price in response.text
    # Its links and its form lead back to the legacy shop.
    assert '<form method="post" action="/shop/cart">' in response.text
    assert f'<input type="hidden" name="product_id" value="{product.id}">' in response.text
    assert '<link rel="stylesheet" href="/shop/static/shop.css">' in response.text


@pytest.mark.anyio
async def test_an_unknown_product_is_a_404(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/products/999")
    assert response.status_code == 404
    assert response.headers["x-served-by"] == "asgi:product_v2"
    assert "There is no product 999." in response.text


@pytest.mark.anyio
async def test_the_stylesheet_comes_from_the_shops_static_folder(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/static/shop.css")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "wsgi:shop"
    assert response.headers["content-type"].startswith("text/css")
    assert response.content == CSS.read_bytes()


# -- logging in and out ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_login_page_tells_a_visitor_how_to_log_in(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/login")
    assert response.status_code == 200
    assert f"<code>{DEMO_USER}</code>" in response.text
    assert f"<code>{DEMO_PASSWORD}</code>" in response.text
    assert '<form method="post" action="/shop/login" class="stacked">' in response.text


@pytest.mark.anyio
async def test_logging_in_with_the_right_password(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await log_in(http)
        assert response.status_code == 303
        assert response.headers["location"] == "/shop/"
        assert "Signed in as <strong>demo</strong>." in (await http.get("/shop/")).text
        account = await http.get("/shop/login")
    assert '<form method="post" action="/shop/logout">' in account.text
    assert 'name="password"' not in account.text


@pytest.mark.anyio
@pytest.mark.parametrize(("username", "password"), [(DEMO_USER, "wrong"), ("nobody", DEMO_PASSWORD), ("", "")])
async def test_logging_in_with_a_wrong_password(demo_app: Turnout, username: str, password: str) -> None:
    async with client(demo_app) as http:
        response = await http.post("/shop/login", data={"username": username, "password": password})
        assert response.status_code == 200
        assert "Wrong user name or password." in response.text
        assert "Signed in" not in (await http.get("/shop/")).text


@pytest.mark.anyio
async def test_logging_out_forgets_the_user_and_the_cart(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        await log_in(http)
        await http.post("/shop/cart", data={"product_id": "1"})
        response = await http.post("/shop/logout")
        assert response.status_code == 303
        assert response.headers["location"] == "/shop/"
        assert "Signed in" not in (await http.get("/shop/")).text
        assert "Your cart is empty." in (await http.get("/shop/cart")).text


@pytest.mark.anyio
async def test_logging_out_takes_a_post(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/logout")
    assert response.status_code == 405


# -- the cart -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_cart_starts_empty(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/shop/cart")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "wsgi:shop"
    assert "<h1>Your cart</h1>" in response.text
    assert "Your cart is empty." in response.text


@pytest.mark.anyio
async def test_the_cart_keeps_what_was_added_across_requests(demo_app: Turnout) -> None:
    turnout_left, buffer_stop = PRODUCTS[0], PRODUCTS[4]
    async with client(demo_app) as http:
        added = await http.post("/shop/cart", data={"product_id": str(turnout_left.id), "quantity": "2"})
        assert added.status_code == 303
        assert added.headers["location"] == "/shop/cart"
        await http.post("/shop/cart", data={"product_id": str(buffer_stop.id)})
        await http.post("/shop/cart", data={"product_id": str(turnout_left.id), "quantity": "1"})
        response = await http.get("/shop/cart")
    assert "Your cart is empty." not in response.text
    assert f'<a href="/shop/products/{turnout_left.id}">' in response.text
    assert '<td class="number">3</td>' in response.text
    assert '<td class="number">€43.50</td>' in response.text  # 3 × €14.50
    assert '<td class="number">€6.90</td>' in response.text
    assert '<td class="number">€50.40</td>' in response.text  # the total


@pytest.mark.anyio
async def test_the_cart_belongs_to_the_user_who_is_logged_in(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        await log_in(http)
        response = await http.get("/shop/cart")
    assert f"<h1>{DEMO_USER}’s cart</h1>" in response.text


@pytest.mark.anyio
async def test_a_cart_line_holds_at_most_the_maximum_quantity(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        for _ in range(3):
            await http.post("/shop/cart", data={"product_id": "1", "quantity": str(MAX_QUANTITY)})
        response = await http.get("/shop/cart")
    assert f'<td class="number">{MAX_QUANTITY}</td>' in response.text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "form",
    [
        {},
        {"product_id": "999"},
        {"product_id": "one"},
        {"product_id": "1", "quantity": "0"},
        {"product_id": "1", "quantity": str(MAX_QUANTITY + 1)},
        {"product_id": "1", "quantity": "many"},
    ],
)
async def test_adding_something_that_is_not_a_product_is_a_400(demo_app: Turnout, form: dict[str, str]) -> None:
    async with client(demo_app) as http:
        response = await http.post("/shop/cart", data=form)
        assert response.status_code == 400
        assert "Your cart is empty." in (await http.get("/shop/cart")).text


@pytest.mark.anyio
async def test_a_product_gone_from_the_catalogue_is_left_out_of_the_cart(demo_app: Turnout) -> None:
    # A cookie from before the catalogue changed: the demo key is public, so it can be made here.
    shop = create_shop()
    assert isinstance(shop.session_interface, SecureCookieSessionInterface)
    serializer = shop.session_interface.get_signing_serializer(shop)
    assert serializer is not None
    cookie = serializer.dumps({"cart": {"999": 1, "2": 1}})
    async with client(demo_app, cookies={"session": cookie}) as http:
        response = await http.get("/shop/cart")
    assert "/shop/products/999" not in response.text
    assert '<a href="/shop/products/2">' in response.text


# -- the JSON API ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_api_lists_the_products(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/api/products")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "asgi:api_products"
    assert response.json() == {
        "products": [{**product.to_json(), "url": f"/shop/products/{product.id}"} for product in PRODUCTS]
    }


@pytest.mark.anyio
async def test_the_api_gives_one_product(demo_app: Turnout) -> None:
    product = PRODUCTS[3]
    async with client(demo_app) as http:
        response = await http.get(f"/api/products/{product.id}")
    assert response.status_code == 200
    assert response.headers["x-served-by"] == "asgi:api_product"
    assert response.json() == {
        "id": product.id,
        "name": product.name,
        "price_cents": product.price_cents,
        "price": product.price,
        "description": product.description,
        "url": f"/shop/products/{product.id}",
    }


@pytest.mark.anyio
async def test_the_api_answers_an_unknown_product_with_a_json_404(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        response = await http.get("/api/products/999")
    assert response.status_code == 404
    assert response.json() == {"error": "There is no product 999.", "status": 404}


# -- links and the routing table ------------------------------------------------------------


class LinkParser(HTMLParser):
    """Collects the targets of `<a href>` and `<link href>`."""

    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("a", "link"):
            self.links.extend(value for name, value in attrs if name == "href" and value is not None)


def links_in(page: str) -> list[str]:
    parser = LinkParser()
    parser.feed(page)
    parser.close()
    return parser.links


async def crawl(http: httpx.AsyncClient, starts: list[str], *, limit: int = 50) -> dict[str, httpx.Response]:
    """Every page reachable from `starts` by following links, up to `limit` pages."""
    seen: dict[str, httpx.Response] = {}
    queue = deque(starts)
    while queue and len(seen) < limit:
        path = queue.popleft()
        if path in seen:
            continue
        response = seen[path] = await http.get(path)
        if response.headers.get("content-type", "").startswith("text/html"):
            for link in links_in(response.text):
                assert link.startswith("/"), f"{path} links outside the demo: {link}"
                queue.append(link)
    assert not queue, f"the crawl stopped at {limit} pages"
    return seen


@pytest.mark.anyio
async def test_every_link_on_the_pages_leads_to_a_page(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        await http.post("/shop/cart", data={"product_id": "1"})  # so that the cart has links too
        pages = await crawl(http, ["/", "/shop/"])
    assert {path: response.status_code for path, response in pages.items() if response.status_code != 200} == {}
    assert set(pages) == {
        "/",
        "/shop/",
        "/shop/cart",
        "/shop/login",
        "/shop/static/shop.css",
        "/account",
        "/api/products",
        *(f"/shop/products/{product.id}" for product in PRODUCTS),
    }
    # Crossing sides: a visitor reaches pages of both without noticing.
    assert {response.headers["x-served-by"] for response in pages.values()} == {
        "asgi:home",
        "asgi:product_v2",
        "asgi:account",
        "asgi:api_products",
        "wsgi:shop",
    }


def test_the_table_shows_the_legacy_product_page_replaced(demo_app: Turnout) -> None:
    statuses = {(entry.side, entry.endpoint): entry.status for entry in demo_app.table if entry.kind == "route"}
    assert statuses[("wsgi", "product")] == "replaced"
    assert statuses[("asgi", "product_v2")] == "active"
    replaced = [entry for entry in demo_app.table if entry.status == "replaced"]
    # The stock endpoint has a new version too, though its switch keeps the shop serving it (shadow).
    assert [(entry.pattern, entry.owner) for entry in replaced] == [
        ("/shop/api/stock/{product_id:int}", "shop"),
        ("/shop/products/{product_id:int}", "shop"),
    ]
    assert demo_app.switches["stock_v2"].setting.state == "shadow"
    assert demo_app.switches["product_v2"].setting.state == "new"


def test_both_sides_reverse_the_product_page_to_the_same_path(demo_app: Turnout) -> None:
    assert demo_app.url_path_for("shop:product", product_id=4) == "/shop/products/4"
    assert demo_app.url_path_for("product_v2", product_id=4) == "/shop/products/4"


@pytest.mark.anyio
async def test_links_on_both_sides_keep_a_proxys_root_path() -> None:
    app = create_app()
    transport = httpx.ASGITransport(app=app, root_path="/trains")
    async with Lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        legacy = await http.get("/trains/shop/")
        new = await http.get("/trains/shop/products/1")
        api = await http.get("/trains/api/products/1")
    assert legacy.headers["x-served-by"] == "wsgi:shop"
    assert new.headers["x-served-by"] == "asgi:product_v2"
    for page in (legacy, new):
        assert set(links_in(page.text)) >= {"/trains/shop/", "/trains/shop/cart", "/trains/shop/static/shop.css"}
    assert api.json()["url"] == "/trains/shop/products/1"
