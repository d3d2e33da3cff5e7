"""One legacy request's trip: the app runs in a pool thread, the event loop sends what it gives.

This replaces a2wsgi's `WSGIResponder`, which (in a2wsgi 1.10):
- hands every message from the thread to the loop with `run_coroutine_threadsafe` and waits for
  it, several round trips per request;
- sends the status and headers at `start_response`, where PEP 3333 wants them held back until
  the first non-empty body chunk, so a later `start_response(..., exc_info)` cannot replace them;
- never notices a client that leaves: the iterator keeps running and `close()` is never called.

Here the thread queues messages without waiting and wakes the loop at most once per batch, so
a small response costs one hand-off each way. The loop sends them, holding the thread back when
more than `HIGH_WATER` bytes are in flight. When the client leaves, the thread stops iterating
at the next chunk and calls `close()`.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import threading
from collections import deque
from collections.abc import Iterable
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from turnout._types import Environ, OptExcInfo, WriteCallable, WSGIApp
from turnout.bridge.body import ClientDisconnected, RequestBody
from turnout.bridge.environ import build_environ
from turnout.bridge.pool import WorkerPool
from turnout.errors import error_response

logger = logging.getLogger("turnout.bridge")

HIGH_WATER = 256 * 1024
_FORBIDDEN = ("\r", "\n", "\0")


class _Failure:
    __slots__ = ("exc_info",)

    def __init__(self, exc_info: Any) -> None:
        self.exc_info = exc_info


class _Done:
    __slots__ = ()


_DONE = _Done()
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


def _check(text: str, what: str) -> None:
    if any(c in text for c in _FORBIDDEN):
        raise ValueError(f"the legacy app set a response {what} with CR, LF or NUL in it: {text!r}")


class Exchange:
    """Runs one request through a WSGI app. Create one per request and await `run()`."""

    def __init__(
        self,
        app: WSGIApp,
        pool: WorkerPool,
        scope: Scope,
        receive: Receive,
        send: Send,
        *,
        extra_headers: list[tuple[bytes, bytes]],
        mount_name: str,
    ) -> None:
        self.app = app
        self.pool = pool
        self.scope = scope
        self.receive = receive
        self.send = send
        self.extra_headers = extra_headers
        self.mount_name = mount_name
        self.loop = asyncio.get_running_loop()
        # Written by the thread, read by the loop.
        self._outbox: deque[Message | _Failure | _Done] = deque()
        self._wake_scheduled = False
        self._ready = asyncio.Event()
        self._queued = 0
        self._sent = 0
        self._room = threading.Event()
        # Thread-side response state.
        self._status: int | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._headers_sent = False
        # Set by the loop when the client has gone or the request was cancelled.
        self.cancelled = False
        self.body: RequestBody | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._streaming = False

    # -- loop side --------------------------------------------------------------------------

    async def run(self, script_name: str, path_info: str) -> None:
        first = await self.receive()
        if first["type"] == "http.disconnect":
            return
        self.body = RequestBody(self.loop, self._receive_body, first.get("body", b""), first.get("more_body", False))
        environ = build_environ(self.scope, script_name=script_name, path_info=path_info, body=self.body)
        context = contextvars.copy_context()
        self.pool.submit(lambda: context.run(self._run_app, environ))
        try:
            await self._deliver()
        except BaseException:
            self._stop()
            raise
        finally:
            if self._watcher is not None:
                self._watcher.cancel()

    async def _deliver(self) -> None:
        send = self.send
        outbox = self._outbox
        while True:
            await self._ready.wait()
            self._ready.clear()
            if self.cancelled:
                # The client has gone: the thread stops at its next chunk and calls close().
                return
            while outbox:
                message = outbox.popleft()
                if isinstance(message, _Done):
                    return
                if isinstance(message, _Failure):
                    await self._fail(message)
                    return
                if message["type"] == "http.response.body":
                    if message["more_body"] and outbox and outbox[0] is _END:
                        outbox.popleft()
                        message["more_body"] = False
                    size = len(message["body"])
                    await send(message)
                    self._sent += size
                    self._room.set()
                    if not message["more_body"]:
                        return
                else:
                    await send(message)
            if not self._streaming:
                self._streaming = True
                self._watch_if_ready()

    def _watch_if_ready(self) -> None:
        # The client can only be watched once the whole body has been received: until then the
        # body reader owns `receive`, and it sees a disconnect on its own.
        if self._streaming and self._watcher is None and self.body is not None and self.body.complete:
            self._watcher = self.loop.create_task(self._watch())

    async def _watch(self) -> None:
        while True:
            message = await self.receive()
            if message["type"] == "http.disconnect":
                logger.debug("client left during a legacy response from mount %r", self.mount_name)
                self._stop()
                self._ready.set()
                return

    def _stop(self) -> None:
        self.cancelled = True
        self._room.set()

    async def _receive_body(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.disconnect" or not message.get("more_body", False):
            self.loop.call_soon(self._watch_if_ready)
        return message

    async def _fail(self, failure: _Failure) -> None:
        exc_type, exc, tb = failure.exc_info
        if isinstance(exc, ClientDisconnected):
            logger.debug("client left during an upload to mount %r", self.mount_name)
            return
        if self._headers_sent:
            # Too late for an error page: re-raising makes the server close the connection.
            raise exc.with_traceback(tb)
        logger.error("the legacy app of mount %r failed", self.mount_name, exc_info=failure.exc_info)
        response = error_response(self.scope, 500, "The legacy application failed.")
        await response(self.scope, self.receive, self.send)

    def _wake(self) -> None:
        self._wake_scheduled = False
        self._ready.set()

    # -- thread side ------------------------------------------------------------------------

    def _post(self, message: Message | _Failure | _Done) -> None:
        self._outbox.append(message)
        if not self._wake_scheduled:
            self._wake_scheduled = True
            self.loop.call_soon_threadsafe(self._wake)

    def _start_response(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None
    ) -> WriteCallable:
        if exc_info is not None and exc_info[0] is not None:
            try:
                if self._headers_sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self._status is not None:
            raise AssertionError("start_response() was called a second time without exc_info")
        _check(status, "status")
        code = int(status[:3])
        encoded = []
        for name, value in headers:
            _check(name, "header name")
            _check(value, "header value")
            encoded.append((name.lower().encode("latin-1"), value.encode("latin-1")))
        self._status = code
        self._headers = encoded
        return self._write

    def _send_headers(self) -> None:
        if self._status is None:
            raise AssertionError("the legacy app returned a body before it called start_response()")
        self._headers_sent = True
        self._headers.extend(self.extra_headers)
        self._post({"type": "http.response.start", "status": self._status, "headers": self._headers})

    def _write(self, chunk: bytes) -> None:
        if self.cancelled:
            raise ClientDisconnected("the client has gone")
        if not self._headers_sent:
            self._send_headers()
        if not chunk:
            return
        self._queued += len(chunk)
        self._post({"type": "http.response.body", "body": chunk, "more_body": True})
        while self._queued - self._sent > HIGH_WATER and not self.cancelled:
            self._room.clear()
            if self._queued - self._sent > HIGH_WATER and not self.cancelled:
                self._room.wait()

    def _run_app(self, environ: Environ) -> None:
        result: Iterable[bytes] | None = None
        try:
            result = self.app(environ, self._start_response)
            for chunk in result:
                if self.cancelled:
                    break
                if chunk:
                    self._write(chunk)
            if not self.cancelled and not self._headers_sent:
                self._send_headers()
        except BaseException:
            self._close(result)
            self._post(_Failure(sys.exc_info()))
            return
        if self._close(result):
            self._post(_END)
        self._post(_DONE)

    def _close(self, result: Iterable[bytes] | None) -> bool:
        close = getattr(result, "close", None)
        if close is None:
            return True
        try:
            close()
        except BaseException:
            logger.exception("close() of a response from mount %r failed", self.mount_name)
            return False
        return True
