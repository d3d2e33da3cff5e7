"""The demo's two sides share one session: log in on one, be logged in on the other; one cart; log out anywhere."""

from __future__ import annotations

import httpx
import pytest

from turnout import Turnout
from turnout.demo.catalog import MAX_QUANTITY, PRODUCTS
from turnout.demo.pages import load_user
from turnout.demo.shop import DEMO_PASSWORD, DEMO_USER
from turnout.testing import client

SIGNED_IN = f"Signed in as <strong>{DEMO_USER}</strong>"


async def log_in(http: httpx.AsyncClient) -> None:
    response = await http.post("/shop/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
    assert response.status_code == 303


@pytest.mark.anyio
async def test_a_legacy_login_is_seen_by_the_new_pages(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        assert SIGNED_IN not in (await http.get("/shop/products/1")).text
        await log_in(http)
        new = await http.get("/shop/products/1")
        legacy = await http.get("/shop/cart")
    assert new.headers["x-served-by"] == "asgi:product_v2"
    assert SIGNED_IN in new.text and SIGNED_IN in legacy.text
    # Each side's logout button posts to that side.
    assert '<form class="visitor" method="post" action="/account/logout">' in new.text
    assert '<form class="visitor" method="post" action="/shop/logout">' in legacy.text


@pytest.mark.anyio
async def test_the_cart_added_on_the_legacy_side_is_on_the_new_pages(demo_app: Turnout) -> None:
    product = PRODUCTS[1]
    async with client(demo_app) as http:
        await http.post("/shop/cart", data={"product_id": str(product.id), "quantity": "2"})
        page = await http.get("/shop/products/3")
        account = await http.get("/account")
    assert '<a href="/shop/cart">Cart (2)</a>' in page.text
    assert account.headers["x-served-by"] == "asgi:account"
    assert f"<td>{product.name}</td>" in account.text
    assert '<td class="number">2</td>' in account.text
    assert "You are not signed in." in account.text


@pytest.mark.anyio
async def test_the_cart_added_on_the_new_side_is_in_the_legacy_cart(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        await log_in(http)
        await http.post("/shop/cart", data={"product_id": "4", "quantity": str(MAX_QUANTITY - 1)})
        for _ in range(2):  # the second one would go over the maximum
            added = await http.post("/account/cart", data={"product_id": "4"})
            assert (added.status_code, added.headers["location"]) == (303, "/account")
        account = await http.get("/account")
        cart = await http.get("/shop/cart")
    assert SIGNED_IN in account.text and "disabled" in account.text
    assert f'<td class="number">{MAX_QUANTITY}</td>' in cart.text
    assert f"<h1>{DEMO_USER}’s cart</h1>" in cart.text


@pytest.mark.anyio
@pytest.mark.parametrize("form", [{}, {"product_id": "999"}, {"product_id": "one"}])
async def test_adding_something_that_is_not_a_product_on_the_new_side_is_a_400(
    demo_app: Turnout, form: dict[str, str]
) -> None:
    async with client(demo_app) as http:
        response = await http.post("/account/cart", data=form)
    assert response.status_code == 400


@pytest.mark.anyio
async def test_logging_out_on_the_new_side_logs_out_of_the_legacy_side(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        await log_in(http)
        await http.post("/shop/cart", data={"product_id": "1"})
        response = await http.post("/account/logout")
        assert (response.status_code, response.headers["location"]) == (303, "/shop/")
        assert response.headers.get_list("set-cookie") == [
            "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        ]
        assert "Signed in" not in (await http.get("/shop/")).text
        assert "Your cart is empty." in (await http.get("/shop/cart")).text
        assert 'name="password"' in (await http.get("/shop/login")).text


@pytest.mark.anyio
async def test_only_one_session_cookie_is_ever_sent(demo_app: Turnout) -> None:
    async with client(demo_app) as http:
        responses = [
            await http.post("/shop/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD}),
            await http.post("/shop/cart", data={"product_id": "1"}),
            await http.post("/account/cart", data={"product_id": "1"}),
            await http.post("/shop/logout"),
        ]
    for response in responses:
        assert len(response.headers.get_list("set-cookie")) == 1


def test_the_demo_user_loader_knows_only_the_demo_user() -> None:
    user = load_user(DEMO_USER)
    assert user is not None and user.display_name == DEMO_USER
    assert load_user("mallory") is None
