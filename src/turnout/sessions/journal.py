"""Which cookie value superseded which, for a little while: how the cookie store merges concurrent requests.

With the session in the cookie, two requests of one visitor that run at the same time both read
the same value, V0. The first to save answers with V1; without help, the second answers with
V0 plus its own changes, and whichever response the browser gets last wins: a key deleted by
one comes back, or a key set by the other is lost. The cookie store records here that V1
superseded V0, so the second request finds V1, merges its own changes into it, and answers with
V2, which has both (see `CookieStore.save`).

Entries are keyed by a digest of the cookie value, and hold the newer value (shared with the
other entries that point to it). The journal keeps at most `max_entries` of them, for at most
`ttl` seconds: a request that runs longer than that merges nothing, as before.

It lives in one process. Under `turnout serve --workers N`, two requests of one visitor that
land on different workers do not see each other's entries: the Redis store merges on the server.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import NamedTuple

DEFAULT_MAX_ENTRIES = 10_000
DEFAULT_TTL = 300.0
"""Seconds: far longer than a request runs, far shorter than anyone keeps a tab open."""
MAX_HOPS = 100
"""How far a chain is followed. Values carry a random nonce, so a chain has no cycle; this makes sure."""


def digest(value: str) -> bytes:
    """The journal's key for a cookie value: 32 bytes, whatever the cookie's length."""
    return hashlib.blake2b(value.encode(), digest_size=32).digest()


class _Entry(NamedTuple):
    successor: str | None
    """The value that superseded this one; `None`: the session was emptied (the cookie deleted)."""
    successor_digest: bytes | None
    recorded_at: float


class Chain(NamedTuple):
    """Where a superseded value leads: the newest value, and the digests passed on the way."""

    superseded: list[bytes]
    """The digests of every value on the way, the one asked about first."""
    newest: str | None
    """The newest value; `None` if the session was emptied (a logout, or its last key deleted)."""


class SuccessorJournal:
    """A bounded, expiring map from a cookie value's digest to the value that superseded it.

    ```python
    journal = SuccessorJournal()
    journal.record([digest(old)], new)      # `new` was written by a request that had read `old`
    journal.newest(digest(old))             # Chain(superseded=[digest(old)], newest=new)
    journal.newest(digest(new))             # None: nothing superseded `new` yet
    ```
    No lock: the cookie store calls it from the event loop only, and never awaits between
    reading the journal and recording what it wrote, so no other request runs in between.
    """

    def __init__(
        self,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        ttl: float = DEFAULT_TTL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        assert max_entries >= 0, "max_entries is a number of entries, 0 to keep none"
        assert ttl > 0, "ttl is a number of seconds"
        self.max_entries = max_entries
        self.ttl = ttl
        self._clock = clock
        # Oldest first: an entry recorded again moves to the end, so expiry and eviction both
        # take from the front.
        self._entries: OrderedDict[bytes, _Entry] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def newest(self, key: bytes) -> Chain | None:
        """Where the value with digest `key` leads, or `None` if nothing (still remembered) superseded it."""
        oldest_kept = self._clock() - self.ttl
        superseded: list[bytes] = []
        newest: str | None = None
        for _ in range(MAX_HOPS):
            entry = self._entries.get(key)
            if entry is None or entry.recorded_at <= oldest_kept:
                break
            superseded.append(key)
            newest = entry.successor
            if entry.successor_digest is None:
                break
            key = entry.successor_digest
        if not superseded:
            return None
        return Chain(superseded, newest)

    def record(self, superseded: Iterable[bytes], successor: str | None) -> None:
        """Remember that `successor` superseded each value in `superseded` (digests); `None`: the session was emptied.

        Pointing every value of a chain at the newest keeps later chains short.
        """
        now = self._clock()
        entry = _Entry(successor, None if successor is None else digest(successor), now)
        entries = self._entries
        for key in superseded:
            entries[key] = entry
            entries.move_to_end(key)
        oldest_kept = now - self.ttl
        while entries and (len(entries) > self.max_entries or next(iter(entries.values())).recorded_at <= oldest_kept):
            entries.popitem(last=False)


__all__ = ["DEFAULT_MAX_ENTRIES", "DEFAULT_TTL", "MAX_HOPS", "Chain", "SuccessorJournal", "digest"]
