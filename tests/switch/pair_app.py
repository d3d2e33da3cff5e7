"""A legacy Flask shop with a new endpoint for one of its routes: the pair that the admin, CLI and metrics tests move.

The legacy `GET /shop/items/<int:id>` (endpoint `shop:item`) always prices an item at 10; the new
`item_v2` prices even items at 10 and odd ones at 12. So a shadowed request for an odd item is a
mismatch at `$.price`, and one for an even item a match.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from flask import Flask, jsonify
from flask import Response as FlaskResponse
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from turnout import Turnout
from turnout.switch.canary import in_canary

TOKEN = "test-admin-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Accept": "application/json"}
LEGACY = "wsgi:shop"
NEW = "asgi:item_v2"
PATTERN = "/shop/items/{id:int}"

Endpoint = Callable[[Request], Awaitable[Response]]


def legacy_shop() -> Flask:
    shop = Flask(__name__)

    @shop.get("/items/<int:id>")
    def item(id: int) -> FlaskResponse:
        return jsonify(id=id, name=f"item {id}", price=10)

    @shop.get("/cart")
    def cart() -> str:
        return "legacy cart"

    @shop.get("/")
    def index() -> str:
        return "legacy index"

    return shop


async def item_v2(request: Request) -> Response:
    id: int = request.path_params["id"]
    return JSONResponse({"id": id, "name": f"item {id}", "price": 10 if id % 2 == 0 else 12})


def shop_app(*, item: Endpoint = item_v2, **options: Any) -> Turnout:
    """The shop under `/shop`, with `item` as the new side of `/shop/items/{id:int}` (the switch `item_v2`)."""
    app = Turnout(**options)
    app.mount_wsgi("/shop", legacy_shop(), name="shop")
    app.add_route(PATTERN, item, methods=["GET"], name="item_v2")
    return app


def never_lagging(app: Turnout) -> None:
    """Shadows are dropped while the event loop lags: a busy test machine must not change the counts."""
    app.router.shadows.lagging = lambda: False


async def settle(app: Turnout) -> None:
    """Wait, a bounded time, until no shadow call runs in the background."""
    for _ in range(500):
        if app.router.shadows.in_flight == 0:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{app.router.shadows.in_flight} shadow calls still running after 5 s")


def wait_for_outcomes(app: Turnout, count: int, route: str = "item_v2") -> None:
    """Wait, a bounded time, until `count` shadowed requests of `route` have an outcome (app served in a thread)."""
    deadline = time.monotonic() + 5
    outcomes: dict[str, int] = {}
    while time.monotonic() < deadline:
        outcomes = dict(app.router.switches[route].outcomes)
        if sum(outcomes.values()) >= count:
            return
        time.sleep(0.01)
    raise AssertionError(f"expected {count} shadow outcomes within 5 s, have {outcomes}")


def canary_users(percent: float) -> tuple[str, str]:
    """Two values of turnout's canary cookie: one a canary of `percent` sends to the new side, one it does not."""
    inside = outside = None
    for n in range(10_000):
        value = f"user-{n}"
        if in_canary("c:" + value, percent):
            inside = inside or value
        else:
            outside = outside or value
        if inside and outside:
            return inside, outside
    raise AssertionError(f"no users on both sides of a {percent}% canary")  # pragma: no cover
