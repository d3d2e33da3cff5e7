"""Real components for the session tests: a `redis-server` on a free port, and finding executables.

Under `CI=true` a missing executable fails the test; elsewhere the test is skipped with the reason.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import pytest
import redis

from turnout.testing import free_port

STARTUP_TIMEOUT = 10.0


def executable(name: str, *, fallback: str | None = None) -> str:
    """The path of `name`; a failure under CI, a skip elsewhere, when it is not installed."""
    found = shutil.which(name) or (fallback if fallback is not None and os.access(fallback, os.X_OK) else None)
    if found is None:
        reason = f"{name} is not installed (scripts/install-system installs it)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; under CI=true this is a failure, not a skip")
        pytest.skip(reason)
    return found


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A `redis-server` on a free 127.0.0.1 port, without persistence; gives its URL, kills it at the end."""
    port = free_port()
    process = subprocess.Popen(
        [executable("redis-server"), "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT
        with redis.Redis.from_url(url, socket_timeout=1) as client:
            while True:
                try:
                    client.ping()
                    break
                except redis.ConnectionError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"redis-server on port {port} did not answer PING") from None
                    time.sleep(0.05)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:  # pragma: no cover - a redis-server that ignores SIGTERM
            process.kill()
            process.wait(5)
