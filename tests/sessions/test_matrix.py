"""The session matrix: what one side writes, the other reads, with either store.

In one request (new code runs before and after the legacy view, on the same session object),
across a redirect from one side to the other, and across separate requests.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tests.sessions.apps import SECRET, add_new_routes, build_app, legacy_app
from turnout import Turnout
from turnout.sessions import enable_shared_sessions
from turnout.sessions.state import SharedSession
from turnout.testing import client

SIDES = {"legacy": "/legacy", "new": "/new"}


async def read(http: httpx.AsyncClient, side: str, key: str) -> object:
    response = await http.get(f"{SIDES[side]}/read/{key}")
    assert response.status_code == 200
    return response.json()["value"]


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("writer", "reader"), [("legacy", "new"), ("new", "legacy"), ("legacy", "legacy"), ("new", "new")]
)
async def test_a_write_is_read_on_the_other_side_in_the_next_request(
    store_url: str | None, writer: str, reader: str
) -> None:
    async with client(build_app(redis_url=store_url)) as http:
        assert (await http.post(f"{SIDES[writer]}/write/colour/green")).status_code == 204
        assert await read(http, reader, "colour") == "green"
        assert (await http.post(f"{SIDES[reader]}/write/colour/blue")).status_code == 204
        assert await read(http, writer, "colour") == "blue"


@pytest.mark.anyio
@pytest.mark.parametrize(("writer", "reader"), [("legacy", "new"), ("new", "legacy")])
async def test_a_write_is_read_across_a_redirect_to_the_other_side(
    store_url: str | None, writer: str, reader: str
) -> None:
    async with client(build_app(redis_url=store_url), follow_redirects=True) as http:
        response = await http.post(f"{SIDES[writer]}/write/step/one?next={SIDES[reader]}/read/step")
        assert [r.status_code for r in response.history] == [303]
        assert response.url.path == f"{SIDES[reader]}/read/step"
        assert response.json() == {"value": "one"}
        # And the deletion, back the other way.
        response = await http.post(f"{SIDES[reader]}/delete/step?next={SIDES[writer]}/read/step")
        assert response.json() == {"value": None}


@pytest.mark.anyio
@pytest.mark.parametrize(("writer", "reader"), [("legacy", "new"), ("new", "legacy")])
async def test_a_clear_on_one_side_empties_the_other(store_url: str | None, writer: str, reader: str) -> None:
    async with client(build_app(redis_url=store_url)) as http:
        await http.post(f"{SIDES[reader]}/write/a/1")
        await http.post(f"{SIDES[reader]}/write/b/2")
        response = await http.post(f"{SIDES[writer]}/clear")
        assert "session=;" in response.headers["set-cookie"]
        assert await read(http, reader, "a") is None
        assert await read(http, reader, "b") is None
        await http.post(f"{SIDES[writer]}/write/c/3")
        assert await read(http, reader, "c") == "3"


class AroundTheLegacyView:
    """New code in the same request as a legacy view: writes before it, reads what it wrote after."""

    def __init__(self, app: ASGIApp, *, seen: list[object]) -> None:
        self.app = app
        self.seen = seen

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        session: SharedSession = scope["session"]
        session["before"] = "from new code"

        async def seeing(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.seen.append(session.get("colour"))
            await send(message)

        await self.app(scope, receive, seeing)


@pytest.mark.anyio
async def test_both_sides_share_one_object_within_one_request(store_url: str | None) -> None:
    app = Turnout()
    app.mount_wsgi("/legacy", legacy_app(), name="legacy")
    add_new_routes(app)
    seen: list[object] = []
    app.add_middleware(AroundTheLegacyView, seen=seen)  # added first, so it runs inside the session middleware
    enable_shared_sessions(app, secret_key=SECRET, redis_url=store_url)
    async with client(app) as http:
        # The legacy view reads what new code wrote a moment before, in the same request.
        assert (await http.get("/legacy/read/before")).json() == {"value": "from new code"}
        await http.post("/legacy/write/colour/red")
        assert seen == [None, "red"]  # new code saw the legacy write before the response left
        assert await read(http, "new", "colour") == "red"
        assert await read(http, "legacy", "before") == "from new code"
