from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any
from wsgiref.validate import validator

import httpx
import pytest
from a2wsgi import WSGIMiddleware

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.testing import client

Seen = list[Environ]


def recording_app(seen: Seen) -> Any:
    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(dict(environ))
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    return validator(app)


def turnout_with(prefix: str, app: Any) -> Turnout:
    turnout = Turnout()
    turnout.mount_wsgi(prefix, app, name="legacy")
    return turnout


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("prefix", "path", "script_name", "path_info"),
    [
        ("/shop", "/shop/cart", "/shop", "/cart"),
        ("/shop", "/shop", "/shop", ""),
        ("/shop", "/shop/", "/shop", "/"),
        ("/", "/anything/here", "", "/anything/here"),
        ("/a/b", "/a/b/c/d", "/a/b", "/c/d"),
        # PEP 3333: decoded, then bytes as latin-1.
        ("/shop", "/shop/caf%C3%A9", "/shop", "/caf\u00c3\u00a9"),
        ("/shop", "/shop/x%2Fy", "/shop", "/x/y"),
    ],
)
async def test_script_name_and_path_info_split_at_the_mount(
    prefix: str, path: str, script_name: str, path_info: str
) -> None:
    seen: Seen = []
    async with client(turnout_with(prefix, recording_app(seen))) as http:
        response = await http.get(path)
    assert response.status_code == 200
    assert seen[0]["SCRIPT_NAME"] == script_name
    assert seen[0]["PATH_INFO"] == path_info


@pytest.mark.anyio
async def test_environ_has_the_pep_3333_keys_and_types() -> None:
    seen: Seen = []
    async with client(turnout_with("/shop", recording_app(seen))) as http:
        await http.get("/shop/x?q=1&r=%20")
    environ = seen[0]
    assert environ["REQUEST_METHOD"] == "GET"
    assert environ["QUERY_STRING"] == "q=1&r=%20"
    assert isinstance(environ["SERVER_PORT"], str)
    assert environ["SERVER_PROTOCOL"] == "HTTP/1.1"
    assert environ["wsgi.url_scheme"] == "http"
    assert environ["HTTP_HOST"] == "testserver"
    assert environ["asgi.scope"]["type"] == "http"


@pytest.mark.anyio
async def test_repeated_cookie_headers_are_joined_with_semicolons() -> None:
    seen: Seen = []
    async with client(turnout_with("/", recording_app(seen))) as http:
        await http.get("/", headers=[("Cookie", "a=1"), ("Cookie", "b=2"), ("Accept", "x"), ("Accept", "y")])
    assert seen[0]["HTTP_COOKIE"] == "a=1; b=2"
    assert seen[0]["HTTP_ACCEPT"] == "x,y"


@pytest.mark.anyio
async def test_header_names_with_underscores_are_dropped() -> None:
    # a2wsgi maps X-Forwarded_For onto HTTP_X_FORWARDED_FOR, so a client could pose as a proxy.
    seen: Seen = []
    async with client(turnout_with("/", recording_app(seen))) as http:
        await http.get("/", headers={"X-Forwarded_For": "6.6.6.6", "X-Real-Thing": "yes"})
    assert "HTTP_X_FORWARDED_FOR" not in seen[0]
    assert seen[0]["HTTP_X_REAL_THING"] == "yes"


@pytest.mark.anyio
async def test_script_name_in_the_process_environment_never_overrides_a_mount() -> None:
    os.environ["SCRIPT_NAME"] = "/elsewhere"
    seen: Seen = []
    async with client(turnout_with("/shop", recording_app(seen))) as http:
        await http.get("/shop/cart")
    assert seen[0]["SCRIPT_NAME"] == "/shop"

    # The difference from plain a2wsgi, which takes the variable over the mount.
    plain: Seen = []
    transport = httpx.ASGITransport(app=WSGIMiddleware(recording_app(plain)), root_path="/shop")  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        await http.get("/shop/cart")
    assert plain[0]["SCRIPT_NAME"] == "/elsewhere"


@pytest.mark.anyio
async def test_root_path_of_the_server_comes_before_the_mount_prefix() -> None:
    seen: Seen = []
    app = turnout_with("/shop", recording_app(seen))
    async with client(app) as http:
        transport = httpx.ASGITransport(app=app, root_path="/base")
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as inner:
            response = await inner.get("/base/shop/cart")
    assert response.status_code == 200
    assert seen[0]["SCRIPT_NAME"] == "/base/shop"
    assert seen[0]["PATH_INFO"] == "/cart"
    del http
