"""A streaming client for one transfer: `python -m benchsuite.stream_client download|upload PORT MIB DEADLINE`.

It prints one JSON line: `ok`, `bytes` moved, `seconds`, and a `detail` when it failed. The
upload sends a `Content-Length` (a chunked body reads as empty through a2wsgi) in 1 MiB writes;
the download reads into one 1 MiB buffer. Each socket operation has a timeout, and the whole
transfer gives up past DEADLINE seconds.
"""

from __future__ import annotations

import http.client
import json
import sys
import time

BLOCK = 1024 * 1024


def download(port: int, size: int, deadline: float) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", f"/download?mib={size // BLOCK}")
        response = conn.getresponse()
        if response.status != 200:
            return 0, f"status {response.status}"
        buffer = memoryview(bytearray(BLOCK))
        received = 0
        stop = time.perf_counter() + deadline
        while count := response.readinto(buffer):
            received += count
            if time.perf_counter() > stop:
                return received, f"gave up after {deadline:.0f} s"
        return received, "" if received == size else f"short body: {received} of {size} bytes"
    finally:
        conn.close()


def upload(port: int, size: int, deadline: float) -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.putrequest("POST", "/upload")
        conn.putheader("Content-Type", "application/octet-stream")
        conn.putheader("Content-Length", str(size))
        conn.endheaders()
        block = bytes(BLOCK)
        sent = 0
        stop = time.perf_counter() + deadline
        while sent < size:
            conn.send(block[: min(BLOCK, size - sent)])
            sent += min(BLOCK, size - sent)
            if time.perf_counter() > stop:
                return sent, f"gave up after {deadline:.0f} s"
        response = conn.getresponse()
        text = response.read().decode("latin-1", "replace")
        if response.status != 200:
            return 0, f"status {response.status}"
        return sent, "" if text.strip() == str(size) else f"the app read {text.strip()[:40]!r} of {size} bytes"
    finally:
        conn.close()


def main(argv: list[str]) -> int:
    direction, port, mib, deadline = argv[0], int(argv[1]), int(argv[2]), float(argv[3])
    run = {"download": download, "upload": upload}[direction]
    started = time.perf_counter()
    try:
        moved, detail = run(port, mib * BLOCK, deadline)
    except (OSError, http.client.HTTPException) as exc:
        moved, detail = 0, f"{type(exc).__name__}: {exc}"
    seconds = time.perf_counter() - started
    print(json.dumps({"ok": not detail, "bytes": moved, "seconds": seconds, "detail": detail}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
