"""Shadow calls: the same request sent to the new side after the legacy side has answered.

The user's answer never waits for the shadow and never depends on it: the router serves the
legacy side, keeps a bounded copy of the request body and of the answer, and only once the
answer is complete hands both to `Shadows.submit`, which starts a background task and returns.
That task calls the new side with a copy of the request (its own `state`, and a detached copy of
the session, so nothing it writes reaches the user), with a timeout, and compares the answers.

Bounded: at most `max_in_flight` shadow calls run (or wait for their primary) at once, at most
`max_per_second` start each second, and none is taken on while the event loop lags (the
governor's measure). The decision is made before the legacy side runs (`admit`), so a request
that will not be shadowed pays nothing for it: no copy of its body, session or answer. A request
turned away is counted as dropped. A request body larger than `body_limit` is not shadowed
(counted as skipped).

For some requests (`SwitchOptions.noise_sample`), the legacy side is also called a second time,
Diffy's way: what differs between two legacy answers is noise, and is not reported against the
new side. That second call is made only when the legacy mount has a free thread.
"""

from __future__ import annotations

import asyncio
import copy
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping

from starlette.types import Message, Receive, Scope, Send

from turnout.sessions.state import SharedSession, current_session
from turnout.switch.board import Mismatch, Switch, Switchboard
from turnout.switch.compare import Captured, ResponseCapture, compare

logger = logging.getLogger("turnout.switch")

MAX_IN_FLIGHT = 16
MAX_PER_SECOND = 100.0
TIMEOUT = 10.0
BODY_LIMIT = 1024 * 1024
CAPTURE_LIMIT = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

ASGICall = Callable[[Scope, Receive, Send], Awaitable[None]]


class RequestCopy:
    """The request body as the legacy side read it, kept while it stays under `limit` bytes.

    A body the legacy side did not read to the end cannot be replayed: that request is not shadowed.
    """

    __slots__ = ("chunks", "size", "limit", "complete", "too_large", "declared")

    def __init__(self, scope: Scope, limit: int) -> None:
        self.chunks: list[bytes] = []
        self.size = 0
        self.limit = limit
        self.complete = True  # a request without a body (most GETs) is whole before anything is read
        self.too_large = False
        # The declared length: a legacy app stops reading there, before the server's last (empty) message.
        self.declared: int | None = None
        for name, value in scope["headers"]:
            if name == b"transfer-encoding":
                self.complete, self.declared = False, None
                break
            if name == b"content-length" and value != b"0":
                self.complete = False
                self.declared = int(value) if value.isdigit() else None
                self.too_large = self.declared is not None and self.declared > limit

    def tee(self, receive: Receive) -> Receive:
        async def receiving() -> Message:
            message = await receive()
            if message["type"] == "http.request" and not self.too_large:
                body = message.get("body", b"")
                self.size += len(body)
                if self.size > self.limit:
                    self.too_large, self.chunks = True, []
                else:
                    self.chunks.append(body)
                if not message.get("more_body", False) or self.size == self.declared:
                    self.complete = True
            elif message["type"] == "http.disconnect":
                self.complete = False
            return message

        return receiving

    @property
    def body(self) -> bytes:
        return b"".join(self.chunks)


def _replay(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await asyncio.Event().wait()  # a shadow's client never leaves; the timeout ends the call
        raise AssertionError("unreachable")  # pragma: no cover

    return receive


def snapshot(scope: Scope) -> Scope:
    """A copy of `scope` whose state and session writes go nowhere."""
    child = dict(scope)
    child["state"] = dict(scope.get("state") or {})
    session = scope.get("session")
    if isinstance(session, SharedSession):
        child["session"] = SharedSession(copy.deepcopy(session.as_dict()), session_id=session.session_id)
    elif isinstance(session, Mapping):
        child["session"] = copy.deepcopy(dict(session))
    return child


class Shadows:
    """Runs the shadow calls of every switch, bounded; `aclose` cancels those still running at shutdown."""

    def __init__(
        self,
        board: Switchboard,
        *,
        max_in_flight: int = MAX_IN_FLIGHT,
        max_per_second: float = MAX_PER_SECOND,
        timeout: float = TIMEOUT,
        body_limit: int = BODY_LIMIT,
        capture_limit: int = CAPTURE_LIMIT,
        lagging: Callable[[], bool] = lambda: False,
    ) -> None:
        assert max_in_flight >= 1 and timeout > 0
        self.board = board
        self.max_in_flight = max_in_flight
        self.max_per_second = max_per_second
        self._tokens = max_per_second  # a token bucket, one second deep
        self._refilled = time.monotonic()
        self._reserved = 0  # admitted requests whose primary is still being served
        self.timeout = timeout
        self.body_limit = body_limit
        self.capture_limit = capture_limit
        self.lagging = lagging
        self._tasks: set[asyncio.Task[None]] = set()
        self._random = random.Random()

    @property
    def in_flight(self) -> int:
        return len(self._tasks) + self._reserved

    def admit(self, switch: Switch) -> bool:
        """Whether this request will be shadowed: takes a place, or counts it as dropped.

        Called before the primary runs; `submit` (or `release`) gives the place back.
        """
        now = time.monotonic()
        rate = self.max_per_second
        self._tokens = min(rate, self._tokens + (now - self._refilled) * rate)
        self._refilled = now
        if self._tokens < 1 or self.in_flight >= self.max_in_flight or self.lagging():
            self.board.compared(switch, "dropped")
            return False
        self._tokens -= 1
        self._reserved += 1
        return True

    def release(self, switch: Switch) -> None:
        """An admitted request whose answer did not complete (the client left, or it failed): not shadowed."""
        self._reserved -= 1
        self.board.compared(switch, "skipped")

    def wanted(self, switch: Switch, method: str) -> bool:
        """Whether a request with `method` may be shadowed: a write is never sent twice by accident."""
        return method in SAFE_METHODS or switch.options.idempotent

    def submit(
        self,
        switch: Switch,
        snapshot: Scope,
        request: RequestCopy,
        primary: Captured,
        new: ASGICall,
        legacy: ASGICall | None,
    ) -> None:
        """Start the shadow call of one request that `admit` took, or count why it was not made.

        `snapshot` is `snapshot(scope)` taken before the legacy side ran: the shadow sees the
        session and state the request came with, not what the legacy side made of them.
        """
        self._reserved -= 1
        if request.too_large or not request.complete:
            self.board.compared(switch, "skipped")
            return
        if legacy is not None and not switch.wants_noise_sample(self._random.random()):
            legacy = None
        task = asyncio.get_running_loop().create_task(
            self._shadow(switch, snapshot, request.body, primary, new, legacy)
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, app: ASGICall, scope: Scope, body: bytes) -> tuple[Captured, float]:
        capture = ResponseCapture(self.capture_limit)

        async def send(message: Message) -> None:
            capture.message(message)

        scope = snapshot(scope)  # each call its own copy: the noise call's writes never reach the new side
        started = time.perf_counter()
        session = scope.get("session")
        if isinstance(session, SharedSession):
            current_session.set(session)  # this task's own context: legacy code sees the copy
        try:
            async with asyncio.timeout(self.timeout):
                await app(scope, _replay(body), send)
        except TimeoutError:
            return _failed(504, f"no answer in {self.timeout:g}s"), time.perf_counter() - started
        except Exception as exc:
            why = f"raised {type(exc).__name__}: {exc}"
            exc.__traceback__ = None  # its frames hold the request: let them go now, not at the next GC
            return _failed(500, why), time.perf_counter() - started
        result = capture.result()
        if not capture.complete:
            result = _failed(result.status or 500, "the answer ended before its body was complete")
        return result, time.perf_counter() - started

    async def _shadow(
        self, switch: Switch, scope: Scope, body: bytes, primary: Captured, new: ASGICall, legacy: ASGICall | None
    ) -> None:
        board = self.board
        try:
            if legacy is not None:
                again, _ = await self._call(legacy, scope, body)
                switch.noise.learn(compare(primary, again, switch.rules))
            switch.shadowed += 1
            answer, duration = await self._call(new, scope, body)
            board.record(switch, "new", answer.status, duration)
            differences = switch.noise.filter(compare(primary, answer, switch.rules))
            if differences:
                state = scope.get("state") or {}
                query = scope.get("query_string", b"").decode("latin-1")
                switch.mismatches.append(
                    Mismatch(
                        at=time.time(),
                        request_id=state.get("request_id"),
                        method=scope["method"],
                        path=scope["path"] + ("?" + query if query else ""),
                        differences=tuple(differences),
                        legacy=primary,
                        new=answer,
                    )
                )
                board.compared(switch, "mismatched")
            else:
                board.compared(switch, "matched")
        except Exception:  # pragma: no cover - a bug here must not reach the user, only the log
            logger.exception("shadow call of %s failed", switch.name)

    async def aclose(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


def _failed(status: int, why: str) -> Captured:
    body = f"<{why}>".encode()
    return Captured(status=status, headers=(), body=body, length=len(body), digest="")
