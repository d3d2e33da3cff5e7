"""A bounded memo: a dict that works out a missing value once and keeps it, up to a limit.

turnout keeps several such tables on the request path (header names as the environ and the
response want them, the environ's fixed keys, which peers are trusted proxies). A known key is
one C-level look-up; past the limit, values are still worked out, but no longer kept, so keys
that a client chooses cannot grow the table without bound.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(dict[K, V]):
    """`memo[key]` is `make(key)`, made once per key for the first `limit` keys."""

    __slots__ = ("_make", "_limit")

    def __init__(self, make: Callable[[K], V], limit: int) -> None:
        super().__init__()
        self._make = make
        self._limit = limit

    def __missing__(self, key: K) -> V:
        value = self._make(key)
        if len(self) < self._limit:
            self[key] = value
        return value
