"""`wsgi.file_wrapper` and `wsgi.errors`: the two helpers PEP 3333 lets a server offer an app."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

BLOCK_SIZE = 64 * 1024


class FileWrapper:
    """`wsgi.file_wrapper`: sends a file in blocks, never reading it whole into memory.

    Flask's `send_file` and Werkzeug's `wrap_file` pick it up from the environ.
    """

    def __init__(self, filelike: Any, block_size: int = BLOCK_SIZE) -> None:
        self.filelike = filelike
        self.block_size = block_size

    def __iter__(self) -> Iterator[bytes]:
        read = self.filelike.read
        while True:
            block: bytes = read(self.block_size)
            if not block:
                return
            yield block

    def close(self) -> None:
        close = getattr(self.filelike, "close", None)
        if close is not None:
            close()


class ErrorStream:
    """`wsgi.errors`: a text stream whose lines go to Python logging, under `turnout.legacy.<mount>`."""

    def __init__(self, mount_name: str) -> None:
        self.logger = logging.getLogger(f"turnout.legacy.{mount_name}")
        self._local = threading.local()

    def write(self, text: str) -> int:
        buffered: str = getattr(self._local, "buffer", "") + text
        *lines, rest = buffered.split("\n")
        for line in lines:
            self.logger.error("%s", line)
        self._local.buffer = rest
        return len(text)

    def writelines(self, lines: list[str]) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        rest = getattr(self._local, "buffer", "")
        if rest:
            self._local.buffer = ""
            self.logger.error("%s", rest)
