"""What a session store does: load the session a cookie points to, and save what a request changed.

Two stores come with turnout: `CookieStore` (the default: the whole session in a signed cookie,
in Flask's format) and `RedisStore` (the session on a Redis server, an id in the cookie).
`SharedSessionMiddleware` calls `load` before the app runs, and `save` when the response starts,
then turns the `CookieUpdate` into a `Set-Cookie` header.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, TypeAlias

from turnout.sessions.state import SharedSession


@dataclass(frozen=True, slots=True)
class SetCookie:
    """Send the cookie with this value."""

    value: str


@dataclass(frozen=True, slots=True)
class DeleteCookie:
    """Tell the browser to forget the cookie: the session is empty."""


CookieUpdate: TypeAlias = SetCookie | DeleteCookie | None
"""What the response does with the session cookie; `None` leaves the browser's cookie as it is."""


class SessionStore(Protocol):
    """Where sessions are kept between requests."""

    async def load(self, cookie: str | None) -> SharedSession:
        """The session that `cookie` (the session cookie's value, if the request had one) points to.

        A missing, forged, expired or unknown cookie gives an empty session, never an error.
        """
        ...

    async def save(self, session: SharedSession) -> CookieUpdate:
        """Merge what the request changed into what is stored, and say what to do with the cookie."""
        ...

    async def aclose(self) -> None:
        """Release connections; called when the app shuts down."""
        ...


__all__ = ["CookieUpdate", "DeleteCookie", "SessionStore", "SetCookie"]
