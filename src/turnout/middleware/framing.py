"""Refuse requests whose body framing is ambiguous, whatever the parser let through.

Uvicorn's h11 parser accepts a request with both `Transfer-Encoding` and `Content-Length` (the
chunked framing wins) and keeps the connection open, so a second request hidden after the
chunked body is served next: the classic request-smuggling set-up when a proxy in front frames
by `Content-Length`. RFC 9112 (section 6.1) says a server must close the connection after such
a request; gunicorn refuses it. turnout answers 400 and closes the connection, so nothing that
follows on it is served. A transfer coding other than `chunked` gets a 501, as gunicorn does.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from turnout.errors import error_response


class FramingGuard:
    """Pure-ASGI middleware: 400 for `Transfer-Encoding` with `Content-Length`, 501 for unknown codings."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            coding = None
            has_length = False
            for name, value in scope["headers"]:
                if name == b"transfer-encoding":
                    coding = value if coding is None else coding + b"," + value
                elif name == b"content-length":
                    has_length = True
            if coding is not None:
                if has_length:
                    await self._refuse(scope, receive, send, 400, "Transfer-Encoding and Content-Length together.")
                    return
                if coding.strip().lower() != b"chunked":
                    await self._refuse(scope, receive, send, 501, "Only the chunked transfer coding is supported.")
                    return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str) -> None:
        response = error_response(scope, status, detail, {"Connection": "close"})
        await response(scope, receive, send)
