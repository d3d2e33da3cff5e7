"""Who is logged in, on both sides: the legacy login is `request.user`, new code's user is `REMOTE_USER`."""

from __future__ import annotations

from collections.abc import Iterable

import pytest
from flask import Flask
from flask_login import UserMixin  # type: ignore[import-untyped,unused-ignore]
from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser, SimpleUser
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection

from tests.sessions.apps import SECRET, User, add_new_routes, build_app, legacy_app
from turnout import Turnout
from turnout._types import Environ, StartResponse
from turnout.sessions import RemoteUserFromScope, enable_shared_sessions
from turnout.sessions.identity import remote_user_name
from turnout.testing import client


def load_user(user_id: str) -> SimpleUser | None:
    return SimpleUser(f"user-{user_id}") if user_id != "nobody" else None


async def load_user_async(user_id: str) -> SimpleUser | None:
    return load_user(user_id)


@pytest.mark.anyio
@pytest.mark.parametrize("loader", [load_user, load_user_async])
async def test_a_flask_login_user_is_request_user_in_new_code(store_url: str | None, loader: object) -> None:
    async with client(build_app(redis_url=store_url, user_loader=loader)) as http:
        assert (await http.get("/new/whoami")).json() == {"authenticated": False, "name": ""}
        await http.post("/legacy/login/7")
        assert (await http.get("/new/whoami")).json() == {"authenticated": True, "name": "user-7"}
        await http.post("/legacy/logout")
        assert (await http.get("/new/whoami")).json() == {"authenticated": False, "name": ""}


@pytest.mark.anyio
async def test_a_user_the_loader_does_not_know_is_anonymous() -> None:
    async with client(build_app(user_loader=load_user)) as http:
        await http.post("/legacy/login/nobody")
        assert (await http.get("/new/whoami")).json() == {"authenticated": False, "name": ""}


@pytest.mark.anyio
async def test_a_login_and_logout_by_new_code_reach_flask_login(store_url: str | None) -> None:
    async with client(build_app(redis_url=store_url, user_loader=load_user)) as http:
        await http.post("/new/write/_user_id/42")
        assert (await http.get("/legacy/whoami")).json() == {"remote_user": "user-42", "user_id": "42"}
        await http.post("/new/clear")
        assert (await http.get("/legacy/whoami")).json() == {"remote_user": None, "user_id": None}


class BearerBackend(AuthenticationBackend):
    """New code's own authentication: `Authorization: Bearer NAME`."""

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        scheme, _, name = conn.headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not name:
            return None
        return AuthCredentials(["authenticated"]), SimpleUser(name)


@pytest.mark.anyio
@pytest.mark.parametrize("auth_first", [True, False])
async def test_a_user_authenticated_by_new_code_reaches_legacy_code_as_remote_user(auth_first: bool) -> None:
    app = Turnout()
    app.mount_wsgi("/legacy", legacy_app(), name="legacy")
    add_new_routes(app)
    if auth_first:  # inside the session middleware
        app.add_middleware(AuthenticationMiddleware, backend=BearerBackend())
    enable_shared_sessions(app, secret_key=SECRET, user_loader=load_user)
    if not auth_first:  # outside it
        app.add_middleware(AuthenticationMiddleware, backend=BearerBackend())
    async with client(app) as http:
        response = await http.get("/legacy/whoami", headers={"Authorization": "Bearer alice"})
        assert response.json()["remote_user"] == "alice"
        await http.post("/legacy/login/7")
        # New code's own authentication wins over the session's user.
        assert (await http.get("/new/whoami", headers={"Authorization": "Bearer alice"})).json()["name"] == "alice"
        # Without a token: outside, Starlette's middleware leaves the session's user in place; inside, it
        # runs last and says nobody (docs/sessions.md: add it after enable_shared_sessions).
        expected = "" if auth_first else "user-7"
        assert (await http.get("/new/whoami")).json()["name"] == expected
        assert (await http.get("/legacy/whoami")).json() == {"remote_user": expected or None, "user_id": "7"}


class NamedOnly(BaseUser):
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return "Named Only"


class Nameless:
    is_authenticated = True


class EmptyIdentity(NamedOnly):
    @property
    def identity(self) -> str:
        return ""


def test_the_remote_user_name_of_each_kind_of_user() -> None:
    class Anonymous(UserMixin):  # type: ignore[misc,unused-ignore]
        @property
        def is_authenticated(self) -> bool:
            return False

    assert remote_user_name(None) is None
    assert remote_user_name(Anonymous()) is None
    assert remote_user_name(SimpleUser("alice")) == "alice"
    assert remote_user_name(User("7")) == "7"  # Flask-Login's get_id()
    assert remote_user_name(NamedOnly()) == "Named Only"  # Starlette's identity is not implemented there
    assert remote_user_name(EmptyIdentity()) == "Named Only"
    assert remote_user_name(Nameless()) is None
    assert remote_user_name("bob") is None


def test_served_without_turnout_there_is_no_remote_user() -> None:
    seen: list[object] = []

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        seen.append(environ.get("REMOTE_USER"))
        start_response("204 No Content", [])
        return []

    wrapped = RemoteUserFromScope(app)
    flask_app = Flask(__name__)
    flask_app.wsgi_app = wrapped  # type: ignore[method-assign]
    assert flask_app.test_client().get("/").status_code == 204
    assert seen == [None]
