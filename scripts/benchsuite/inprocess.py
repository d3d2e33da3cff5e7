"""The Flask app called in-process, with no server: the ceiling for any WSGI server.

`python -m benchsuite.inprocess SECONDS PATH...` calls `flask_app(environ, start_response)` in a
tight loop, with a fresh environ each time, consumes the iterable, closes it, and prints one
JSON line with the calls per second of each path.
"""

from __future__ import annotations

import io
import json
import sys
import time
from wsgiref.types import StartResponse, WSGIEnvironment

from benchsuite.apps import flask_app


def base_environ(path: str) -> WSGIEnvironment:
    return {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "8000",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1:8000",
        "HTTP_USER_AGENT": "benchsuite",
        "HTTP_ACCEPT": "*/*",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }


def calls_per_second(path: str, seconds: float) -> float:
    base = base_environ(path)
    last = [""]

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: object = None) -> None:
        last[0] = status

    app = flask_app
    start_response_typed: StartResponse = start_response  # type: ignore[assignment]
    calls = 0
    started = time.perf_counter()
    stop = started + seconds
    while True:
        for _ in range(200):
            environ = dict(base)
            environ["wsgi.input"] = io.BytesIO(b"")
            body = app(environ, start_response_typed)
            for _chunk in body:
                pass
            close = getattr(body, "close", None)
            if close is not None:
                close()
        calls += 200
        now = time.perf_counter()
        if now >= stop:
            break
    assert last[0].startswith("200"), last[0]
    return calls / (now - started)


def main(argv: list[str]) -> int:
    seconds, paths = float(argv[0]), argv[1:]
    rates = {}
    for path in paths:
        calls_per_second(path, min(0.5, seconds / 4))  # warm up
        rates[path] = calls_per_second(path, seconds)
    print(json.dumps(rates))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
