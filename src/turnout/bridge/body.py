"""`wsgi.input`: the request body as a PEP 3333 input stream, extending a2wsgi's `Body`.

Differences from a2wsgi 1.10 (each has a test in `tests/bridge/test_body.py`):
- the first chunk of the body is received on the event loop before the app runs, so a small
  body costs no extra hand-off between the thread and the loop;
- a client that leaves during an upload raises `ClientDisconnected` (an `OSError`) in `read()`;
  a2wsgi reads the disconnect as the end of the body, so a truncated upload looks complete;
- `readline(size)` on a fresh body reads from the client; a2wsgi returns `b""`;
- `readlines(hint)` takes a byte count, as `io.IOBase` does; a2wsgi takes a line count;
- `read(None)` and negative sizes read the whole body.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Generator
from typing import Any

from a2wsgi.wsgi import Body


class ClientDisconnected(OSError):
    """The client went away before it had sent the whole request body."""


class BodyTooLarge(OSError):
    """The request body is larger than the mount's `max_body_size`; the client gets a 413."""


class RequestBody(Body):
    """The request body, read from the client on demand and never past its end."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        receive: Callable[[], Coroutine[Any, Any, Any]],
        first: bytes,
        more: bool,
    ) -> None:
        super().__init__(loop, receive)
        self._pull = receive
        self.buffer.extend(first)
        self._has_more = more

    @property
    def complete(self) -> bool:
        """Whether the client has sent the whole body (it may not all have been read yet)."""
        return not self._has_more

    def _receive_more_data(self) -> bytes:
        if not self._has_more:
            return b""
        message: dict[str, Any] = asyncio.run_coroutine_threadsafe(self._pull(), loop=self.loop).result()
        if message["type"] == "http.disconnect":
            self._has_more = False
            raise ClientDisconnected("the client disconnected before it sent the whole request body")
        if message["type"] == "turnout.body_too_large":
            self._has_more = False
            raise BodyTooLarge("the request body is larger than this endpoint accepts")
        self._has_more = bool(message.get("more_body", False))
        chunk: bytes = message.get("body", b"")
        return chunk

    def read(self, size: int | None = -1, /) -> bytes:
        if size is None or size < 0:
            size = -1
        data: bytes = super().read(size)
        return data

    def readline(self, size: int | None = -1, /) -> bytes:
        limit = -1 if size is None or size < 0 else size
        start = 0
        while True:
            end = len(self.buffer) if limit < 0 else min(limit, len(self.buffer))
            newline = self.buffer.find(b"\n", start, end)
            if newline != -1:
                cut = newline + 1
                break
            if (limit >= 0 and len(self.buffer) >= limit) or not self._has_more:
                cut = end
                break
            start = len(self.buffer)
            self.buffer.extend(self._receive_more_data())
        line = bytes(self.buffer[:cut])
        del self.buffer[:cut]
        return line

    def readlines(self, hint: int | None = -1, /) -> list[bytes]:
        lines: list[bytes] = []
        total = 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if hint is not None and 0 < hint <= total:
                return lines

    def __iter__(self) -> Generator[bytes, None, None]:
        while True:
            line = self.readline()
            if not line:
                return
            yield line
