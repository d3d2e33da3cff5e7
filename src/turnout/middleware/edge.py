"""The edge: one pass over each request's headers, and one wrapper around its `send`, for both sides.

Every request goes through it first. It:
- refuses ambiguous body framing (see `framing`);
- applies `X-Forwarded-*` from trusted proxies (see `proxy_headers`);
- reuses or makes the request id (see `request_id`);
- adds `X-Request-ID`, and the `X-Served-By` that the router left in `scope["turnout.served_by"]`,
  to the response;
- when the request is done, hands a `RequestRecord` to the observers (the access log, metrics),
  if there are any.
These are one middleware rather than four because each would scan the headers and wrap `send`
again, a cost the new side pays on every request (see docs/benchmarks.md).

The short way to the bridge: with `direct` (the router's, when the app has no middleware of its
own), a request to a legacy route the router has matched before goes from here straight to its
mount, past Starlette's error and exception middleware and the router. The bridge adds the
request id to the response itself, so `send` is not wrapped either. Those layers cost a small
legacy request about a tenth of its time, and do nothing for it: the bridge answers its own
errors (413, 500, 503, 504), and never raises `HTTPException`. A failure of turnout's own before
a response has started still gets the app's 500 page, as `ServerErrorMiddleware` gives it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from starlette.middleware.errors import ServerErrorMiddleware
from starlette.types import ASGIApp, ExceptionHandler, Message, Receive, Scope, Send

from turnout.errors import error_response
from turnout.middleware.framing import framing_error
from turnout.middleware.proxy_headers import TrustedProxies, apply_forwarded
from turnout.middleware.record import QUEUE_WAIT, ROUTE, Observer, RequestRecord
from turnout.middleware.request_id import incoming_request_id, new_request_id, request_id

logger = logging.getLogger("turnout")

SERVED_BY = "turnout.served_by"
_REQUEST_ID = b"x-request-id"
_WATCHED = {
    b"x-request-id": 0,
    b"x-forwarded-for": 1,
    b"x-forwarded-proto": 2,
    b"x-forwarded-host": 3,
    b"transfer-encoding": 4,
    b"content-length": 5,
}


class DirectExchange(Protocol):
    """One legacy request, ready to run (`turnout.bridge.responder.Exchange`)."""

    @property
    def responded(self) -> bool: ...

    async def run(self) -> None: ...


class DirectTarget(Protocol):
    """A legacy mount the edge can hand a request to (`turnout.bridge.mount.WSGIMount`)."""

    def exchange(
        self, scope: Scope, receive: Receive, send: Send, raw_path: str, headers: Sequence[tuple[bytes, bytes]]
    ) -> DirectExchange: ...


# The mount and raw path of a request the edge may hand straight to the bridge, or `None`.
Direct = Callable[[Scope], "tuple[DirectTarget, str] | None"]


def declared_too_large(length: bytes, limit: int) -> tuple[int, str] | None:
    """A 413 for a declared `Content-Length` over `limit`."""
    if length.isdigit() and int(length) > limit:
        return 413, "The request body is larger than this application accepts."
    return None


class EdgeMiddleware:
    """Pure-ASGI middleware: framing, trusted proxy headers, request id, and turnout's response headers."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        trusted_proxies: Iterable[str] = (),
        observers: Sequence[Observer] = (),
        max_body_size: int | None = None,
        direct: Direct | None = None,
        error_handler: ExceptionHandler | None = None,
    ) -> None:
        self.app = app
        self.direct = direct
        self.error_handler = error_handler
        # The app-wide limit, for a declared length: refused here, on turnout's error page.
        # (Starlette's own check would answer it in plain text; it still counts chunked bodies.)
        self.max_body_size = max_body_size
        trusted = list(trusted_proxies)
        self.trusted = TrustedProxies(trusted) if trusted else None
        self.observers = list(observers)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, send)
            return
        found: list[bytes | None] = [None, None, None, None, None, None]
        for name, value in scope["headers"]:
            index = _WATCHED.get(name)
            if index is not None:
                previous = found[index]
                # Repeated X-Forwarded-For and Transfer-Encoding headers are one list.
                found[index] = value if previous is None or index not in (1, 4) else previous + b"," + value
        trusted = self.trusted
        if trusted is not None and (found[1] or found[2] or found[3]):
            client = scope.get("client")
            if client is not None and client[0] in trusted:
                apply_forwarded(scope, trusted, found[1], found[2], found[3])
        if kind != "http":
            await self.app(scope, receive, send)
            return
        if found[4] is not None or found[5] is not None:  # a request with a body
            refusal = framing_error(found[4], found[5] is not None)
            if refusal is None and self.max_body_size is not None and found[5] is not None:
                refusal = declared_too_large(found[5], self.max_body_size)
            if refusal is not None:
                response = error_response(scope, refusal[0], refusal[1], {"Connection": "close"})
                await response(scope, receive, send)
                return
        rid = incoming_request_id(found[0])
        if rid is None:
            rid = new_request_id()  # the bridge puts it in the environ; the headers stay as sent
        state = scope.get("state")
        if state is None:
            scope["state"] = state = {}
        state["request_id"] = rid
        header = (_REQUEST_ID, rid.encode("ascii"))
        direct = self.direct(scope) if self.direct is not None else None
        token = request_id.set(rid)
        try:
            if direct is not None:
                # The short way: the bridge adds the id itself, so `send` goes unwrapped.
                target, raw = direct
                if self.observers:
                    await self._observed(
                        lambda counting: self._direct(target, raw, scope, receive, counting, header), scope, send, rid
                    )
                else:
                    await self._direct(target, raw, scope, receive, send, header)
                return
            sending = _adding_headers(send, scope, header)
            if self.observers:
                await self._observed(lambda counting: self.app(scope, receive, counting), scope, sending, rid)
            else:
                await self.app(scope, receive, sending)
        finally:
            request_id.reset(token)

    async def _direct(
        self, target: DirectTarget, raw: str, scope: Scope, receive: Receive, send: Send, header: tuple[bytes, bytes]
    ) -> None:
        exchange = target.exchange(scope, receive, send, raw, (header,))
        try:
            await exchange.run()
        except Exception as exc:
            if exchange.responded:
                raise
            # What the long way would give: Starlette's outermost layer, with the app's 500
            # handler, renders the page and lets the error go on to the server.
            errors = ServerErrorMiddleware(_raising(exc), handler=self.error_handler)
            await errors(scope, receive, _adding_headers(send, scope, header))

    async def _observed(self, call: Callable[[Send], Awaitable[None]], scope: Scope, send: Send, rid: str) -> None:
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it starts a response
        sent = 0

        async def counting(message: Message) -> None:
            nonlocal status, sent
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                sent += len(message.get("body", b""))
            await send(message)

        try:
            await call(counting)
        finally:
            client = scope.get("client")
            record = RequestRecord(
                method=scope["method"],
                path=scope["path"],
                query=scope.get("query_string", b"").decode("latin-1"),
                status=status,
                bytes_sent=sent,
                duration=time.perf_counter() - started,
                queue_wait=scope.get(QUEUE_WAIT),
                route=scope.get(ROUTE),
                request_id=rid,
                client=None if client is None else str(client[0]),
            )
            for observe in self.observers:
                try:
                    observe(record)
                except Exception:
                    logger.exception("an observer of requests failed")


def _raising(exc: Exception) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        raise exc

    return app


def _adding_headers(send: Send, scope: Scope, header: tuple[bytes, bytes]) -> Send:
    """`send`, adding the request id, and the `X-Served-By` the router left in the scope, to the response."""

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [*message.get("headers", ()), header]
            served_by = scope.get(SERVED_BY)
            if served_by is not None:
                headers.append(served_by)
            message["headers"] = headers
        await send(message)

    return sending
