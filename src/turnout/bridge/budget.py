"""How many requests of one WSGI mount may run in threads, and how many may wait for one.

a2wsgi hands every request to its executor at once, and the executor's queue has no bound:
with the pool busy on slow requests, a fast route of the same mount waits behind all of them.
Here a request is admitted on the event loop before it is handed to a thread. If every thread
is busy, it waits in a queue of at most `queue` requests for at most `queue_timeout` seconds;
past either bound it is refused at once (the caller answers 503 with `Retry-After`).

A request that ran past its timeout still holds its thread, which Python cannot kill: it is
counted as stuck, and against the pool, until it returns.
"""

from __future__ import annotations

import asyncio
from collections import deque


class Overloaded(Exception):
    """No thread is free and the request cannot wait for one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    """The admission counters of one mount. Used from the event loop only."""

    def __init__(self, *, threads: int, queue: int, queue_timeout: float) -> None:
        assert threads >= 1 and queue >= 0 and queue_timeout >= 0
        self.threads = threads
        self.queue = queue
        self.queue_timeout = queue_timeout
        self.running = 0
        self.stuck = 0
        self._waiters: deque[asyncio.Future[None]] = deque()

    @property
    def waiting(self) -> int:
        """How many admitted requests wait for a thread."""
        return sum(1 for w in self._waiters if not w.done())

    async def acquire(self) -> None:
        """Take a thread for one request, waiting in the queue if need be; `Overloaded` if it cannot."""
        if self.running < self.threads and not self._waiters:
            self.running += 1
            return
        if self.waiting >= self.queue:
            raise Overloaded("queue full")
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        timer = loop.call_later(self.queue_timeout, self._expire, waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self.release()  # handed a thread just as the request was cancelled
            raise
        finally:
            timer.cancel()
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _expire(self, waiter: asyncio.Future[None]) -> None:
        if not waiter.done():
            waiter.set_exception(Overloaded("queue timeout"))

    def release(self, *, stuck: bool = False) -> None:
        """Give back a thread; the first request still waiting gets it."""
        self.running -= 1
        if stuck:
            self.stuck -= 1
        while self._waiters and self.running < self.threads:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.running += 1
                waiter.set_result(None)
