"""One legacy request's trip: the app runs in a pool thread, the event loop sends what it gives.

This replaces a2wsgi's `WSGIResponder`, which (in a2wsgi 1.10):
- hands every message from the thread to the loop with `run_coroutine_threadsafe` and waits for
  it, several round trips per request;
- sends the status and headers at `start_response`, where PEP 3333 wants them held back until
  the first non-empty body chunk, so a later `start_response(..., exc_info)` cannot replace them;
- never notices a client that leaves: the iterator keeps running and `close()` is never called;
- has no bound on waiting requests, no timeout and no body limit.

Here the thread queues messages without waiting and wakes the loop at most once per batch, so
a small response costs one hand-off each way. The loop sends them, holding the thread back when
more than `HIGH_WATER` bytes are in flight. The loop may give up on a request (the client left,
it ran past its timeout, its body is too large): the thread then stops at its next chunk, calls
`close()`, and only then gives its place in the mount's budget back.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import math
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

from starlette.types import Message, Receive, Scope, Send

from turnout._memo import Memo
from turnout._types import Environ, OptExcInfo, WriteCallable, WSGIApp
from turnout.bridge.body import BodyTooLarge, ClientDisconnected, RequestBody
from turnout.bridge.budget import Budget
from turnout.bridge.environ import build_environ
from turnout.bridge.files import ErrorStream, FileWrapper
from turnout.bridge.governor import Gate
from turnout.bridge.options import LegacyLimits
from turnout.bridge.pool import WorkerPool
from turnout.errors import error_response
from turnout.middleware.record import QUEUE_WAIT

logger = logging.getLogger("turnout.bridge")

HIGH_WATER = 1024 * 1024  # 256 KiB moved 0.75x gunicorn gthread's MiB/s on a 512 MiB download, 1 MiB 0.9x
# A thread held back at HIGH_WATER goes on once no more than this is in flight: it then fills
# the window in one go, and the loop sends a batch, instead of a wake-up each way per chunk.
LOW_WATER = HIGH_WATER // 4
WATCH_AFTER = 0.05  # seconds a response may run before turnout watches for its client leaving

Headers = Sequence[tuple[bytes, bytes]]


class LegacyTimeout(TimeoutError):
    """A legacy response stopped making progress after its headers were sent; the connection is closed."""


class _Failure:
    __slots__ = ("exc_info",)

    def __init__(self, exc_info: Any) -> None:
        self.exc_info = exc_info


class _Done:
    __slots__ = ()


_DONE = _Done()
# The states of an exchange's job, guarded by the exchange's lock.
_QUEUED, _RUNNING, _ABANDONED = 0, 1, 2
_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}


def _check(text: str, what: str) -> None:
    if "\r" in text or "\n" in text or "\0" in text:  # three scans cost less than a generator
        raise ValueError(f"the legacy app set a response {what} with CR, LF or NUL in it: {text!r}")


def _header_name(name: str) -> bytes:
    """A response header name as the loop sends it: checked, lower case, latin-1."""
    _check(name, "header name")
    return name.lower().encode("latin-1")


# Apps send the same few header names on every response: each is checked and encoded once.
_header_names: Memo[str, bytes] = Memo(_header_name, 1024)


class LegacyGateway:
    """What every request of one mount shares: the app, its pool, its budget and its limits."""

    def __init__(self, app: WSGIApp, *, name: str, limits: LegacyLimits, served_by: str | None) -> None:
        self.app = app
        self.name = name
        self.limits = limits
        self.pool = WorkerPool(name, limits.threads)
        self.budget = Budget(threads=limits.threads, queue=limits.queue, queue_timeout=limits.queue_timeout)
        self.gate = Gate(name, limits.threads)
        self.errors = ErrorStream(name)
        self.extra_headers = [(b"x-served-by", served_by.encode("latin-1"))] if served_by else []
        self.retry_after = str(max(1, math.ceil(limits.queue_timeout)))


class Exchange:
    """Runs one request through a mount's WSGI app. Create one per request and await `run()`.

    `script_name` and `path_info` are raw (percent-encoded); `headers` go on every response sent,
    an error page included.
    """

    def __init__(
        self,
        gateway: LegacyGateway,
        scope: Scope,
        receive: Receive,
        send: Send,
        script_name: str = "",
        path_info: str = "/",
        headers: Headers = (),
    ) -> None:
        self.gateway = gateway
        self.scope = scope
        self.receive = receive
        self.send = send
        self.script_name = script_name
        self.path_info = path_info
        self.extra_headers = headers
        self.loop = asyncio.get_running_loop()
        # Written by the thread, read by the loop.
        self._outbox: deque[Message | _Failure | _Done] = deque()
        self._wake_scheduled = False
        # The loop waits on a bare future rather than an asyncio.Event: an Event costs a deque,
        # a future per wait and a loop look-up, a measurable share of a small legacy request.
        self._ready = False
        self._waiter: asyncio.Future[None] | None = None
        self._queued = 0
        self._sent = 0
        self._room: threading.Event | None = None  # made by the thread the first time it must wait
        # Thread-side response state.
        self._status: int | None = None
        self._headers: list[tuple[bytes, bytes]] = []
        self._headers_sent = False
        # Loop-side state.
        self.cancelled = False  # read by the thread: stop iterating
        self.body: RequestBody | None = None
        self._abort: str | None = None
        self._started = False
        self._answered = False  # an error page of turnout's was sent
        self._streaming = False
        self._watcher: asyncio.Task[None] | None = None
        self._watch_delay: asyncio.TimerHandle | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._last_progress = 0.0  # time.monotonic(), written by both sides
        self._received = 0
        self._stuck = False
        self._queue_deadline: float | None = None  # time.monotonic() past which a request still queued gives up
        self._submitted_at = 0.0
        self._started_at = 0.0  # written by the thread when it starts on the request
        # Who gives the thread's place back: the loop when it reads the last message, or the
        # thread when it finishes after the loop has given up on the request.
        self._lock = threading.Lock()
        self._state = _QUEUED
        self._thread_done = False
        self._detached = False
        self._released = False

    # -- loop side --------------------------------------------------------------------------

    @property
    def responded(self) -> bool:
        """Whether a response has started: the legacy app's, or an error page."""
        return self._started or self._answered

    async def run(self) -> None:
        gateway = self.gateway
        limits = gateway.limits
        # Built first: its CONTENT_LENGTH is the declared length, from the one pass over the headers.
        environ = build_environ(self.scope, script_name=self.script_name, path_info=self.path_info)
        length = environ.get("CONTENT_LENGTH")
        if length is not None and length.isdigit() and int(length) > limits.max_body_size:
            await self._respond(413, "The request body is larger than this endpoint accepts.")
            return
        first = await self.receive()
        if first["type"] == "http.disconnect":
            return
        chunk: bytes = first.get("body", b"")
        self._received = len(chunk)
        if self._received > limits.max_body_size:
            await self._respond(413, "The request body is larger than this endpoint accepts.")
            return
        budget = gateway.budget
        if not budget.admit():
            await self._overloaded("queue full")
            return
        final_seen = False
        try:
            self.body = environ["wsgi.input"] = RequestBody(
                self.loop, self._receive_body, chunk, first.get("more_body", False)
            )
            environ["wsgi.errors"] = gateway.errors
            environ["wsgi.file_wrapper"] = FileWrapper
            context = contextvars.copy_context()
            self._last_progress = self._submitted_at = time.monotonic()
            gateway.pool.submit(functools.partial(context.run, self._run_app, environ))
            # One timer serves both limits: the queue timeout first, if the request may wait.
            delay = limits.timeout
            if budget.admitted > budget.threads:  # it may have to wait for a thread
                self._queue_deadline = self._submitted_at + limits.queue_timeout
                delay = min(delay, limits.queue_timeout)
            self._timer = self.loop.call_later(delay, self._on_timer)
            final_seen = await self._deliver()
        except BaseException:
            self._abandon()
            self._stop()
            raise
        finally:
            if self._timer is not None:
                self._timer.cancel()
            if self._submitted_at:
                self.scope[QUEUE_WAIT] = (self._started_at or time.monotonic()) - self._submitted_at
            if self._watch_delay is not None:
                self._watch_delay.cancel()
            if self._watcher is not None:
                self._watcher.cancel()
            if not final_seen:
                self._detach()
            # The body reader calls back into this exchange: letting go of it breaks the cycle, so
            # that the request's objects are freed at once, not by the garbage collector (whose
            # passes over in-flight requests cost a small request about a tenth of its time).
            self.body = None

    async def _overloaded(self, reason: str) -> None:
        gateway = self.gateway
        logger.warning("mount %r is saturated (%s): answering 503", gateway.name, reason)
        await self._respond(
            503, "The legacy application is busy; try again shortly.", {"Retry-After": gateway.retry_after}
        )

    async def _respond(self, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
        headers = dict(headers or {})
        for name, value in (*self.gateway.extra_headers, *self.extra_headers):  # as on the app's own responses
            headers[name.decode("latin-1")] = value.decode("latin-1")
        self._answered = True
        response = error_response(self.scope, status, detail, headers)
        await response(self.scope, self.receive, self.send)

    async def _deliver(self) -> bool:
        """Send what the thread gives; `True` once its last message is read, `False` if the loop gave up."""
        send = self.send
        outbox = self._outbox
        while True:
            if not self._ready:
                self._waiter = self.loop.create_future()
                await self._waiter
                self._waiter = None
            self._ready = False
            if self._abort is not None:
                await self._give_up(self._abort)
                return False
            while outbox:
                message = outbox.popleft()
                if type(message) is _Done:  # pragma: no cover - the thread stopped before the loop gave up
                    self._release()
                    return True
                if type(message) is _Failure:
                    self._release()
                    await self._fail(message)
                    return True
                assert isinstance(message, dict)
                if message["type"] == "http.response.body":
                    if message is _END:
                        self._release()
                        await send(message)
                        return True
                    if outbox and outbox[0] is _END:
                        outbox.popleft()
                        message["more_body"] = False
                        self._release()
                        await send(message)
                        return True
                    await send(message)
                    self._sent += len(message["body"])
                    room = self._room
                    if room is not None and self._queued - self._sent <= LOW_WATER:
                        room.set()
                    self._last_progress = time.monotonic()
                else:
                    self._started = True
                    await send(message)
            if not self._streaming:
                # The response goes on past its first batch: watch for the client leaving, from
                # a moment on, so that responses that end quickly never pay for a watcher.
                self._streaming = True
                self._watch_delay = self.loop.call_later(WATCH_AFTER, self._watch_if_ready)

    def _watch_if_ready(self) -> None:
        # The client can only be watched once the whole body has been received: until then the
        # body reader owns `receive`, and it sees a disconnect on its own.
        if self._streaming and self._watcher is None and self.body is not None and self.body.complete:
            self._watcher = self.loop.create_task(self._watch())

    async def _watch(self) -> None:
        message = await self.receive()
        # Once the body is in, a server's receive() gives nothing but the disconnect.
        if message["type"] == "http.disconnect":
            self._give_up_later("gone")

    def _give_up_later(self, reason: str) -> None:
        if self._abort is None:
            self._abort = reason
        self._stop()
        self._signal()

    def _abandon(self) -> bool:
        """Give up on a request that still waits for a thread; `False` if a thread has it already."""
        with self._lock:
            if self._state != _QUEUED:
                return False
            self._state = _ABANDONED
        self.gateway.budget.abandoned += 1
        return True

    def _on_timer(self) -> None:
        timeout = self.gateway.limits.timeout
        now = time.monotonic()
        if self._state == _QUEUED:  # the run has not started: only the queue timeout governs the wait
            deadline = self._queue_deadline
            if deadline is not None and now >= deadline and self._abandon():
                self._give_up_later("queue timeout")
                return
            delay = deadline - now if deadline is not None and deadline > now else timeout
            self._timer = self.loop.call_later(delay, self._on_timer)
            return
        idle = now - self._last_progress
        if idle < timeout:
            self._timer = self.loop.call_later(timeout - idle, self._on_timer)
            return
        self._give_up_later("timeout")

    async def _give_up(self, reason: str) -> None:
        name = self.gateway.name
        if reason == "gone":
            logger.debug("the client left during a request to mount %r", name)
            return
        if reason == "queue timeout":
            await self._overloaded(reason)
            return
        if reason == "timeout":
            self._stuck = True
            self.gateway.budget.stuck += 1
            logger.warning(
                "a request to mount %r ran past its timeout of %ss; its thread is counted as stuck until it returns",
                name,
                self.gateway.limits.timeout,
            )
            if self._started:
                raise LegacyTimeout(f"the legacy response of mount {name!r} stalled; closing the connection")
            await self._respond(504, "The legacy application did not answer in time.")
            return
        assert reason == "too_large"
        if self._started:
            raise BodyTooLarge("the request body is larger than this endpoint accepts")
        await self._respond(413, "The request body is larger than this endpoint accepts.")

    def _stop(self) -> None:
        self.cancelled = True
        room = self._room
        if room is not None:
            room.set()

    def _signal(self) -> None:
        """Wake `_deliver` (on the loop)."""
        self._ready = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def _receive_body(self) -> Message:
        message = await self.receive()
        if message["type"] == "http.disconnect":
            self._give_up_later("gone")
            return message
        self._last_progress = time.monotonic()
        self._received += len(message.get("body", b""))
        if self._received > self.gateway.limits.max_body_size:
            self._give_up_later("too_large")
            return {"type": "turnout.body_too_large"}
        if not message.get("more_body", False):
            self.loop.call_soon(self._watch_if_ready)
        return message

    async def _fail(self, failure: _Failure) -> None:
        exc_type, exc, tb = failure.exc_info
        if self.cancelled or isinstance(exc, ClientDisconnected):
            logger.debug("the client left during a request to mount %r", self.gateway.name)
            return
        if self._started:
            # Too late for an error page: re-raising makes the server close the connection,
            # so a truncated body is never taken for a complete one.
            raise exc.with_traceback(tb)
        logger.error("the legacy app of mount %r failed", self.gateway.name, exc_info=failure.exc_info)
        await self._respond(500, "The legacy application failed.")

    def _wake(self) -> None:
        self._wake_scheduled = False
        self._signal()

    def _detach(self) -> None:
        with self._lock:
            self._detached = True
            done = self._thread_done
        if done:
            self._release()

    def _release(self) -> None:
        if not self._released:
            self._released = True
            self.gateway.budget.release(
                started=self._state == _RUNNING, stuck=self._stuck, abandoned=self._state == _ABANDONED
            )

    # -- thread side ------------------------------------------------------------------------

    def _post(self, message: Message | _Failure | _Done) -> None:
        self._outbox.append(message)
        if not self._wake_scheduled:
            self._wake_scheduled = True
            self.loop.call_soon_threadsafe(self._wake)

    def _finish(self, message: Message | _Failure | _Done) -> None:
        with self._lock:
            self._thread_done = True
            detached = self._detached
        if detached:
            self.loop.call_soon_threadsafe(self._release)
        else:
            self._post(message)

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
        names = _header_names
        for name, value in headers:
            key = names[name]
            if "\r" in value or "\n" in value or "\0" in value:
                _check(value, "header value")
            encoded.append((key, value.encode("latin-1")))
        self._status = code
        self._headers = encoded
        return self._write

    def _send_headers(self) -> None:
        if self._status is None:
            raise AssertionError("the legacy app returned a body before it called start_response()")
        self._headers_sent = True
        self._headers.extend(self.gateway.extra_headers)
        self._headers.extend(self.extra_headers)
        # Queued without waking the loop: the first body chunk, or the end, follows at once and
        # wakes it, so that status, headers and body leave in one batch.
        self._outbox.append({"type": "http.response.start", "status": self._status, "headers": self._headers})

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
            room = self._room
            if room is None:
                room = self._room = threading.Event()
            room.clear()
            # Checked again after clear(): the loop may have made room in between. The loop sets
            # the event once no more than LOW_WATER bytes are on their way.
            if self._queued - self._sent > HIGH_WATER and not self.cancelled:  # pragma: no branch
                room.wait(1.0)

    def _run_app(self, environ: Environ) -> None:
        with self._lock:
            abandoned = self._state == _ABANDONED
            self._state = _RUNNING if not abandoned else _ABANDONED
        if abandoned:
            self._finish(_DONE)  # the loop gave up while the request waited: nothing to run
            return
        self.gateway.budget.begin()
        self._last_progress = self._started_at = time.monotonic()
        gate = self.gateway.gate
        gate.enter()
        cpu = time.thread_time()
        try:
            self._run_app_unguarded(environ)
        except RuntimeError:  # pragma: no cover - the event loop closed under a stuck request
            self.cancelled = True
        finally:
            gate.leave(time.thread_time() - cpu)

    def _run_app_unguarded(self, environ: Environ) -> None:
        result: Iterable[bytes] | None = None
        try:
            result = self.gateway.app(environ, self._start_response)
            for chunk in result:
                if self.cancelled:
                    break
                if chunk:
                    self._write(chunk)
            if not self.cancelled and not self._headers_sent:
                self._send_headers()
        except BaseException:
            failure = _Failure(sys.exc_info())
            self._close(result)
            self._finish(failure)
            return
        self._close(result)
        self._finish(_DONE if self.cancelled else _END)

    def _close(self, result: Iterable[bytes] | None) -> None:
        close = getattr(result, "close", None)
        if close is not None:
            try:
                close()
            except BaseException:
                # The body is complete by now: log, as gunicorn does, and let the response end.
                logger.exception("close() of a response from mount %r failed", self.gateway.name)
