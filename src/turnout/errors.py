"""The error page turnout renders for its own errors (404, 405, 400, 500 from a failing legacy app).

One renderer for both sides: JSON (`{"error": ..., "status": ..., "request_id": ...}`) when the
client asks for JSON, a small HTML page otherwise.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from http import HTTPStatus
from typing import TypeAlias

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Scope

ErrorRenderer: TypeAlias = Callable[[Scope, int, str, Mapping[str, str] | None], Response]
"""`renderer(scope, status, detail, headers) -> Response`: an app's own error page (`Turnout(error_renderer=...)`)."""


def _wants_json(scope: Scope) -> bool:
    accept = Headers(scope=scope).get("accept", "")
    if not accept:
        return False
    json_at = max(accept.find("application/json"), accept.find("+json"))
    html_at = accept.find("text/html")
    return json_at != -1 and (html_at == -1 or json_at < html_at)


def error_response(
    scope: Scope, status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """The response for an error turnout itself produces, from the app's `error_renderer` if it has one."""
    renderer: ErrorRenderer | None = getattr(scope.get("app"), "error_renderer", None)
    if renderer is not None:
        return renderer(scope, status, detail or HTTPStatus(status).phrase, headers)
    return default_error_response(scope, status, detail, headers)


def default_error_response(
    scope: Scope, status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """turnout's own error page: JSON when the client prefers it, HTML otherwise."""
    phrase = HTTPStatus(status).phrase
    message = detail or phrase
    state = scope.get("state")
    request_id = state.get("request_id") if isinstance(state, dict) else None
    if _wants_json(scope):
        return JSONResponse(
            {"error": message, "status": status, "request_id": request_id}, status_code=status, headers=headers
        )
    page = (
        '<!doctype html>\n<html><head><meta charset="utf-8">'
        f"<title>{status} {html.escape(phrase)}</title></head>\n"
        f"<body><h1>{status} {html.escape(phrase)}</h1>\n<p>{html.escape(message)}</p>\n"
        + (f"<p><small>request id: {html.escape(str(request_id))}</small></p>\n" if request_id else "")
        + "</body></html>\n"
    )
    return HTMLResponse(page, status_code=status, headers=headers)


async def http_exception_handler(request: Request, exc: Exception) -> Response:
    """Starlette exception handler that renders `HTTPException`s with `error_response`."""
    assert isinstance(exc, HTTPException)
    if exc.status_code in (204, 304):
        return Response(status_code=exc.status_code, headers=exc.headers)
    return error_response(request.scope, exc.status_code, exc.detail, exc.headers)


async def server_error_handler(request: Request, exc: Exception) -> Response:
    """Starlette's handler for an unhandled exception: the same error page, with no traceback shown."""
    return error_response(request.scope, 500, "The server failed to handle this request.")
