"""Refuse requests whose body framing is ambiguous, whatever the parser let through.

Uvicorn's h11 parser accepts a request with both `Transfer-Encoding` and `Content-Length` (the
chunked framing wins) and keeps the connection open, so a second request hidden after the
chunked body is served next: the classic request-smuggling set-up when a proxy in front frames
by `Content-Length`. RFC 9112 (section 6.1) says a server must close the connection after such
a request; gunicorn refuses it. turnout answers 400 and closes the connection, so nothing that
follows on it is served. A transfer coding other than `chunked` gets a 501, as gunicorn does.
`EdgeMiddleware` calls it.
"""

from __future__ import annotations


def framing_error(coding: bytes | None, has_length: bool) -> tuple[int, str] | None:
    """The status and reason to refuse a request with, from its `Transfer-Encoding` and whether it has a length."""
    if coding is None:
        return None
    if has_length:
        return 400, "Transfer-Encoding and Content-Length together."
    if coding.strip().lower() != b"chunked":
        return 501, "Only the chunked transfer coding is supported."
    return None
