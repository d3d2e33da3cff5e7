"""Uvicorn, as `turnout serve` runs it: a header-read deadline and shutdown within a grace period.

Uvicorn 0.54 has no deadline for reading a request's headers: a client that sends part of its
headers and then nothing (slowloris) keeps the connection open, because the keep-alive timer
stops at the first byte. The protocols here add one: a connection that has not finished sending
the headers of its next request within `TURNOUT_HEADER_TIMEOUT` seconds (default 30, as Granian)
is closed. They are Uvicorn's own protocols otherwise; with plain `uvicorn`, pass
`--http turnout.server:HttpToolsProtocol` (or `H11Protocol`) to get them.

They also write a small response in one system call. Uvicorn writes the status line and headers
as soon as `http.response.start` arrives, then each body chunk: two `send()` calls for a small
response, which py-spy showed to be the largest single cost of a small request, and one per
chunk of a download. The protocols hold writes (`CoalescingTransport`) until the next small
one, the loop's next turn, or 1 MiB, and then send them at once with `writelines`.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol as _H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol as _HttpToolsProtocol

logger = logging.getLogger("turnout.server")

DEFAULT_HEADER_TIMEOUT = 30.0
HEADER_TIMEOUT_VARIABLE = "TURNOUT_HEADER_TIMEOUT"


def header_timeout() -> float:
    """The header-read deadline, from the environment (so that worker processes see it too)."""
    return float(os.environ.get(HEADER_TIMEOUT_VARIABLE, DEFAULT_HEADER_TIMEOUT))


_cached: tuple[str | None, float] = (None, DEFAULT_HEADER_TIMEOUT)


def _timeout() -> float:
    # Read once per connection, parsed again only when the variable changes (tests change it).
    global _cached
    raw = os.environ.get(HEADER_TIMEOUT_VARIABLE)
    if raw != _cached[0]:
        _cached = (raw, header_timeout())
    return _cached[1]


HOLD_LIMIT = 16 * 1024  # a write up to this size ends a batch: status lines, headers, small bodies, last chunks
BATCH_LIMIT = 1024 * 1024  # held bytes past which a batch leaves at once


class CoalescingTransport:
    """A transport that sends the writes of one turn of the loop together, in one system call.

    - A small write (`HOLD_LIMIT` bytes or less) is held: alone, it goes out on the loop's next
      turn (`call_soon`), so nothing waits for more data that may never come; when something is
      held already, it goes out at once, with everything held (`writelines`). A small response's
      status line, headers and body are one `writev`.
    - A large write is held until the loop's next turn, or until `BATCH_LIMIT` bytes are held:
      the chunks of a download that a legacy thread queued, sent in one batch, leave in one
      `writev` instead of one `send()` each. uvloop then writes them without joining them.
    - Everything held goes out before `close`, `set_protocol` and `write_eof`; `abort` drops it.

    Everything else is the real transport's.
    """

    __slots__ = ("_transport", "_loop", "_held", "_size", "_scheduled")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] | None = None
        self._size = 0
        self._scheduled = False

    def write(self, data: bytes) -> None:
        size = len(data)
        if not size:
            return
        held = self._held
        if held is None:
            self._held = held = []
            if not self._scheduled:
                self._scheduled = True
                self._loop.call_soon(self._flush)
        # Held data must not change under us: a bytearray or memoryview is copied.
        held.append(data if type(data) is bytes else bytes(data))
        self._size += size
        if (size <= HOLD_LIMIT and len(held) > 1) or self._size >= BATCH_LIMIT:
            self.flush()

    def _flush(self) -> None:
        self._scheduled = False
        self.flush()

    def flush(self) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._size = 0
            if not self._transport.is_closing():
                if len(held) == 1:
                    self._transport.write(held[0])
                else:
                    self._transport.writelines(held)

    def writelines(self, list_of_data: Any) -> None:
        self.flush()
        self._transport.writelines(list_of_data)

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._size = 0
        self._transport.abort()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self.flush()
        self._transport.set_protocol(protocol)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + self._size

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class _HeaderDeadline:
    """Close a connection that takes longer than the deadline to send a request's headers.

    One timer per connection, armed once: each response only moves the deadline (a float), and
    the timer, when it fires early, sleeps again until the deadline. This keeps the cost of a
    small keep-alive request to an attribute write. A protocol may set `_idle_until` too (the
    keep-alive deadline, see `HttpToolsProtocol`): the same timer serves it.
    """

    loop: asyncio.AbstractEventLoop
    transport: asyncio.Transport
    cycle: Any
    _deadline: float = 0.0
    _waiting_for_headers = False
    _timer: asyncio.TimerHandle | None = None
    _timer_at: float = 0.0
    _seen_cycle: Any = None
    _idle_until: float | None = None
    timeout_keep_alive_handler: Callable[[], None]  # Uvicorn's protocols define it

    def connection_made(self, transport: asyncio.Transport) -> None:
        coalescing = CoalescingTransport(transport, asyncio.get_running_loop())
        super().connection_made(coalescing)  # type: ignore[misc]
        self._timeout = _timeout()
        self._expect_headers()

    def data_received(self, data: bytes) -> None:
        self._idle_until = None  # the client spoke: the connection is not idle
        super().data_received(data)  # type: ignore[misc]
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen_cycle:
            # The headers of a new request are in.
            self._seen_cycle = cycle
            self._waiting_for_headers = False

    def on_response_complete(self) -> None:
        super().on_response_complete()  # type: ignore[misc]
        if not self.transport.is_closing():
            self._expect_headers()  # the next request's headers are due

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        super().connection_lost(exc)  # type: ignore[misc]

    def _expect_headers(self) -> None:
        self._waiting_for_headers = True
        self._deadline = self.loop.time() + self._timeout
        self._arm_next()

    def _arm_next(self) -> None:
        """Arm the timer for the earliest deadline pending: the headers', the keep-alive's, or none."""
        when = self._deadline if self._waiting_for_headers else None
        idle_until = self._idle_until
        if idle_until is not None and (when is None or idle_until < when):
            when = idle_until
        if when is not None:
            self._arm(when)

    def _arm(self, when: float) -> None:
        timer = self._timer
        if timer is not None:
            if self._timer_at <= when:
                return  # it fires first, and sleeps again until the deadline
            timer.cancel()
        self._timer = self.loop.call_at(when, self._check)
        self._timer_at = when

    def _check(self) -> None:
        self._timer = None
        now = self.loop.time()
        idle_until = self._idle_until
        if idle_until is not None and now >= idle_until:
            self._idle_until = None
            self.timeout_keep_alive_handler()
            return
        if self._waiting_for_headers and now >= self._deadline:
            logger.debug("closing a connection that did not send its headers within %ss", self._timeout)
            self.transport.close()
            return
        # A deadline moved: sleep again until it. (While a request is served, none is pending.)
        self._arm_next()


class H11Protocol(_HeaderDeadline, _H11Protocol):  # type: ignore[misc]
    """Uvicorn's h11 protocol with a header-read deadline."""


class HttpToolsProtocol(_HeaderDeadline, _HttpToolsProtocol):  # type: ignore[misc]
    """Uvicorn's httptools protocol with a header-read deadline.

    Its keep-alive timeout rides on the connection's one timer: Uvicorn arms a timer after each
    response and cancels it when the next request arrives, a cost every keep-alive request pays.
    """

    def on_response_complete(self) -> None:
        # Uvicorn 0.54's, except that the keep-alive timeout is a deadline, not a new timer.
        self.server_state.total_requests += 1
        if self.transport.is_closing():
            return
        self._unset_keepalive_if_required()
        self.flow.resume_reading()
        if self.pipeline:
            cycle, app = self.pipeline.pop()
            self._start_asgi_task(cycle, app)
        else:
            self._idle_until = self.loop.time() + self.timeout_keep_alive
        self._expect_headers()


PROTOCOLS: dict[str, type[asyncio.Protocol]] = {"h11": H11Protocol, "httptools": HttpToolsProtocol}


def protocol(parser: str = "auto") -> type[asyncio.Protocol]:
    """The protocol class for `parser` (`"auto"` picks httptools when it is installed, as Uvicorn does)."""
    if parser == "auto":
        try:
            import httptools  # noqa: F401
        except ImportError:  # pragma: no cover - uvicorn[standard] brings httptools
            return H11Protocol
        return HttpToolsProtocol
    return PROTOCOLS[parser]
