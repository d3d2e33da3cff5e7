"""How session values become text: Flask's tagged JSON, so that Flask's own cookies stay readable.

Flask's `TaggedJSONSerializer` is JSON with tags for the types JSON lacks (tuples, bytes,
datetimes, `Markup`, UUIDs). Both stores use it: the cookie store for the whole session, in
Flask's exact format, and the Redis store for each value. Without Flask (a Django-only
project) it falls back to compact JSON, which is what Django's own sessions hold anyway.
"""

from __future__ import annotations

import json
from typing import Any, Protocol


class Serializer(Protocol):
    """Turns one value into text and back, as `flask.json.tag.TaggedJSONSerializer` does."""

    def dumps(self, value: Any) -> str: ...

    def loads(self, value: str) -> Any: ...


class CompactJSON:
    """JSON without spaces: the fallback when Flask is not installed."""

    def dumps(self, value: Any) -> str:
        return json.dumps(value, separators=(",", ":"))

    def loads(self, value: str) -> Any:
        return json.loads(value)


def default_serializer() -> Serializer:
    """Flask's tagged JSON when Flask is installed, compact JSON otherwise."""
    try:
        from flask.json.tag import TaggedJSONSerializer
    except ImportError:
        return CompactJSON()
    return TaggedJSONSerializer()
