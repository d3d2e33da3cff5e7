"""The legacy thread pool: threads start on demand up to the limit, free ones are reused, and a
pool stopped at shutdown can be used again."""

from __future__ import annotations

import threading

from turnout.bridge.pool import WorkerPool

WAIT = 5.0  # seconds any wait in these tests may take before it fails


def run_and_wait(pool: WorkerPool, count: int) -> set[str]:
    """Submit `count` jobs one after the other, each waited for; the names of the threads that ran them."""
    names: set[str] = set()
    for _ in range(count):
        done = threading.Event()

        def job(done: threading.Event = done) -> None:
            names.add(threading.current_thread().name)
            done.set()

        pool.submit(job)
        assert done.wait(WAIT)
    return names


def test_a_free_thread_takes_the_next_job_instead_of_a_new_one() -> None:
    pool = WorkerPool("reuse", threads=4)
    try:
        assert run_and_wait(pool, 20) == {"turnout-reuse-0"}
        assert pool.size == 1
    finally:
        assert pool.shutdown(WAIT) == []


def test_busy_threads_make_the_pool_grow_up_to_its_limit_and_no_further() -> None:
    pool = WorkerPool("grow", threads=3)
    release = threading.Event()
    started = threading.Semaphore(0)
    finished = threading.Semaphore(0)

    def blocking() -> None:
        started.release()
        release.wait(WAIT)
        finished.release()

    try:
        for _ in range(5):
            pool.submit(blocking)
        for _ in range(3):
            assert started.acquire(timeout=WAIT)
        assert pool.size == 3
        assert not started.acquire(timeout=0.2)  # jobs 4 and 5 wait for a thread
        release.set()
        for _ in range(5):
            assert finished.acquire(timeout=WAIT)
        assert pool.size == 3
    finally:
        release.set()
        assert pool.shutdown(WAIT) == []


def test_a_pool_used_again_after_a_shutdown_starts_new_threads() -> None:
    pool = WorkerPool("again", threads=2)
    assert run_and_wait(pool, 3)
    assert pool.shutdown(WAIT) == []
    assert pool.size == 0
    assert run_and_wait(pool, 3)
    assert pool.size == 1
    assert pool.shutdown(WAIT) == []


def test_a_stuck_thread_is_named_at_shutdown_and_the_pool_still_serves_after_it() -> None:
    pool = WorkerPool("stuck", threads=2)
    release = threading.Event()
    started = threading.Event()

    def stuck() -> None:
        started.set()
        release.wait(3 * WAIT)  # longer than `run_and_wait` waits

    pool.submit(stuck)
    assert started.wait(WAIT)
    assert pool.shutdown(0.1) == ["turnout-stuck-0"]
    try:
        # The stuck thread's stop token is still queued: a new thread that takes it goes on
        # serving, and the stuck thread leaves the pool when its job ends.
        assert run_and_wait(pool, 3)
        release.set()
        assert run_and_wait(pool, 3)
        assert pool.size == 1
    finally:
        release.set()
        assert pool.shutdown(WAIT) == []
