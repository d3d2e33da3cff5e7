# mypy: disallow-untyped-decorators=False
"""A Bottle app with each kind of wildcard, an app mounted in it and routes Bottle never reaches."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import bottle  # type: ignore[import-untyped,unused-ignore]

from turnout._types import Environ, StartResponse
from turnout.integrations.urls import turnout_url


def plain_wsgi(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"plain " + environ["PATH_INFO"].encode("latin-1")]


def bottle_app() -> Any:
    app = bottle.Bottle()
    app.router.add_filter("hex", lambda conf: (r"[0-9a-f]+", lambda value: int(value, 16), lambda n: format(n, "x")))

    @app.get("/hello/<name>", name="hello")
    def hello(name: str) -> dict[str, Any]:
        return {
            "view": "hello",
            "name": name,
            "self": app.get_url("hello", name=name),
            "api": turnout_url(bottle.request.environ, "api:user", uid=5),
        }

    @app.route("/numbers/<n:int>", method=["GET", "POST"])
    def number(n: int) -> dict[str, Any]:
        return {"view": "number", "n": n}

    @app.get("/prices/<x:float>")
    def price(x: float) -> dict[str, Any]:
        return {"view": "price", "x": x}

    @app.get("/static/<filename:path>", name="static")
    def static(filename: str) -> dict[str, Any]:
        return {"view": "static", "filename": filename}

    @app.get("/codes/<code:re:[a-z]{3}>")
    def code(code: str) -> dict[str, Any]:
        return {"view": "code", "code": code}

    @app.get("/colors/<value:hex>", name="color")
    def color(value: int) -> dict[str, Any]:
        return {"view": "color", "value": value}

    @app.route("/anything", method="ANY")
    def anything() -> dict[str, Any]:
        return {"view": "anything", "method": bottle.request.method}

    @app.get("/mixed")
    def mixed_get() -> dict[str, Any]:
        return {"view": "mixed_get"}

    @app.route("/mixed", method="ANY")
    def mixed_any() -> dict[str, Any]:
        return {"view": "mixed_any"}

    @app.get("/replaced")
    def replaced_first() -> dict[str, Any]:
        return {"view": "first"}

    @app.get("/replaced")
    def replaced_second() -> dict[str, Any]:
        return {"view": "second: Bottle keeps the last route for one rule and method"}

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # Bottle warns about its old syntax

        @app.get("/old/:name")
        def old(name: str) -> dict[str, Any]:
            return {"view": "old", "name": name}

    child = bottle.Bottle()

    @child.get("/page")
    def page() -> dict[str, Any]:
        return {"view": "child page"}

    app.mount("/child/", child)
    app.mount("/wsgi", plain_wsgi)
    return app
