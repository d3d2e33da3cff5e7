"""Who the visitor is, on both sides.

Legacy to new: a user logged in through the legacy app has their id in the session (Flask-Login
keeps it under `_user_id`). `SessionIdentity` gives it to the app's `user_loader` and puts the
result in `scope["user"]`, which new code reads as `request.user`, with `scope["auth"]` as
Starlette's `AuthenticationMiddleware` would set it.

New to legacy: a user that new code authenticated (`scope["user"]`, set by Starlette's
`AuthenticationMiddleware` or by `SessionIdentity`) reaches legacy code as `REMOTE_USER`, the
CGI variable that Flask, Django's `RemoteUserMiddleware` and most WSGI frameworks understand.
`RemoteUserFromScope` is the WSGI middleware that sets it from `environ["asgi.scope"]`;
`share_flask_session` installs it on a Flask app.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeAlias

from starlette.authentication import AuthCredentials, UnauthenticatedUser
from starlette.types import Scope

from turnout._types import Environ, StartResponse, WSGIApp
from turnout.sessions.state import SharedSession

UserLoader: TypeAlias = Callable[[str], Any | Awaitable[Any]]
"""`user_loader(user_id) -> user or None`, plain or `async def`, as Flask-Login's `user_loader` is."""

FLASK_LOGIN_KEY = "_user_id"


class SessionIdentity:
    """Loads the user whose id the session holds into `scope["user"]` and `scope["auth"]`.

    A plain loader runs on the event loop, so it should be quick (a cache, an in-memory
    table); a loader that queries a database should be `async def`.
    """

    def __init__(self, loader: UserLoader, *, user_id_key: str = FLASK_LOGIN_KEY) -> None:
        self.loader = loader
        self.user_id_key = user_id_key

    async def authenticate(self, scope: Scope, session: SharedSession) -> None:
        existing = scope.get("user")
        if existing is not None and getattr(existing, "is_authenticated", False):
            return  # new code's own authentication ran first, and found someone: it wins
        user = None
        user_id = session.peek(self.user_id_key)
        if user_id is not None:
            user = self.loader(str(user_id))
            if inspect.isawaitable(user):
                user = await user
        if user is None:
            scope["user"] = existing if existing is not None else UnauthenticatedUser()
            scope.setdefault("auth", AuthCredentials())
        else:
            scope["user"] = user
            scope["auth"] = AuthCredentials(["authenticated"])


def remote_user_name(user: object) -> str | None:
    """The name legacy code gets as `REMOTE_USER` for `user`, or `None` if nobody is logged in.

    Starlette's `identity`, then Flask-Login's `get_id()`, then Starlette's `display_name`.
    """
    if user is None or not getattr(user, "is_authenticated", True):
        return None
    for attribute in ("identity", "get_id", "display_name"):
        try:
            value = getattr(user, attribute)
            if callable(value):
                value = value()
        except (AttributeError, NotImplementedError):
            continue
        if value:
            return str(value)
    return None


class RemoteUserFromScope:
    """WSGI middleware: `REMOTE_USER` for the user that new code authenticated (`scope["user"]`).

    ```python
    app.mount_wsgi("/", RemoteUserFromScope(django_wsgi_handler), name="legacy")
    ```
    `share_flask_session` installs it on a Flask app by itself.
    """

    def __init__(self, app: WSGIApp) -> None:
        self.app = app

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        scope = environ.get("asgi.scope")
        if scope is not None:
            name = remote_user_name(scope.get("user"))
            if name is not None:
                environ["REMOTE_USER"] = name
        return self.app(environ, start_response)


__all__ = ["FLASK_LOGIN_KEY", "RemoteUserFromScope", "SessionIdentity", "UserLoader", "remote_user_name"]
