"""One session object per request, shared by both sides, that knows what the request changed.

New code reads it as `request.session` (Starlette reads `scope["session"]`), Flask as
`flask.session` (through `TurnoutSessionInterface`), Django as `request.session` (through the
`turnout.integrations.django_session` engine): the same object, so a write on one side is
seen by the other within the same request chain.

It records the keys the request set and deleted, so that a store can merge only those into
what is stored when the response starts, instead of writing back the whole dict it read at the
start. A request that ran at the same time and deleted a key does not see it come back.

A value changed in place (`session["cart"]["1"] = 2`, without assigning `session["cart"]`
again) is caught too: the first read of a key keeps its serialized form, which `changes()`
compares with the value's form at save time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, MutableMapping
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from turnout.sessions.serializer import Serializer, default_serializer


@dataclass(frozen=True, slots=True)
class Changes:
    """What one request did to its session, for a store to merge into what is stored."""

    cleared: bool
    """The request emptied the session (a logout): drop everything stored, then apply `updated`."""
    updated: dict[str, Any]
    """Keys set, or whose value was changed in place, with their values now."""
    deleted: frozenset[str]
    """Keys deleted (and not set again)."""
    rotate: bool
    """The session must get a new id (after a login, or a clear), so an old id is worth nothing."""

    def __bool__(self) -> bool:
        return self.cleared or self.rotate or bool(self.updated) or bool(self.deleted)


class SharedSession(MutableMapping[str, Any]):
    """The session of one request: a mutable mapping that tracks the keys it changes.

    ```python
    session = request.session          # new code; `flask.session` in legacy code
    session["cart"] = {"3": 1}          # recorded as set
    del session["csrf_token"]           # recorded as deleted
    session.clear()                     # a logout: drop everything, and get a new id
    ```
    It also has what Flask's sessions have (`permanent`, `new`, `modified`, `accessed`) and
    what Starlette's has (`mark_accessed`).
    """

    def __init__(
        self,
        data: Mapping[str, Any] | None = None,
        *,
        serializer: Serializer | None = None,
        session_id: str | None = None,
        stale: bool = False,
        changed: Iterable[str] = (),
        origin: bytes | None = None,
    ) -> None:
        self._data: dict[str, Any] = dict(data or {})
        self._serializer = serializer if serializer is not None else default_serializer()
        self._changed: set[str] = set(changed)
        self._deleted: set[str] = set()
        self._read: dict[str, str] = {}  # serialized form at first read, to notice changes in place
        self._cleared = False
        self._rotate = False
        self.session_id = session_id
        """The store's id of this session (the Redis store), or `None` (the cookie store, or not stored yet)."""
        self.origin = origin
        """What the store loaded this session from, for its own use at save: the cookie store keeps a
        digest of the cookie, to find the values that superseded it meanwhile. `None` otherwise."""
        self.stale = stale
        """The store wants the stored copy refreshed even if nothing changed (it is half-way to expiry)."""
        self.new = not self._data
        """Flask's `SessionMixin.new`: nothing was stored for this visitor before this request."""
        self.accessed = False
        """The response depends on the session, so it gets `Vary: Cookie`."""

    # -- the mapping ----------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        value = self._data[key]
        self.accessed = True
        if key not in self._read and key not in self._changed:
            self._read[key] = self._serializer.dumps(value)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._data[key] = value
        self.accessed = True
        self._changed.add(key)
        self._deleted.discard(key)

    def __delitem__(self, key: str) -> None:
        del self._data[key]
        self.accessed = True
        self._changed.discard(key)
        self._deleted.add(key)

    def __iter__(self) -> Iterator[str]:
        self.accessed = True
        return iter(list(self._data))

    def __len__(self) -> int:
        self.accessed = True
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        self.accessed = True
        return key in self._data

    def get(self, key: str, default: Any = None) -> Any:
        if key in self._data:
            return self[key]
        self.accessed = True
        return default

    def clear(self) -> None:
        """Empty the session, including keys another request adds meanwhile, and give it a new id."""
        self._data.clear()
        self._changed.clear()
        self._deleted.clear()
        self._read.clear()
        self.accessed = True
        self._cleared = True
        self._rotate = True

    def __repr__(self) -> str:
        return f"<SharedSession {self._data!r}>"

    # -- what Flask and Starlette expect of a session -------------------------------------------

    def mark_accessed(self) -> None:
        """Called by Starlette's `request.session`."""
        self.accessed = True

    @property
    def permanent(self) -> bool:
        """Flask's `session.permanent`: the cookie outlives the browser session (the `_permanent` key)."""
        return bool(self._data.get("_permanent", False))

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    @property
    def modified(self) -> bool:
        """The request changed the session, so it will be saved."""
        return bool(self.changes())

    @modified.setter
    def modified(self, value: bool) -> None:
        # Flask's idiom after changing a value in place. Changes in place are noticed anyway;
        # this makes every key read so far count as changed, as Flask would write them all.
        if value:
            self._changed.update(key for key in self._read if key in self._data)

    # -- for stores -----------------------------------------------------------------------------

    def peek(self, key: str, default: Any = None) -> Any:
        """The value of `key` without marking the session accessed (turnout's own reads)."""
        return self._data.get(key, default)

    def is_empty(self) -> bool:
        """No data; not counted as an access."""
        return not self._data

    def as_dict(self) -> dict[str, Any]:
        """A shallow copy of the data, for a store to write; not counted as an access."""
        return dict(self._data)

    def rotate(self) -> None:
        """Give the session a new id when it is saved, keeping its data: call it after a login.

        An id that an attacker planted before the login is then worth nothing (session fixation).
        Django's `login()` calls it through `cycle_key()`.
        """
        self.accessed = True
        self._rotate = True

    def changes(self) -> Changes:
        """What the request changed, values changed in place included."""
        updated = {key: self._data[key] for key in self._changed}
        for key, before in self._read.items():
            if key not in updated and key in self._data and self._serializer.dumps(self._data[key]) != before:
                updated[key] = self._data[key]
        return Changes(self._cleared, updated, frozenset(self._deleted), self._rotate)


current_session: ContextVar[SharedSession | None] = ContextVar("turnout.session", default=None)
"""The session of the request being served: legacy code reaches it in its thread (contextvars
are copied there), which is how the Django engine finds it."""

__all__ = ["Changes", "SharedSession", "current_session"]
