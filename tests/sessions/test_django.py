"""The session matrix with Django: its `request.session` (turnout's engine) and new code's are one session."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from django.core.handlers.wsgi import WSGIHandler  # type: ignore[import-untyped,unused-ignore]
from starlette.authentication import SimpleUser

from tests.sessions.apps import SECRET, add_new_routes
from tests.sessions.django_site import django_settings
from turnout import Turnout
from turnout.integrations.django_session import SessionStore
from turnout.sessions import RemoteUserFromScope, SharedSession, current_session, enable_shared_sessions
from turnout.testing import client

SIDES = {"django": "/django", "new": "/new"}


@pytest.fixture
def django_app(store_url: str | None) -> Iterator[Turnout]:
    with django_settings():
        app = Turnout()
        app.mount_wsgi("/django", RemoteUserFromScope(WSGIHandler()), name="django")
        add_new_routes(app)
        enable_shared_sessions(app, secret_key=SECRET, redis_url=store_url, user_loader=SimpleUser)
        yield app


async def read(http: httpx.AsyncClient, side: str, key: str) -> object:
    response = await http.get(f"{SIDES[side]}/read/{key}")
    assert response.status_code == 200
    return response.json()["value"]


@pytest.mark.anyio
@pytest.mark.parametrize(("writer", "reader"), [("django", "new"), ("new", "django")])
async def test_a_write_is_read_on_the_other_side(django_app: Turnout, writer: str, reader: str) -> None:
    async with client(django_app) as http:
        response = await http.post(f"{SIDES[writer]}/write/colour/green")
        assert response.status_code == 204
        assert await read(http, reader, "colour") == "green"
        await http.post(f"{SIDES[reader]}/delete/colour")
        assert await read(http, writer, "colour") is None


@pytest.mark.anyio
@pytest.mark.parametrize(("writer", "reader"), [("django", "new"), ("new", "django")])
async def test_a_write_is_read_across_a_redirect(django_app: Turnout, writer: str, reader: str) -> None:
    async with client(django_app, follow_redirects=True) as http:
        response = await http.post(f"{SIDES[writer]}/write/step/one?next={SIDES[reader]}/read/step")
    assert [r.status_code for r in response.history] == [303 if writer == "new" else 302]
    assert response.json() == {"value": "one"}


@pytest.mark.anyio
async def test_djangos_own_session_cookie_never_reaches_the_client(django_app: Turnout) -> None:
    async with client(django_app) as http:
        response = await http.post("/django/write/colour/green")
        cookies = response.headers.get_list("set-cookie")
        assert len(cookies) == 1
        assert cookies[0].startswith("session=")
        assert "vary" in response.headers


@pytest.mark.anyio
async def test_a_django_logout_empties_the_session_for_new_code(django_app: Turnout) -> None:
    async with client(django_app) as http:
        await http.post("/new/write/_user_id/alice")
        assert (await http.get("/new/whoami")).json() == {"authenticated": True, "name": "alice"}
        response = await http.post("/django/flush")
        assert response.headers["set-cookie"].startswith("session=;")
        assert await read(http, "new", "_user_id") is None
        assert (await http.get("/new/whoami")).json() == {"authenticated": False, "name": ""}


@pytest.mark.anyio
async def test_a_django_login_gives_the_session_a_new_id(django_app: Turnout, store_url: str | None) -> None:
    async with client(django_app) as http:
        await http.post("/new/write/cart/3")
        before = http.cookies["session"]
        first = (await http.post("/django/cycle")).json()["session_key"]
        after = http.cookies["session"]
        assert await read(http, "django", "cart") == "3"
    if store_url is None:
        assert first is None  # the cookie store has no ids
    else:
        assert first is not None and before != after  # cycle_key() moved the data to a new id


@pytest.mark.anyio
async def test_new_codes_user_reaches_django_as_remote_user(django_app: Turnout) -> None:
    async with client(django_app) as http:
        assert (await http.get("/django/whoami")).json() == {"remote_user": None}
        await http.post("/new/write/_user_id/alice")
        assert (await http.get("/django/whoami")).json() == {"remote_user": "alice"}


@pytest.mark.anyio
async def test_djangos_csrf_token_in_the_session_works_across_sides(django_app: Turnout) -> None:
    async with client(django_app) as http:
        token = (await http.get("/django/csrf")).json()["token"]
        assert await read(http, "new", "_csrftoken") is not None  # CSRF_USE_SESSIONS keeps it in the session
        await http.post("/new/write/colour/green")  # new code writing the session keeps it
        refused = await http.post("/django/protected")
        accepted = await http.post("/django/protected", headers={"X-CSRFToken": token})
    assert refused.status_code == 403
    assert (accepted.status_code, accepted.text) == (200, "accepted")


def test_outside_a_turnout_request_the_engine_has_a_session_of_its_own() -> None:
    with django_settings():
        store = SessionStore("ignored")
        assert store.session_key is None
        store["colour"] = "green"
        assert store["colour"] == "green" and store.load() == {"colour": "green"}
        assert not store.modified and not store.is_empty() and store.accessed
        assert not store.exists("anything")
        store.create()
        store.save()
        store.delete()
        store.cycle_key()
        store.flush()
        assert store.load() == {}
        SessionStore.clear_expired()
        assert SessionStore().load() == {}  # nothing was kept


@pytest.mark.anyio
async def test_the_engine_uses_the_requests_shared_session_sync_and_async() -> None:
    shared = SharedSession({"colour": "green"}, session_id="abc")
    token = current_session.set(shared)
    try:
        with django_settings():
            store = SessionStore()
            assert store.session_key == "abc" and store._session_key == "abc"
            assert await store.aget("colour") == "green"
            await store.aset("size", "large")
            await store.acycle_key()
            assert shared.changes().rotate
            await store.aflush()
    finally:
        current_session.reset(token)
    assert shared.changes().cleared and shared.is_empty()
