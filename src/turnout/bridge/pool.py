"""A small pool of daemon threads, one per WSGI mount.

turnout does not use `concurrent.futures.ThreadPoolExecutor` (which a2wsgi uses): its threads
are joined at interpreter exit, so one stuck legacy request would keep the process from ever
exiting. These threads are daemons, the pool reports which ones are stuck at shutdown, and a
job is a plain callable, with no `Future` to allocate per request.

Which threads are free is kept in a deque of tokens, not a `threading.Semaphore`: a semaphore's
`release` and `acquire` run a `Condition` in Python, about 70 bytecodes of every legacy request;
a deque's `append` and `pop` are single atomic calls.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
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
        # A token for each job a thread has finished: that thread is on its way to the next job.
        # A token names the thread's generation: one from before the last shutdown is void.
        self._free: deque[int] = deque()
        self._generation = 0
        self._lock = threading.Lock()
        self._workers: list[threading.Thread] = []

    def submit(self, job: Job) -> None:
        """Queue `job`; a free thread runs it, or a new one if the pool is not full yet.

        Called from one thread (the event loop's), so a token seen is still there to take.
        """
        self._jobs.put(job)
        free = self._free
        while free:
            if free.pop() == self._generation:
                return
        if len(self._workers) >= self.threads:
            return  # every thread is busy: the first to finish takes the job
        with self._lock:
            if len(self._workers) < self.threads:
                thread = threading.Thread(
                    target=self._work,
                    args=(self._generation,),
                    name=f"turnout-{self.name}-{len(self._workers)}",
                    daemon=True,
                )
                self._workers.append(thread)
                thread.start()

    def _work(self, generation: int) -> None:
        jobs = self._jobs
        while True:
            job = jobs.get()
            if self._generation != generation:
                # The pool was shut down: this is a stop token, or a job that came after the
                # shutdown and goes back for a thread of the new generation.
                if job is not None:  # pragma: no cover - a race: a new thread took this one's stop token
                    jobs.put(job)
                return
            if job is None:
                continue  # a stop token for a thread of an older generation, still busy
            try:
                job()
            except BaseException:  # pragma: no cover - jobs catch their own errors
                logger.exception("a job in the %r pool failed", self.name)
            job = None  # an idle thread keeps nothing of its last request alive
            if self._generation != generation:
                return  # a job that outlived a shutdown: the thread leaves the pool
            self._free.append(generation)

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
            self._generation += 1
            self._free = deque()
        for _ in workers:
            self._jobs.put(None)
        deadline = time.monotonic() + timeout
        for thread in workers:
            thread.join(max(0.0, deadline - time.monotonic()))
        return [t.name for t in workers if t.is_alive()]
