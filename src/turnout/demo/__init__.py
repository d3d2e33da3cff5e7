"""The demo that `turnout serve` runs when there is no `turnout.toml`: `uvicorn turnout.demo:app`.

A legacy Flask shop (`turnout.demo.shop`) is mounted at `/shop`, and new Starlette endpoints
sit next to it in the same routing table: a welcome page at `/`, a JSON API under `/api`, an
account page at `/account`, and a new product page that replaces the shop's own. Both sides
share one session (`turnout.sessions`): the shop's login and cart are the new pages' too.
`docs/demo.md` is the tour.
"""

from __future__ import annotations

import os

try:
    import flask  # noqa: F401
except ImportError as exc:  # pragma: no cover - only without the `demo` extra
    raise ImportError("the turnout demo needs Flask: pip install 'turnout[demo]'") from exc

from turnout.app import Turnout
from turnout.demo import api, pages
from turnout.demo.shop import DEMO_SECRET_KEY, create_shop
from turnout.sessions import enable_shared_sessions

ADMIN_TOKEN_ENV = "TURNOUT_ADMIN_TOKEN"


def create_app() -> Turnout:
    """A new instance of the demo app, with its own legacy shop.

    ```python
    from turnout.demo import create_app
    from turnout.testing import client

    async with client(create_app()) as http:
        assert (await http.get("/shop/")).headers["x-served-by"] == "wsgi:shop"
    ```
    """
    # The switches' admin API, when the environment gives it a token (`turnout switch`, `turnout diffs`).
    token = os.environ.get(ADMIN_TOKEN_ENV)
    app = Turnout(admin_path="/_turnout" if token else None, admin_token=token)
    app.mount_wsgi("/shop", create_shop(), name="shop")
    app.add_route("/", pages.home, methods=["GET"], name="home")
    # The same pattern and methods as the shop's `product` route: the new side wins the tie, and
    # `app.table` marks the legacy route `replaced`.
    app.add_route("/shop/products/{product_id:int}", pages.product_page, methods=["GET"], name="product_v2")
    app.add_route("/api/products", api.list_products, methods=["GET"], name="api_products")
    app.add_route("/api/products/{product_id:int}", api.get_product, methods=["GET"], name="api_product")
    # Being rewritten: the shop's stock endpoint still answers, the new one is compared with it.
    app.add_route("/shop/api/stock/{product_id:int}", api.stock, methods=["GET"], name="stock_v2")
    app.configure_switch("stock_v2", "shadow")
    app.add_route("/account", pages.account, methods=["GET"], name="account")
    app.add_route("/account/cart", pages.account_cart_add, methods=["POST"], name="account_cart")
    app.add_route("/account/logout", pages.account_logout, methods=["POST"], name="account_logout")
    # One session for both sides, in the shop's own cookie format and key. The demo's key is
    # published with turnout: any other app gets a ConfigError for it.
    enable_shared_sessions(
        app,
        secret_key=DEMO_SECRET_KEY,
        user_loader=pages.load_user,
        user_id_key=pages.USER_KEY,
        allow_insecure_secret=True,
    )
    return app


app = create_app()

__all__ = ["app", "create_app"]
