"""The error page turnout renders for its own errors, on both sides: 404 (no route), 405, 400 (a
bad path, bad framing), and the bridge's 413, 503, 504 and 500 (a failing legacy app).

One renderer: JSON (`{"error": ..., "status": ..., "request_id": ...}`) when the client prefers
JSON by its `Accept` header (q-values included), a small HTML page otherwise; or the app's own
`Turnout(error_renderer=...)`. A path under a legacy mount that no known route matches goes to the
legacy app, which answers with its own 404: it may serve routes turnout cannot see.
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


JSON = "application/json"
PROBLEM_JSON = "application/problem+json"


def _media_ranges(accept: str) -> list[tuple[str, str, float]]:
    """The media ranges of an `Accept` header as `(type, subtype, q)`, lower-cased.

    A range without a valid q-value (`q=high`, `q=2`) is left out, as if it were not there; a
    bare `*` (sent by some old clients) means `*/*`.
    """
    ranges = []
    for item in accept.split(","):
        media, *params = item.split(";")
        media = media.strip().lower()
        if media == "*":
            media = "*/*"
        kind, slash, subtype = media.partition("/")
        if not (kind and slash and subtype) or (kind == "*" and subtype != "*"):
            continue
        q: float | None = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                q = _qvalue(value.strip())
        if q is not None:
            ranges.append((kind, subtype, q))
    return ranges


def _qvalue(text: str) -> float | None:
    try:
        q = float(text)
    except ValueError:
        return None
    return q if 0.0 <= q <= 1.0 else None  # NaN too


def _preference(ranges: list[tuple[str, str, float]], kind: str, subtypes: Callable[[str], bool]) -> tuple[float, int]:
    """`(q, specificity)` the client gives a type: from the most specific range that matches it
    (`type/subtype`, then `type/*`, then `*/*`), as RFC 9110 asks; `(0, -1)` if none does."""
    best = (0.0, -1)
    for range_kind, range_subtype, q in ranges:
        if range_kind == kind and subtypes(range_subtype):
            specificity = 2
        elif range_kind == kind and range_subtype == "*":
            specificity = 1
        elif range_kind == "*":
            specificity = 0
        else:
            continue
        if specificity > best[1] or (specificity == best[1] and q > best[0]):
            best = (q, specificity)
    return best


def _is_json(subtype: str) -> bool:
    return subtype == "json" or subtype.endswith("+json")


def json_media_type(scope: Scope) -> str | None:
    """The JSON type to answer an error with, or `None` for the HTML page.

    JSON when the client prefers it to HTML: a higher q-value, or the same q-value given by a
    more specific range (`application/json, */*` names JSON, not HTML). On a full tie (`*/*`, no
    `Accept`, `text/html, application/json`) the page is HTML. `application/problem+json`, and
    any `+json` type, counts as JSON; the answer is `application/problem+json` when the client
    asks for that and not for plain `application/json` as much.
    """
    accept = ",".join(Headers(scope=scope).getlist("accept"))
    if not accept:
        return None
    ranges = _media_ranges(accept)
    wanted = _preference(ranges, "application", _is_json)
    html_page = _preference(ranges, "text", lambda subtype: subtype == "html")
    if wanted[0] <= 0 or wanted <= html_page:
        return None
    plain = _preference(ranges, "application", lambda subtype: subtype == "json")
    problem = _preference(ranges, "application", lambda subtype: subtype == "problem+json")
    return PROBLEM_JSON if problem[1] == 2 and problem > plain else JSON


def error_response(
    scope: Scope, status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """The response for an error turnout itself produces, from the app's `error_renderer` if it has one."""
    renderer: ErrorRenderer | None = getattr(scope.get("app"), "error_renderer", None)
    if renderer is not None:
        return renderer(scope, status, detail or HTTPStatus(status).phrase, headers)
    return default_error_response(scope, status, detail, headers)


# What a bare status says to someone reading the page, when the error came without a detail.
_EXPLANATIONS = {
    400: "The request could not be understood.",
    404: "Nothing is served at this address.",
    405: "This address does not accept this method.",
}
_STYLE = (
    "body{font-family:system-ui,-apple-system,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;"
    "color:#222;line-height:1.5}h1{font-size:1.5rem;margin-bottom:.5rem}small{color:#666}"
    "code{font-size:.9em}"
)


def default_error_response(
    scope: Scope, status: int, detail: str | None = None, headers: Mapping[str, str] | None = None
) -> Response:
    """turnout's own error page: JSON when the client prefers it (see `json_media_type`), HTML otherwise.

    The JSON is `{"error": detail, "status": status, "request_id": id}`.
    """
    phrase = HTTPStatus(status).phrase
    message = detail or phrase
    state = scope.get("state")
    request_id = state.get("request_id") if isinstance(state, dict) else None
    media_type = json_media_type(scope)
    if media_type is not None:
        return JSONResponse(
            {"error": message, "status": status, "request_id": request_id},
            status_code=status,
            headers=headers,
            media_type=media_type,
        )
    title = f"{status} {html.escape(phrase)}"
    text = _EXPLANATIONS.get(status, message) if message == phrase else message
    allow = Headers(headers=dict(headers or {})).get("allow")
    page = (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{_STYLE}</style></head>\n"
        f"<body>\n<h1>{title}</h1>\n<p>{html.escape(text)}</p>\n"
        + (f"<p>Allowed methods: {html.escape(allow)}</p>\n" if allow else "")
        + (f"<p><small>Request id: <code>{html.escape(str(request_id))}</code></small></p>\n" if request_id else "")
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
