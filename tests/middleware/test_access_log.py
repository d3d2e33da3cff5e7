from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import pytest
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.middleware.access_log import escape
from turnout.testing import client


def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"legacy body"]


async def product(request: Request) -> Response:
    return PlainTextResponse("new")


def app(style: str) -> Turnout:
    turnout = Turnout(access_log=style)
    turnout.mount_wsgi("/shop", legacy, name="shop")
    turnout.add_route("/shop/products/{id:int}", product, name="product_v2")
    return turnout


def lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "turnout.access"]


@pytest.mark.anyio
async def test_one_text_line_per_request_with_route_side_mount_and_wait(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="turnout.access"):
        async with client(app("text")) as http:
            old = await http.get("/shop/cart?x=1")
            await http.get("/shop/products/3")
            await http.get("/nowhere")
    legacy_line, new_line, missing = lines(caplog)
    rid = old.headers["x-request-id"]
    assert legacy_line.startswith('127.0.0.1 "GET /shop/cart?x=1" 200 11 ')
    assert "route=/shop side=wsgi mount=shop wait=" in legacy_line and f"id={rid}" in legacy_line
    assert "route=/shop/products/{id:int} side=asgi mount=- wait=-" in new_line
    assert '"GET /nowhere" 404' in missing and "route=- side=- mount=-" in missing


@pytest.mark.anyio
async def test_json_lines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="turnout.access"):
        async with client(app("json")) as http:
            await http.get("/shop/cart")
    [line] = lines(caplog)
    data = json.loads(line)
    assert data["route"] == "/shop" and data["side"] == "wsgi" and data["status"] == 200
    assert data["bytes"] == 11 and data["queue_wait_ms"] >= 0


@pytest.mark.anyio
async def test_a_client_cannot_inject_escapes_or_newlines(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="turnout.access"):
        async with client(app("text")) as http:
            await http.get("/shop/%1b%5b31mred%0afake-line")
    [line] = lines(caplog)
    assert "\x1b" not in line and "\n" not in line
    assert "\\x1b[31mred\\x0afake-line" in line
    assert escape('a"b\\c') == "a\\x22b\\x5cc"


@pytest.mark.anyio
async def test_the_access_log_costs_nothing_when_info_is_off(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="turnout.access"):
        async with client(app("text")) as http:
            await http.get("/shop/cart")
    assert lines(caplog) == []


@pytest.mark.anyio
async def test_a_failing_observer_is_logged_and_the_request_still_served(caplog: pytest.LogCaptureFixture) -> None:
    turnout = app("text")

    def broken(record: object) -> None:
        raise RuntimeError("observer failed")

    assert turnout.access_log is not None
    turnout.access_log = broken  # type: ignore[assignment]
    with caplog.at_level(logging.ERROR, logger="turnout"):
        async with client(turnout) as http:
            assert (await http.get("/shop/cart")).status_code == 200
    assert "an observer of requests failed" in caplog.text
