"""Many visitors at once: each sees only their own cart, whatever thread serves them.

The legacy shop keeps the user in `flask.g` and reads `flask.request` and `flask.session`,
which are context-local; requests running at the same time in the mount's threads must not
see each other's.
"""

from __future__ import annotations

import re

import anyio
import httpx
import pytest

from turnout import Turnout
from turnout.demo.catalog import PRODUCTS
from turnout.demo.shop import DEMO_PASSWORD, DEMO_USER
from turnout.testing import client

VISITORS = 50
CONCURRENT = 25


def logs_in(visitor: int) -> bool:
    return visitor % 5 == 0


def expected_cart(visitor: int) -> tuple[int, int]:
    """The product and quantity that this visitor adds: no two visitors add the same pair."""
    return PRODUCTS[visitor % len(PRODUCTS)].id, visitor // len(PRODUCTS) + 1


@pytest.mark.anyio
async def test_concurrent_visitors_each_see_their_own_cart(demo_app: Turnout) -> None:
    failures: list[str] = []
    limit = anyio.CapacityLimiter(CONCURRENT)

    async def visit(visitor: int) -> None:
        product_id, quantity = expected_cart(visitor)
        # Each visitor has a cookie jar of its own, over the same app.
        transport = httpx.ASGITransport(app=demo_app)
        async with limit, httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            if logs_in(visitor):
                await http.post("/shop/login", data={"username": DEMO_USER, "password": DEMO_PASSWORD})
            added = await http.post("/shop/cart", data={"product_id": str(product_id), "quantity": str(quantity)})
            page = await http.get(f"/shop/products/{product_id}")
            cart = await http.get("/shop/cart")
        lines = re.findall(r'<a href="/shop/products/(\d+)">.*?<td class="number">(\d+)</td>', cart.text, re.S)
        if added.status_code != 303 or page.status_code != 200 or f'value="{product_id}"' not in page.text:
            failures.append(f"visitor {visitor}: {added.status_code} {page.status_code}")
        title = f"<h1>{DEMO_USER}’s cart</h1>" if logs_in(visitor) else "<h1>Your cart</h1>"
        if title not in cart.text:
            failures.append(f"visitor {visitor} (logged in: {logs_in(visitor)}) sees the wrong title")
        if lines != [(str(product_id), str(quantity))]:
            failures.append(f"visitor {visitor} added {quantity} × {product_id} and sees {lines}")

    # The outer client runs the app's lifespan around all the visitors.
    async with client(demo_app):
        with anyio.fail_after(30):
            async with anyio.create_task_group() as tasks:
                for visitor in range(VISITORS):
                    tasks.start_soon(visit, visitor)
        # The visitors really were served by several threads at once.
        assert demo_app.wsgi_mounts[0].pool.size > 1
    assert failures == []
