"""The access log: one line per request, as text or JSON lines, on the logger `turnout.access`.

Each line has the method, the path, the route template, the side and mount that served it, the
status, the bytes sent, the duration and the time spent waiting for a legacy thread, and the
request id. The path and query are escaped, so a client cannot put terminal escapes or line
breaks into the log (Uvicorn's CVE-2020-7694).
"""

from __future__ import annotations

import json
import logging
import re

from turnout.middleware.record import RequestRecord

logger = logging.getLogger("turnout.access")

_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f"\\]')


def escape(text: str) -> str:
    """`text` with control characters, quotes and backslashes written as escapes."""
    return _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


class AccessLog:
    """An observer that logs each request, as `text` or `json` lines."""

    def __init__(self, style: str = "text") -> None:
        assert style in ("text", "json"), "the access log style is 'text' or 'json'"
        self.style = style

    def __call__(self, record: RequestRecord) -> None:
        if not logger.isEnabledFor(logging.INFO):
            return
        logger.info("%s", self.format(record))

    def format(self, record: RequestRecord) -> str:
        wait = None if record.queue_wait is None else round(record.queue_wait * 1000, 3)
        if self.style == "json":
            return json.dumps(
                {
                    "client": record.client,
                    "method": record.method,
                    "path": record.path,
                    "query": record.query,
                    "route": record.template,
                    "side": record.side,
                    "mount": record.mount,
                    "status": record.status,
                    "bytes": record.bytes_sent,
                    "duration_ms": round(record.duration * 1000, 3),
                    "queue_wait_ms": wait,
                    "request_id": record.request_id,
                },
                ensure_ascii=True,
            )
        target = escape(record.path + (f"?{record.query}" if record.query else ""))
        return (
            f'{record.client or "-"} "{escape(record.method)} {target}" {record.status} {record.bytes_sent} '
            f"{record.duration * 1000:.1f}ms route={escape(record.template)} side={record.side} "
            f"mount={record.mount} wait={'-' if wait is None else f'{wait:.1f}ms'} id={record.request_id}"
        )
