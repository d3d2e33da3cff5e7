"""A pair for the switch tests: a legacy Flask shop and new Starlette endpoints that serve the same routes.

```
pattern                 switch      legacy (Flask, at /shop)          new (native Starlette route)
/shop/items/{id:int}    item_v2     shop:item     GET and writes      same methods
/shop/stamp             stamp_v2    shop:stamp    GET                 GET
/shop/visits            visits_v2   shop:visits   GET                 GET (counts visits in the shared session)
/shop/                  -           shop:index    GET                 - (legacy only: not a pair)
```
Both sides answer an item as JSON `{"id", "name", "price", "side", "q", "body"}`, where `side` says
which side answered (`"legacy"` or `"new"`) and `body` is the request body it read. `Shop` holds
the knobs of the new side (its price, delay, status, whether it raises) and records every call
of each side, so a test can count what reached the new side, even in the background.

The Flask app's `wsgi_app` runs behind `wsgiref.validate.validator` (the app itself stays a
Flask app, so that turnout imports its routes and finds it for the shared session).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from typing import Any, NamedTuple
from wsgiref.validate import validator

import anyio
import httpx
from flask import Flask, jsonify, request, session
from flask.typing import ResponseReturnValue
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from turnout import Thresholds, Turnout
from turnout._types import Environ, StartResponse, WSGIApp
from turnout.sessions import enable_shared_sessions

SECRET = "turnout-switch-tests-5b0e9d2c7a41f3e8"
WRITES = ["POST", "PUT", "PATCH", "DELETE"]
ITEM_METHODS = ["GET", *WRITES]
LEGACY_PRICE = 10


class Call(NamedTuple):
    method: str
    path: str
    query: str
    body: bytes


def validated(wsgi_app: WSGIApp) -> WSGIApp:
    """`wsgi_app` behind wsgiref's validator, so that any PEP 3333 violation fails the test."""
    checked = validator(wsgi_app)

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        # turnout sets `wsgi.input_terminated` (as gunicorn does), so Werkzeug reads a body with
        # `read()` and no size, which the validator refuses: it predates that extension.
        environ = {key: value for key, value in environ.items() if key != "wsgi.input_terminated"}
        return checked(environ, start_response)

    return app


class Shop:
    """Both sides of the shop, with knobs on the new side and a record of every call."""

    def __init__(self) -> None:
        self.legacy_calls: list[Call] = []
        self.new_calls: list[Call] = []
        self.new_price = LEGACY_PRICE  # another price makes the new side's answers differ
        self.new_delay = 0.0  # seconds the new side waits before it answers
        self.new_status = 200  # 500 makes the new side fail
        self.new_raises = False
        self.new_gate: asyncio.Event | None = None  # when set, the new side waits for it before it answers
        self.new_stamp_value = 1
        self.new_running = 0
        self.new_most_running = 0
        self.new_finished = 0
        self.new_saw_sessions: list[dict[str, Any]] = []

    # -- the legacy side ------------------------------------------------------------------------

    def legacy_app(self) -> Flask:
        app = Flask("shop")
        app.config.update(SECRET_KEY=SECRET)

        @app.route("/items/<int:id>", methods=ITEM_METHODS)
        def item(id: int) -> ResponseReturnValue:
            body = request.get_data()
            self.legacy_calls.append(Call(request.method, request.path, request.query_string.decode(), body))
            return jsonify(
                id=id,
                name="tea",
                price=LEGACY_PRICE,
                side="legacy",
                q=request.args.get("q"),
                body=body.decode(),
            )

        @app.get("/stamp")
        def stamp() -> ResponseReturnValue:
            # A field that differs on every call, as a timestamp or a fresh id would.
            return jsonify(value=1, generated_at=time.time_ns())

        @app.get("/visits")
        def visits() -> ResponseReturnValue:
            session["visits"] = session.get("visits", 0) + 1
            return jsonify(visits=session["visits"])

        @app.get("/")
        def index() -> ResponseReturnValue:
            return "legacy index"

        app.wsgi_app = validated(app.wsgi_app)  # type: ignore[method-assign,assignment]
        return app

    # -- the new side ---------------------------------------------------------------------------

    async def item(self, request: Request) -> Response:
        body = await request.body()
        self.new_calls.append(Call(request.method, request.url.path, request.url.query, body))
        self.new_running += 1
        self.new_most_running = max(self.new_most_running, self.new_running)
        try:
            if self.new_gate is not None:
                await self.new_gate.wait()
            if self.new_delay:
                await asyncio.sleep(self.new_delay)
            if self.new_raises:
                raise RuntimeError("the new item code is broken")
            data = {
                "id": request.path_params["id"],
                "name": "tea",
                "price": self.new_price,
                "side": "new",
                "q": request.query_params.get("q"),
                "body": body.decode(),
            }
            self.new_finished += 1
            return JSONResponse(data, status_code=self.new_status)
        finally:
            self.new_running -= 1

    async def stamp(self, request: Request) -> Response:
        self.new_calls.append(Call(request.method, request.url.path, request.url.query, b""))
        return JSONResponse({"value": self.new_stamp_value, "generated_at": time.time_ns()})

    async def visits(self, request: Request) -> Response:
        self.new_saw_sessions.append(dict(request.session))
        request.session["written_by_new"] = True
        request.session["visits"] = request.session.get("visits", 0) + 1
        return JSONResponse({"visits": request.session["visits"]})


def build(shop: Shop, *, sessions: bool = False, **options: Any) -> Turnout:
    """The shop's two sides behind one `Turnout`; `options` go to `Turnout(...)`."""
    app = Turnout(**options)
    app.mount_wsgi("/shop", shop.legacy_app(), name="shop")
    app.add_route("/shop/items/{id:int}", shop.item, methods=ITEM_METHODS, name="item_v2")
    app.add_route("/shop/stamp", shop.stamp, methods=["GET"], name="stamp_v2")
    app.add_route("/shop/visits", shop.visits, methods=["GET"], name="visits_v2")
    if sessions:
        enable_shared_sessions(app, secret_key=SECRET)
    return app


# A switch whose side must follow only its state: no rollback on the new side's p99. With a few
# dozen samples a p99 is the slowest request, and one pause of a busy test machine on the new side
# would roll the route back (as it should in production) in a test that is about something else.
NO_LATENCY_ROLLBACK = Thresholds(p99_ratio=None)


def steady(app: Turnout) -> Turnout:
    """Shadows that are never dropped for event-loop lag.

    The governor drops shadow calls while the loop lags by more than 5 ms; on a busy test machine
    that would make the exact counts of these tests depend on the machine's load.
    """
    app.router.shadows.lagging = lambda: False
    return app


async def shadows_done(app: Turnout, *, timeout: float = 5.0) -> None:
    """Wait until no shadow call of `app` runs (a bounded wait: fails after `timeout` seconds)."""
    with anyio.fail_after(timeout):
        while app.router.shadows.in_flight:
            await asyncio.sleep(0.005)


def served_by(response: httpx.Response) -> str:
    """`"legacy"` or `"new"`, from the `X-Served-By` header."""
    header = response.headers["x-served-by"]
    assert header in ("wsgi:shop", "asgi:item_v2", "asgi:stamp_v2", "asgi:visits_v2"), header
    return "legacy" if header == "wsgi:shop" else "new"
