"""Send bytes to a test server over a plain socket, for requests that httpx would not send as written."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit


def send_raw(base_url: str, data: bytes, *, timeout: float = 5.0, close_after_send: bool = False) -> bytes:
    """Send `data` to the server at `base_url` and read the reply until the server closes or `timeout` passes."""
    parts = urlsplit(base_url)
    assert parts.hostname == "127.0.0.1" and parts.port is not None
    deadline = time.monotonic() + timeout
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        try:
            sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused before it had read everything: read what it said
        if close_after_send:
            return b""
        chunks = []
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not chunk:
                break
            chunks.append(chunk)
            if b"\r\n\r\n" in b"".join(chunks) and _complete(b"".join(chunks)):
                break
        return b"".join(chunks)


def _complete(reply: bytes) -> bool:
    head, _, body = reply.partition(b"\r\n\r\n")
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value.strip())
    return False


def status_of(reply: bytes) -> int:
    """The status code of a raw HTTP reply."""
    return int(reply.split(b" ", 2)[1])
