from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.middleware.request_id import _IdMaker, request_id
from turnout.testing import client


def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ.get('HTTP_X_REQUEST_ID')} {request_id.get()}".encode()]


async def new(request: Request) -> Response:
    return JSONResponse({"state": request.state.request_id, "var": request_id.get()})


async def broken(request: Request) -> Response:
    raise RuntimeError("native failure")


def app() -> Turnout:
    turnout = Turnout()
    turnout.mount_wsgi("/legacy", legacy, name="legacy")
    turnout.add_route("/new", new)
    turnout.add_route("/broken", broken)
    return turnout


@pytest.mark.anyio
async def test_an_id_is_made_and_reaches_both_sides() -> None:
    async with client(app()) as http:
        old = await http.get("/legacy/x")
        fresh = await http.get("/new")
    rid = old.headers["x-request-id"]
    assert len(rid) == 32
    assert old.text == f"{rid} {rid}"
    assert fresh.json() == {"state": fresh.headers["x-request-id"], "var": fresh.headers["x-request-id"]}
    assert fresh.headers["x-request-id"] != rid


@pytest.mark.anyio
async def test_a_valid_incoming_id_is_reused_and_an_invalid_one_replaced() -> None:
    async with client(app()) as http:
        kept = await http.get("/legacy/x", headers={"X-Request-ID": "proxy-123:abc"})
        replaced = await http.get("/legacy/x", headers={"X-Request-ID": "bad id\x1b[31m"})
    assert kept.headers["x-request-id"] == "proxy-123:abc"
    assert kept.text == "proxy-123:abc proxy-123:abc"
    new_id = replaced.headers["x-request-id"]
    assert new_id != "bad id" and len(new_id) == 32
    assert replaced.text == f"{new_id} {new_id}"


@pytest.mark.anyio
async def test_an_unhandled_error_on_the_new_side_gives_a_500_page_with_the_id(
    caplog: pytest.LogCaptureFixture,
) -> None:
    turnout = app()
    with caplog.at_level(logging.ERROR):
        async with client(turnout, raise_app_exceptions=False) as http:
            response = await http.get("/broken", headers={"Accept": "application/json"})
    assert response.status_code == 500
    assert response.json()["request_id"] == response.headers["x-request-id"]
    assert "native failure" not in response.text


def test_made_ids_are_32_hex_digits_and_never_repeat() -> None:
    maker = _IdMaker()
    ids = [maker() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(re.fullmatch(r"[0-9a-f]{32}", made) for made in ids)
    assert _IdMaker()()[:16] != ids[0][:16]  # another process (or a fork) draws another prefix
