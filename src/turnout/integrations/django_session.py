"""Django's side of the shared session: a session engine whose `request.session` is turnout's.

```python
# settings.py
SESSION_ENGINE = "turnout.integrations.django_session"
SESSION_COOKIE_NAME = "session"        # turnout's cookie name: turnout drops anything Django sends for it
```
Django's `SessionMiddleware` builds a `SessionStore` with only the cookie's value, without the
request; this engine finds the request's `SharedSession` in the `current_session` contextvar,
which `SharedSessionMiddleware` sets and the legacy thread inherits. Its `save()` does nothing
and it never reports itself modified, so Django's middleware neither saves nor sets a cookie:
turnout's middleware saves what changed when the response starts. `login()`'s `cycle_key()`
and `logout()`'s `flush()` become the shared session's `rotate()` and `clear()`.

Outside a turnout request (a management command, Django's test client), the session is an
empty one of its own, and whatever is written to it is not kept.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends.base import SessionBase  # type: ignore[import-untyped,unused-ignore]

from turnout.sessions.state import SharedSession, current_session


class SessionStore(SessionBase):  # type: ignore[misc,unused-ignore]
    """`request.session` for a Django project mounted in turnout: the request's `SharedSession`."""

    def __init__(self, session_key: str | None = None) -> None:
        shared = current_session.get()
        self._shared = shared if shared is not None else SharedSession()
        super().__init__(session_key)

    def _get_session(self, no_load: bool = False) -> SharedSession:
        self.accessed = True
        return self._shared

    _session = property(_get_session)

    async def _aget_session(self, no_load: bool = False) -> SharedSession:
        return self._get_session(no_load)

    # Django's SessionMiddleware saves and sets its cookie when a session says it was modified,
    # and deletes the cookie when it says it is empty: turnout's middleware does both instead.
    @property
    def modified(self) -> bool:
        return False

    @modified.setter
    def modified(self, value: bool) -> None:
        pass

    def is_empty(self) -> bool:
        return False

    @property
    def session_key(self) -> str | None:
        """The Redis store's id of the session; `None` with the cookie store, which has no ids."""
        return self._shared.session_id

    @property
    def _session_key(self) -> str | None:
        return self._shared.session_id

    @_session_key.setter
    def _session_key(self, value: str | None) -> None:
        pass  # the store gives ids, not Django

    def clear(self) -> None:
        self._shared.clear()
        self.accessed = True

    def flush(self) -> None:
        self.clear()

    async def aflush(self) -> None:
        self.clear()

    def cycle_key(self) -> None:
        self._shared.rotate()

    async def acycle_key(self) -> None:
        self.cycle_key()

    def exists(self, session_key: str) -> bool:
        return False

    def create(self) -> None:
        pass

    def save(self, must_create: bool = False) -> None:
        pass

    def delete(self, session_key: str | None = None) -> None:
        pass

    def load(self) -> dict[str, Any]:
        return self._shared.as_dict()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: the cookie store keeps nothing, and Redis expires sessions by itself."""


__all__ = ["SessionStore"]
