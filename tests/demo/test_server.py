from __future__ import annotations

import httpx
import pytest

from turnout.testing import run_server


@pytest.mark.server
def test_uvicorn_serves_the_demo_by_its_import_string() -> None:
    # What `uvicorn turnout.demo:app` does.
    with run_server("turnout.demo:app") as base, httpx.Client(base_url=base, timeout=10) as http:
        home = http.get("/")
        legacy = http.get("/shop/")
        new = http.get("/shop/products/2")
        css = http.get("/shop/static/shop.css")
        logged_in = http.post("/shop/login", data={"username": "demo", "password": "demo-password"})
        cart = http.post("/shop/cart", data={"product_id": "2"}, follow_redirects=True)
    assert (home.status_code, home.headers["x-served-by"]) == (200, "asgi:home")
    assert (legacy.status_code, legacy.headers["x-served-by"]) == (200, "wsgi:shop")
    assert (new.status_code, new.headers["x-served-by"]) == (200, "asgi:product_v2")
    assert (css.status_code, css.headers["x-served-by"]) == (200, "wsgi:shop")
    assert logged_in.status_code == 303
    assert cart.url.path == "/shop/cart"
    assert "demo’s cart" in cart.text
    assert '<a href="/shop/products/2">' in cart.text
