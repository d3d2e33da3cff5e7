"""The demo that `turnout serve` runs when there is no `turnout.toml`: `uvicorn turnout.demo:app`.

A legacy Flask shop (`turnout.demo.shop`) is mounted at `/shop`, and new Starlette endpoints
sit next to it in the same routing table: a welcome page at `/`, a JSON API under `/api`, and
a new product page that replaces the shop's own. `docs/demo.md` is the tour.
"""

from __future__ import annotations

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the `demo` extra
    raise ImportError("the turnout demo needs Flask: pip install 'turnout[demo]'") from exc

from turnout.app import Turnout
from turnout.demo import api, pages
from turnout.demo.shop import create_shop


def create_app() -> Turnout:
    """A new instance of the demo app, with its own legacy shop.

    ```python
    from turnout.demo import create_app
    from turnout.testing import client

    async with client(create_app()) as http:
        assert (await http.get("/shop/")).headers["x-served-by"] == "wsgi:shop"
    ```
    """
    app = Turnout()
    app.mount_wsgi("/shop", create_shop(), name="shop")
    app.add_route("/", pages.home, methods=["GET"], name="home")
    # The same pattern and methods as the shop's `product` route: the new side wins the tie, and
    # `app.table` marks the legacy route `replaced`.
    app.add_route("/shop/products/{product_id:int}", pages.product_page, methods=["GET"], name="product_v2")
    app.add_route("/api/products", api.list_products, methods=["GET"], name="api_products")
    app.add_route("/api/products/{product_id:int}", api.get_product, methods=["GET"], name="api_product")
    return app


app = create_app()

__all__ = ["app", "create_app"]
