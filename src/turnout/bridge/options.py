"""The limits of one WSGI mount, with the defaults a production deployment would pick."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_THREADS = 10


@dataclass(frozen=True, slots=True)
class LegacyLimits:
    """Per-mount limits, given to `Turnout.mount_wsgi` or in `[[wsgi]]` of `turnout.toml`.

    - `threads`: the mount's pool of threads (10, as a2wsgi);
    - `queue`: how many requests may wait for a thread (64); one more gets a 503;
    - `queue_timeout`: how long a request may wait for a thread, in seconds (5); then a 503;
    - `timeout`: how long a request may run before its response starts, or go without sending
      anything once it has, in seconds (30, as gunicorn); then a 504, or the connection is closed;
    - `max_body_size`: the largest request body in bytes (1 GiB, as waitress); then a 413.
    """

    threads: int = DEFAULT_THREADS
    queue: int = 64
    queue_timeout: float = 5.0
    timeout: float = 30.0
    max_body_size: int = 1024**3

    def __post_init__(self) -> None:
        assert self.threads >= 1, "threads must be at least 1"
        assert self.queue >= 0, "queue must be 0 or more"
        assert self.queue_timeout >= 0, "queue_timeout must be 0 or more"
        assert self.timeout > 0, "timeout must be more than 0"
        assert self.max_body_size >= 0, "max_body_size must be 0 or more"
