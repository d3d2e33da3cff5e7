"""A small hybrid app for the session tests: a legacy Flask app at `/legacy`, new routes at `/new`.

Both sides have the same endpoints: read a key (`GET .../read/{key}`, JSON), write one
(`POST .../write/{key}/{value}`), delete one (`POST .../delete/{key}`), clear the session
(`POST .../clear`), and say who is logged in (`GET .../whoami`). A write, delete or clear
answers 204, or a 303 to `?next=` when there is one, so a test can follow a redirect across sides.
"""

from __future__ import annotations

import threading
from typing import Any

from flask import Flask, jsonify, redirect, request, session
from flask.typing import ResponseReturnValue
from flask_login import LoginManager, UserMixin, current_user, login_user, logout_user  # type: ignore[import-untyped,unused-ignore]
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from turnout import Turnout
from turnout.sessions import enable_shared_sessions

SECRET = "turnout-tests-9c1f0e7a2b5d4c3e8f6a1b0d"
GATE_TIMEOUT = 10.0


class User(UserMixin):  # type: ignore[misc,unused-ignore]
    def __init__(self, user_id: str) -> None:
        self.id = user_id


class Gate:
    """Holds a legacy request inside its view (after its session was loaded) until the test lets it go."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def hold(self) -> None:
        self.entered.set()
        assert self.release.wait(GATE_TIMEOUT), "the test never released the gate"


def _done(next_url: str | None) -> ResponseReturnValue:
    return redirect(next_url, 303) if next_url else ("", 204)


def legacy_app(gate: Gate | None = None) -> Flask:
    """The legacy side: plain Flask with Flask-Login, knowing nothing about turnout."""
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET)
    login_manager = LoginManager(app)
    login_manager.user_loader(User)

    @app.get("/read/<key>")
    def read(key: str) -> ResponseReturnValue:
        return jsonify(value=session.get(key))

    @app.post("/write/<key>/<value>")
    def write(key: str, value: str) -> ResponseReturnValue:
        session[key] = value
        return _done(request.args.get("next"))

    @app.post("/delete/<key>")
    def delete(key: str) -> ResponseReturnValue:
        session.pop(key, None)
        return _done(request.args.get("next"))

    @app.post("/clear")
    def clear() -> ResponseReturnValue:
        session.clear()
        return _done(request.args.get("next"))

    @app.post("/login/<user_id>")
    def login(user_id: str) -> ResponseReturnValue:
        login_user(User(user_id))
        return _done(request.args.get("next"))

    @app.post("/logout")
    def logout() -> ResponseReturnValue:
        logout_user()
        return _done(request.args.get("next"))

    @app.get("/whoami")
    def whoami() -> ResponseReturnValue:
        user_id = current_user.get_id() if current_user.is_authenticated else None
        return jsonify(remote_user=request.environ.get("REMOTE_USER"), user_id=user_id)

    @app.route("/slow/<key>/<value>", methods=["GET", "POST"])
    def slow(key: str, value: str) -> ResponseReturnValue:
        """Reads the session, waits at the gate, then (for a POST) writes `key`."""
        seen = session.get(key)
        assert gate is not None
        gate.hold()
        if request.method == "POST":
            session[key] = value
        return jsonify(value=seen)

    return app


def _next(request: Request, default: Response) -> Response:
    next_url = request.query_params.get("next")
    return RedirectResponse(next_url, 303) if next_url else default


async def new_read(request: Request) -> Response:
    return JSONResponse({"value": request.session.get(request.path_params["key"])})


async def new_write(request: Request) -> Response:
    request.session[request.path_params["key"]] = request.path_params["value"]
    return _next(request, Response(status_code=204))


async def new_delete(request: Request) -> Response:
    request.session.pop(request.path_params["key"], None)
    return _next(request, Response(status_code=204))


async def new_clear(request: Request) -> Response:
    request.session.clear()
    return _next(request, Response(status_code=204))


async def new_whoami(request: Request) -> Response:
    user = request.user
    return JSONResponse({"authenticated": user.is_authenticated, "name": getattr(user, "display_name", None)})


def add_new_routes(app: Turnout) -> None:
    app.add_route("/new/read/{key}", new_read, methods=["GET"], name="read")
    app.add_route("/new/write/{key}/{value}", new_write, methods=["POST"], name="write")
    app.add_route("/new/delete/{key}", new_delete, methods=["POST"], name="delete")
    app.add_route("/new/clear", new_clear, methods=["POST"], name="clear")
    app.add_route("/new/whoami", new_whoami, methods=["GET"], name="whoami")


def build_app(*, redis_url: str | None = None, gate: Gate | None = None, **options: Any) -> Turnout:
    """Both sides, sharing one session (in a cookie, or in Redis at `redis_url`)."""
    app = Turnout()
    app.mount_wsgi("/legacy", legacy_app(gate), name="legacy")
    add_new_routes(app)
    options.setdefault("secret_key", SECRET)
    enable_shared_sessions(app, redis_url=redis_url, **options)
    return app
