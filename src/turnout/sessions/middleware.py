"""`SharedSessionMiddleware`: one session per request, for both sides, saved when the response starts.

Pure ASGI. Before the app runs, it loads the session that the cookie points to into
`scope["session"]` (a `SharedSession`, which new code reads as `request.session`), and into the
`current_session` contextvar, which legacy code's thread inherits. With a `user_loader`, it
also sets `scope["user"]` (see `identity`). When the response starts, it asks the store to save
what the request changed and sends one `Set-Cookie` for the session; a `Set-Cookie` for the same
cookie name that a legacy app sent itself is dropped, so the two sides never overwrite each other.

Cookies are `HttpOnly` and `SameSite=Lax`, and `Secure` when the request came over HTTPS
(`scope["scheme"]`, which `EdgeMiddleware` has already taken from a trusted proxy's
`X-Forwarded-Proto`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from email.utils import formatdate
from typing import Literal

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from turnout.sessions.cookie import DEFAULT_MAX_AGE
from turnout.sessions.identity import FLASK_LOGIN_KEY, SessionIdentity, UserLoader
from turnout.sessions.state import SharedSession, current_session
from turnout.sessions.store import DeleteCookie, SessionStore, SetCookie

logger = logging.getLogger("turnout.sessions")

COOKIE_LIMIT = 4093
"""The longest `Set-Cookie` that browsers keep (name, value and attributes), as Werkzeug counts it."""

_HeaderList = list[tuple[bytes, bytes]]


class SharedSessionMiddleware:
    """Loads the shared session into `scope["session"]`, and saves it when the response starts.

    ```python
    app.add_middleware(SharedSessionMiddleware, store=CookieStore(FlaskCookieCodec([SECRET_KEY])))
    ```
    `enable_shared_sessions(app, ...)` adds it and installs the Flask side in one call.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        store: SessionStore,
        cookie_name: str = "session",
        max_age: int = DEFAULT_MAX_AGE,
        path: str = "/",
        domain: str | None = None,
        same_site: Literal["lax", "strict", "none"] = "lax",
        secure: bool | None = None,
        user_loader: UserLoader | None = None,
        user_id_key: str = FLASK_LOGIN_KEY,
    ) -> None:
        assert same_site in ("lax", "strict", "none"), "same_site is 'lax', 'strict' or 'none'"
        assert cookie_name and "=" not in cookie_name and ";" not in cookie_name, "not a cookie name"
        self.app = app
        self.store = store
        self.cookie_name = cookie_name
        self.max_age = max_age
        self.secure = secure
        self.identity = SessionIdentity(user_loader, user_id_key=user_id_key) if user_loader is not None else None
        attributes = f"; Path={path}"
        if domain is not None:
            attributes += f"; Domain={domain}"
        self._attributes = attributes
        self._flags = f"; HttpOnly; SameSite={same_site.capitalize()}"
        self._name = cookie_name.encode("latin-1")
        self._warned = False

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.app(scope, receive, self._closing_store(send))
            return
        cookie = self._cookie(scope)
        session = await self.store.load(cookie)
        scope["session"] = session
        if self.identity is not None:
            await self.identity.authenticate(scope, session)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = await self._headers(scope, session, message.get("headers", ()), cookie)
            await send(message)

        token = current_session.set(session)
        try:
            await self.app(scope, receive, send_with_cookie if kind == "http" else send)
        finally:
            current_session.reset(token)

    def _closing_store(self, send: Send) -> Send:
        async def send_then_close(message: Message) -> None:
            if message["type"] in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
                await self.store.aclose()
            await send(message)

        return send_then_close

    def _cookie(self, scope: Scope) -> str | None:
        """The session cookie's value; the first one, as Werkzeug reads it, if there are several."""
        headers: list[tuple[bytes, bytes]] = scope["headers"]
        for name, value in headers:
            if name == b"cookie":
                for pair in value.split(b";"):
                    key, _, found = pair.partition(b"=")
                    if key.strip() == self._name:
                        return found.strip().decode("latin-1")
        return None

    async def _headers(
        self, scope: Scope, session: SharedSession, headers: Iterable[tuple[bytes, bytes]], cookie: str | None
    ) -> _HeaderList:
        kept: _HeaderList = []
        for name, value in headers:
            if name.lower() == b"set-cookie" and value.partition(b"=")[0].strip() == self._name:
                if not self._warned:
                    self._warned = True
                    logger.warning(
                        "a legacy app set the %r cookie itself; turnout dropped it, because the shared session "
                        "owns that cookie. Call turnout.integrations.flask_session.share_flask_session(flask_app) "
                        "for a Flask app, or set a Django project's SESSION_ENGINE to "
                        "'turnout.integrations.django_session'",
                        self.cookie_name,
                    )
                continue
            kept.append((name, value))
        # Every change marks the session accessed: one nobody touched has nothing to save.
        update = await self.store.save(session) if session.accessed or session.stale else None
        secure = self.secure if self.secure is not None else scope.get("scheme") in ("https", "wss")
        flags = self._flags + "; Secure" if secure else self._flags
        if isinstance(update, SetCookie):
            expires = ""
            if session.permanent:
                expires = f"; Expires={formatdate(time.time() + self.max_age, usegmt=True)}; Max-Age={self.max_age}"
            header = f"{self.cookie_name}={update.value}{expires}{self._attributes}{flags}"
            if len(header) > COOKIE_LIMIT:
                logger.warning(
                    "the %r cookie is %d bytes, and browsers drop cookies over %d: keep less in the session, "
                    "or keep sessions in Redis (redis_url=...)",
                    self.cookie_name,
                    len(header),
                    COOKIE_LIMIT,
                )
            kept.append((b"set-cookie", header.encode("latin-1")))
        elif isinstance(update, DeleteCookie) and cookie is not None:
            expired = "; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0"
            kept.append((b"set-cookie", f"{self.cookie_name}={expired}{self._attributes}{flags}".encode("latin-1")))
        if session.accessed or update is not None:
            _vary_on_cookie(kept)
        return kept


def _vary_on_cookie(headers: _HeaderList) -> None:
    for index, (name, value) in enumerate(headers):
        if name.lower() == b"vary":
            if any(part.strip().lower() in (b"cookie", b"*") for part in value.split(b",")):
                return
            headers[index] = (name, value + b", Cookie")
            return
    headers.append((b"vary", b"Cookie"))


__all__ = ["COOKIE_LIMIT", "SharedSessionMiddleware"]
