from __future__ import annotations

from collections.abc import Iterable, Sequence

import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.middleware.proxy_headers import TrustedProxies
from turnout.testing import client


def legacy(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [f"{environ['REMOTE_ADDR']} {environ['wsgi.url_scheme']} {environ['HTTP_HOST']}".encode()]


async def new(request: Request) -> Response:
    assert request.client is not None
    return JSONResponse({"client": request.client.host, "url": str(request.url)})


def app(trusted: Sequence[str]) -> Turnout:
    turnout = Turnout(trusted_proxies=trusted)
    turnout.mount_wsgi("/legacy", legacy, name="legacy")
    turnout.add_route("/new", new)
    return turnout


FORWARDED = {
    "X-Forwarded-For": "203.0.113.9, 10.0.0.7",
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "shop.example",
}


@pytest.mark.anyio
async def test_forwarded_headers_from_a_trusted_proxy_reach_both_sides() -> None:
    # httpx's ASGITransport connects from 127.0.0.1; 10.0.0.7 is a second, inner proxy.
    async with client(app(["127.0.0.1", "10.0.0.0/8"])) as http:
        old = await http.get("/legacy/x", headers=FORWARDED)
        fresh = await http.get("/new", headers=FORWARDED)
    assert old.text == "203.0.113.9 https shop.example"
    assert fresh.json() == {"client": "203.0.113.9", "url": "https://shop.example/new"}


@pytest.mark.anyio
async def test_forwarded_headers_from_anyone_else_change_nothing() -> None:
    async with client(app(["10.0.0.1"])) as http:
        old = await http.get("/legacy/x", headers=FORWARDED)
    assert old.text == "127.0.0.1 http testserver"


@pytest.mark.anyio
async def test_no_trusted_proxies_turns_the_middleware_off() -> None:
    async with client(app([])) as http:
        old = await http.get("/legacy/x", headers=FORWARDED)
    assert old.text == "127.0.0.1 http testserver"


def test_trusted_proxies_match_addresses_networks_and_star() -> None:
    trusted = TrustedProxies(["127.0.0.1", "10.0.0.0/8", "::1"])
    assert "10.1.2.3" in trusted and "::1" in trusted and "127.0.0.1" in trusted
    assert "11.0.0.1" not in trusted and "not-an-ip" not in trusted
    assert "anything" in TrustedProxies(["*"])
