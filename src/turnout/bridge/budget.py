"""How many requests of one WSGI mount may run in threads, and how many may wait for one.

a2wsgi hands every request to its executor at once, and the executor's queue has no bound:
with the pool busy on slow requests, a fast route of the same mount waits behind all of them.
Here at most `threads + queue` requests of a mount are admitted at a time; one more is refused
at once (the caller answers 503 with `Retry-After`). Admitted requests wait in the pool's own
queue, in order, and the request's exchange gives up on one that waits past `queue_timeout`.

A request that ran past its timeout still holds its thread, which Python cannot kill: it is
counted as stuck, and against the pool, until it returns.
"""

from __future__ import annotations

import threading


class Budget:
    """The admission counters of one mount: `admit` and `release` on the event loop, `begin` in the thread."""

    def __init__(self, *, threads: int, queue: int, queue_timeout: float) -> None:
        assert threads >= 1 and queue >= 0 and queue_timeout >= 0
        self.threads = threads
        self.queue = queue
        self.queue_timeout = queue_timeout
        self.admitted = 0  # requests holding a place: running, waiting, or given up but not yet reached
        self.running = 0  # requests a thread has started on, stuck ones included
        self.abandoned = 0  # requests given up while they waited; their job is still in the queue
        self.stuck = 0  # requests that ran past their timeout and have not returned yet
        self._lock = threading.Lock()

    @property
    def waiting(self) -> int:
        """How many admitted requests wait for a thread."""
        return max(0, self.admitted - self.running - self.abandoned)

    def admit(self) -> bool:
        """Take a place for one request; `False` if the threads and the queue are all taken."""
        if self.admitted >= self.threads + self.queue:
            return False
        self.admitted += 1
        return True

    def begin(self) -> None:
        """A thread starts on an admitted request (called from that thread)."""
        with self._lock:
            self.running += 1

    def release(self, *, started: bool, stuck: bool = False, abandoned: bool = False) -> None:
        """Give a request's place back, once its thread is done with it."""
        self.admitted -= 1
        if started:
            with self._lock:
                self.running -= 1
        if stuck:
            self.stuck -= 1
        if abandoned:
            self.abandoned -= 1
