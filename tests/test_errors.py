from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence

import pytest
from flask import Flask
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.types import Scope

from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.errors import (
    JSON,
    PROBLEM_JSON,
    default_error_response,
    error_response,
    http_exception_handler,
    json_media_type,
)
from turnout.testing import client

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"


def scope_with(*accept: str, state: dict[str, str] | None = None, app: object = None) -> Scope:
    scope: Scope = {
        "type": "http",
        "method": "GET",
        "path": "/",
        "headers": [(b"accept", value.encode("latin-1")) for value in accept],
    }
    if state is not None:
        scope["state"] = state
    if app is not None:
        scope["app"] = app
    return scope


# -- negotiation ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        ((), None),  # no Accept: anything goes, and the page is HTML
        (("",), None),
        (("*/*",), None),  # curl: a tie, which HTML wins
        ((BROWSER,), None),
        (("text/html",), None),
        (("application/json",), JSON),
        (("APPLICATION/JSON",), JSON),
        (("application/json; charset=utf-8",), JSON),
        (("application/problem+json",), PROBLEM_JSON),
        (("application/json, application/problem+json",), JSON),
        (("application/problem+json, application/json;q=0.5",), PROBLEM_JSON),
        (("application/problem+json;q=0.5, application/json;q=0.5",), JSON),
        (("application/vnd.api+json",), JSON),
        (("application/json, text/javascript, */*; q=0.01",), JSON),  # jQuery
        (("application/json, text/plain, */*",), JSON),  # axios: JSON is named, HTML only by */*
        (("text/*, application/json",), JSON),
        (("application/json;q=0.9, text/html",), None),
        (("text/html;q=0.5, application/json",), JSON),
        (("text/html, application/json",), None),  # a tie: the order of the ranges does not matter
        (("application/json, text/html",), None),
        (("application/json;q=0",), None),
        (("application/json;q=0, */*",), None),
        (("application/*;q=0.8, application/json;q=0",), None),  # the most specific range decides
        (("application/json;q=0.2, application/json;q=0.6, text/html;q=0.5",), JSON),
        (("application/json;q=0.6, application/json;q=0.2, text/html;q=0.5",), JSON),
        (("text/html;q=0, */*",), JSON),  # anything but HTML
        (("application/*",), JSON),
        (("application/*;q=0.5, text/*;q=0.4",), JSON),
        (("application/json; q=0.8, text/html; Q=0.7",), JSON),
        (("application/json;q=.9, text/html;q=0.85",), JSON),
        (("application/json;q=high, text/html;q=0.1",), None),  # a range with a bad q-value is left out
        (("application/json;q=2",), None),
        (("application/json;q=nan",), None),
        (("*; q=.2, application/json",), JSON),  # a bare `*`, from old Java clients
        (("*/json",), None),
        (("json",), None),
        (("text/html;q=0.1", "application/json"), JSON),  # repeated headers are one list
        (("image/png",), None),
    ],
)
def test_json_or_html_by_the_accept_header(accept: tuple[str, ...], expected: str | None) -> None:
    assert json_media_type(scope_with(*accept)) == expected


# -- the page ------------------------------------------------------------------------------------


def test_the_json_error() -> None:
    response = default_error_response(scope_with("application/json", state={"request_id": "r1"}), 503, "Busy.")
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/json"
    assert response.body == b'{"error":"Busy.","status":503,"request_id":"r1"}'


def test_the_problem_json_error() -> None:
    response = default_error_response(scope_with("application/problem+json"), 404, headers={"X-A": "1"})
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["x-a"] == "1"
    assert response.body == b'{"error":"Not Found","status":404,"request_id":null}'


def page(status: int, detail: str | None = None, headers: Mapping[str, str] | None = None, **state: str) -> str:
    response = default_error_response(scope_with(BROWSER, state=state), status, detail, headers)
    assert response.status_code == status
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    return bytes(response.body).decode()


def test_the_html_page() -> None:
    text = page(404, request_id="abc123")
    assert text.startswith('<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n')
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in text
    assert "<title>404 Not Found</title>" in text
    assert "<h1>404 Not Found</h1>\n<p>Nothing is served at this address.</p>\n" in text
    assert "<p><small>Request id: <code>abc123</code></small></p>" in text
    assert text.endswith("</body></html>\n")


@pytest.mark.parametrize(
    ("status", "explanation"),
    [
        (400, "The request could not be understood."),
        (405, "This address does not accept this method."),
        (502, "Bad Gateway"),  # no explanation: the phrase again
    ],
)
def test_a_bare_status_is_explained(status: int, explanation: str) -> None:
    assert f"<p>{explanation}</p>" in page(status, None)


def test_the_detail_is_shown_escaped() -> None:
    text = page(500, "The legacy <app> failed & said so.")
    assert "<p>The legacy &lt;app&gt; failed &amp; said so.</p>" in text
    assert "Request id" not in text


def test_a_405_page_lists_the_allowed_methods() -> None:
    assert "<p>Allowed methods: GET, HEAD</p>" in page(405, headers={"Allow": "GET, HEAD"})
    assert "Allowed methods" not in page(404, headers={"X-Other": "1"})


def test_an_apps_own_renderer_is_used() -> None:
    calls: list[tuple[int, str, Mapping[str, str] | None]] = []

    class App:
        @staticmethod
        def error_renderer(scope: Scope, status: int, detail: str, headers: Mapping[str, str] | None) -> Response:
            calls.append((status, detail, headers))
            return PlainTextResponse("mine", status_code=status)

    response = error_response(scope_with(app=App()), 404)
    assert bytes(response.body) == b"mine"
    assert calls == [(404, "Not Found", None)]


@pytest.mark.anyio
@pytest.mark.parametrize("status", [204, 304])
async def test_statuses_without_a_body_stay_bare(status: int) -> None:
    request = Request(scope_with("application/json"))
    response = await http_exception_handler(request, HTTPException(status, headers={"ETag": '"1"'}))
    assert (response.status_code, response.body, response.headers["etag"]) == (status, b"", '"1"')


# -- through the app --------------------------------------------------------------------------------


def legacy_app() -> Flask:
    flask_app = Flask(__name__)

    @flask_app.get("/items")
    def items() -> str:
        return "items"

    return flask_app


def failing(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
    raise RuntimeError("boom")


def hybrid() -> Turnout:
    app = Turnout()
    app.mount_wsgi("/shop", legacy_app(), name="shop")
    app.mount_wsgi("/broken", failing, name="broken")
    return app


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "path", "status"),
    [("GET", "/nowhere", 404), ("DELETE", "/shop/items", 405), ("GET", "/a/%2e%2e/b", 400), ("GET", "/broken", 500)],
)
@pytest.mark.parametrize(
    ("accept", "json"),
    [
        ((), False),
        (("*/*",), False),
        ((BROWSER,), False),
        (("application/json",), True),
        (("text/html;q=0, */*",), True),
    ],
)
async def test_turnouts_own_errors_go_through_one_renderer(
    method: str, path: str, status: int, accept: Sequence[str], json: bool, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.CRITICAL, logger="turnout.bridge")  # the failing app's traceback
    async with client(hybrid()) as http:
        response = await http.request(method, path, headers=[("accept", value) for value in accept])
    assert response.status_code == status
    request_id = response.headers["x-request-id"]
    if json:
        assert response.headers["content-type"] == "application/json"
        body = response.json()
        assert (body["status"], body["request_id"]) == (status, request_id)
    else:
        assert response.headers["content-type"] == "text/html; charset=utf-8"
        assert f"<h1>{status} " in response.text
        assert f"<code>{request_id}</code>" in response.text


@pytest.mark.anyio
async def test_a_legacy_app_keeps_its_own_404_under_its_mount() -> None:
    # The path is under /shop, and the shop may serve routes that introspection cannot see.
    async with client(hybrid()) as http:
        response = await http.get("/shop/nowhere", headers={"Accept": "application/json"})
    assert response.status_code == 404
    assert response.headers["x-served-by"] == "wsgi:shop"
    assert "<title>404 Not Found</title>" in response.text  # Flask's page, not turnout's
    assert "Request id" not in response.text


async def fails(request: Request) -> Response:
    raise RuntimeError("a bug in new code")


@pytest.mark.anyio
async def test_an_exception_in_new_code_gets_the_same_page() -> None:
    app = Turnout()
    app.add_route("/fails", fails)
    async with client(app, raise_app_exceptions=False) as http:
        page = await http.get("/fails")
        data = await http.get("/fails", headers={"Accept": "application/json"})
    assert page.status_code == 500
    assert "<p>The server failed to handle this request.</p>" in page.text
    assert "a bug in new code" not in page.text
    assert data.json() == {
        "error": "The server failed to handle this request.",
        "status": 500,
        "request_id": data.headers["x-request-id"],
    }
