"""Give every request an id that both sides, the logs and the error pages share.

A valid incoming `X-Request-ID` (1 to 128 characters of letters, digits and `._:-`) is reused,
so ids set by a proxy carry through; anything else is replaced by a new random id. The id is:
- in `scope["state"]["request_id"]` (`request.state.request_id` in new code);
- in the `request_id` context variable, which is copied into the legacy thread with the rest
  of the context, so legacy code and its log records can read it;
- in the environ of legacy requests, as `HTTP_X_REQUEST_ID`;
- in the `X-Request-ID` response header, and on turnout's error pages.
"""

from __future__ import annotations

import itertools
import os
import re
from contextvars import ContextVar

request_id: ContextVar[str | None] = ContextVar("turnout_request_id", default=None)

_VALID = re.compile(rb"[A-Za-z0-9._:\-]{1,128}")


class _IdMaker:
    """Ids unique across processes and time: 16 random hex digits per process, then a counter.

    `uuid.uuid4()` reads the OS's random source on every call, a measurable share of a small
    request; this costs one counter step. A forked worker draws a new prefix. The counter starts
    at 2**64, so that `hex()` gives its 16 digits after a leading "0x1" (a third faster than a
    format spec).
    """

    def __init__(self) -> None:
        self.reset()
        os.register_at_fork(after_in_child=self.reset)

    def reset(self) -> None:
        self._prefix = os.urandom(8).hex()
        self._counter = itertools.count(1 << 64)

    def __call__(self) -> str:
        return self._prefix + hex(next(self._counter))[3:]


new_request_id = _IdMaker()


def incoming_request_id(value: bytes | None) -> str | None:
    """The id a client or proxy sent, if it is one turnout keeps."""
    if value is not None and _VALID.fullmatch(value):
        return value.decode("ascii")
    return None
