"""A small pool of daemon threads, one per WSGI mount.

turnout does not use `concurrent.futures.ThreadPoolExecutor` (which a2wsgi uses): its threads
are joined at interpreter exit, so one stuck legacy request would keep the process from ever
exiting. These threads are daemons, the pool reports which ones are stuck at shutdown, and a
job is a plain callable, with no `Future` to allocate per request.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable

logger = logging.getLogger("turnout.bridge")

Job = Callable[[], None]


class WorkerPool:
    """`threads` daemon threads, started on demand, that run jobs in order of arrival."""

    def __init__(self, name: str, threads: int) -> None:
        assert threads >= 1, "a pool needs at least one thread"
        self.name = name
        self.threads = threads
        self._jobs: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._idle = threading.Semaphore(0)
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def submit(self, job: Job) -> None:
        """Queue `job`; a free thread runs it, or a new one if the pool is not full yet."""
        self._jobs.put(job)
        if self._idle.acquire(blocking=False):
            return
        with self._lock:
            self._workers = [t for t in self._workers if t.is_alive()]
            if len(self._workers) < self.threads:
                thread = threading.Thread(
                    target=self._work, name=f"turnout-{self.name}-{len(self._workers)}", daemon=True
                )
                self._workers.append(thread)
                thread.start()

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            try:
                job()
            except BaseException:  # pragma: no cover - jobs catch their own errors
                logger.exception("a job in the %r pool failed", self.name)
            job = None  # an idle thread keeps nothing of its last request alive
            self._idle.release()

    @property
    def size(self) -> int:
        """How many threads are alive."""
        return sum(1 for t in self._workers if t.is_alive())

    def shutdown(self, timeout: float) -> list[str]:
        """Stop the threads, waiting up to `timeout` seconds; gives the names of those still running.

        Threads still running are daemons and do not keep the process alive. The pool can be used
        again after a shutdown: new threads start on demand.
        """
        with self._lock:
            workers, self._workers = self._workers, []
        for _ in workers:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        stuck = [t.name for t in workers if t.is_alive()]
        self._idle = threading.Semaphore(0)
        return stuck
