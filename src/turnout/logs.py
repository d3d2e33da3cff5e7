"""Logging for `turnout serve`: every line of a request carries its request id.

`RequestIdFilter` puts the current request id (from the `request_id` context variable, which
reaches legacy threads too) on each record as `request_id`. `logging_config()` is Uvicorn's
own configuration plus a handler on the root logger and on `turnout` that uses the filter, so
the lines of legacy apps, of new code and of turnout all show the id of their request.
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from uvicorn.config import LOGGING_CONFIG

from turnout.middleware.request_id import request_id

FORMAT = "%(levelprefix)s [%(request_id)s] %(name)s: %(message)s"


class RequestIdFilter(logging.Filter):
    """Adds `record.request_id`: the id of the request being served, or `-` outside one."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id.get() or "-"
        return True


def logging_config() -> dict[str, Any]:
    """A `logging.config.dictConfig` for Uvicorn's `log_config`, with request ids on every line."""
    config: dict[str, Any] = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"request_id": {"()": "turnout.logs.RequestIdFilter"}}
    config["formatters"]["request"] = {"()": "uvicorn.logging.DefaultFormatter", "fmt": FORMAT, "use_colors": None}
    config["handlers"]["request"] = {
        "formatter": "request",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stderr",
        "filters": ["request_id"],
    }
    config["handlers"]["access_line"] = {
        "formatter": "request",
        "class": "logging.StreamHandler",
        "stream": "ext://sys.stdout",
        "filters": ["request_id"],
    }
    config["loggers"]["turnout"] = {"handlers": ["request"], "level": "INFO", "propagate": False}
    config["loggers"]["turnout.access"] = {"handlers": ["access_line"], "level": "INFO", "propagate": False}
    config["root"] = {"handlers": ["request"], "level": "INFO"}
    return config
