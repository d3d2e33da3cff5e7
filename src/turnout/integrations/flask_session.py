"""Flask's side of the shared session: `flask.session` is the request's `SharedSession`.

`TurnoutSessionInterface` opens the session that `SharedSessionMiddleware` loaded (from
`environ["asgi.scope"]["session"]`) instead of reading the cookie, and its `save_session` does
nothing: the middleware saves, and sends the only `Set-Cookie` for the session. Served without
turnout (a unit test, `flask run`), it is Flask's own cookie session, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, cast

from flask import Flask
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface, SessionMixin
from flask.wrappers import Request, Response

from turnout.exceptions import ConfigError
from turnout.sessions.identity import RemoteUserFromScope
from turnout.sessions.state import SharedSession

# Flask's code and extensions may check `isinstance(session, SessionMixin)`: a SharedSession is one.
SessionMixin.register(SharedSession)

UNWRAP_DEPTH = 8
"""How many WSGI wrappers `flask_apps_in` looks through."""


def shared_session_of(environ: dict[str, Any]) -> SharedSession | None:
    """The shared session of the request, or `None` when the app is served without turnout's sessions."""
    scope = environ.get("asgi.scope")
    session = scope.get("session") if scope is not None else None
    return session if isinstance(session, SharedSession) else None


class TurnoutSessionInterface(SecureCookieSessionInterface):
    """A Flask session interface whose session is turnout's shared one.

    ```python
    flask_app.session_interface = TurnoutSessionInterface()   # what share_flask_session does
    ```
    """

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        shared = shared_session_of(request.environ)
        if shared is None:
            return super().open_session(app, request)
        return cast(SecureCookieSession, shared)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if isinstance(session, SharedSession):
            return  # SharedSessionMiddleware saves it when the response starts
        super().save_session(app, session, response)


def share_flask_session(flask_app: Flask) -> Flask:
    """Make `flask_app` use turnout's shared session, and see new code's user as `REMOTE_USER`.

    ```python
    shop = share_flask_session(create_shop())
    app.mount_wsgi("/shop", shop, name="shop")
    ```
    `enable_shared_sessions` calls it for every Flask app already mounted. Calling it twice is
    harmless. An app with a session interface of its own (Flask-Session, say) is refused: the
    shared session would silently replace where it keeps its sessions.
    """
    interface = flask_app.session_interface
    if not isinstance(interface, TurnoutSessionInterface):
        if type(interface) is not SecureCookieSessionInterface:
            raise ConfigError(
                f"the Flask app {flask_app.name!r} keeps its sessions with "
                f"{type(interface).__module__}.{type(interface).__qualname__}, which turnout would replace",
                fix="remove that session interface and let turnout keep the session (redis_url= for a "
                "server-side store), or do not share this app's session",
            )
        flask_app.session_interface = TurnoutSessionInterface()
    if not isinstance(flask_app.wsgi_app, RemoteUserFromScope):
        flask_app.wsgi_app = RemoteUserFromScope(flask_app.wsgi_app)  # type: ignore[method-assign]
    return flask_app


def flask_apps_in(app: object) -> Iterator[Flask]:
    """The Flask apps in a mounted WSGI app: the app itself, or behind wrappers that keep it as `.app`.

    Werkzeug's `DispatcherMiddleware` (`.app` and `.mounts`) and most WSGI middleware classes
    keep the app they wrap as an attribute; a wrapper that is a plain function (a closure) hides it.
    """
    todo: list[tuple[object, int]] = [(app, 0)]
    seen: set[int] = set()
    while todo:
        current, depth = todo.pop()
        if id(current) in seen or depth > UNWRAP_DEPTH:
            continue
        seen.add(id(current))
        if isinstance(current, Flask):
            yield current
            continue
        inner = getattr(current, "app", None)
        if inner is not None:
            todo.append((inner, depth + 1))
        mounts = getattr(current, "mounts", None)
        if isinstance(mounts, dict):
            todo.extend((mounted, depth + 1) for mounted in mounts.values())


__all__ = ["TurnoutSessionInterface", "flask_apps_in", "share_flask_session", "shared_session_of"]
