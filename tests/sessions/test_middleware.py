"""What the browser gets: one `Set-Cookie` for the session, with safe flags, only when something changed."""

from __future__ import annotations

import logging
import secrets
import time
from typing import Any

import httpx
import itsdangerous
import pytest
from starlette.types import Message, Receive, Scope, Send

from tests.sessions.apps import SECRET, add_new_routes, build_app, legacy_app
from turnout import Turnout
from turnout.lifespan import Lifespan
from turnout.sessions import (
    CookieStore,
    FlaskCookieCodec,
    SharedSession,
    SharedSessionMiddleware,
    enable_shared_sessions,
)
from turnout.sessions.middleware import COOKIE_LIMIT
from turnout.sessions.store import CookieUpdate
from turnout.testing import client


def attributes(set_cookie: str) -> dict[str, str]:
    """The attributes of a `Set-Cookie` value, by lower-case name."""
    parts = [part.strip() for part in set_cookie.split(";")[1:]]
    return {name.lower(): value for name, _, value in (part.partition("=") for part in parts)}


@pytest.mark.anyio
async def test_the_cookie_is_httponly_and_samesite_lax_and_not_secure_over_http() -> None:
    async with client(build_app()) as http:
        response = await http.post("/legacy/write/a/1")
    [cookie] = response.headers.get_list("set-cookie")
    assert attributes(cookie) == {"path": "/", "httponly": "", "samesite": "Lax"}
    assert "expires" not in attributes(cookie)  # a browser-session cookie, as Flask's is unless permanent
    assert response.headers["vary"] == "Cookie"


@pytest.mark.anyio
async def test_the_cookie_is_secure_over_https() -> None:
    async with client(build_app(), base_url="https://testserver") as http:
        response = await http.post("/new/write/a/1")
        deleted = await http.post("/new/clear")
    assert "secure" in attributes(response.headers["set-cookie"])
    assert "secure" in attributes(deleted.headers["set-cookie"])


@pytest.mark.anyio
@pytest.mark.parametrize(("peer", "secure"), [("127.0.0.1", True), ("203.0.113.9", False)])
async def test_https_at_a_trusted_proxy_makes_the_cookie_secure(peer: str, secure: bool) -> None:
    app = build_app()
    transport = httpx.ASGITransport(app=app, client=(peer, 4000))
    async with Lifespan(app), httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.post("/new/write/a/1", headers={"X-Forwarded-Proto": "https"})
    assert ("secure" in attributes(response.headers["set-cookie"])) is secure


@pytest.mark.anyio
async def test_cookie_options() -> None:
    app = build_app(secure=True, domain="example.test", path="/app", same_site="strict", cookie_name="sid")
    async with client(app) as http:
        response = await http.post("/new/write/a/1")
    assert response.headers["set-cookie"].startswith("sid=")
    assert attributes(response.headers["set-cookie"]) == {
        "path": "/app",
        "domain": "example.test",
        "secure": "",
        "httponly": "",
        "samesite": "Strict",
    }


@pytest.mark.anyio
async def test_a_permanent_session_has_an_expiry() -> None:
    async with client(build_app(max_age=3600)) as http:
        response = await http.post("/new/write/_permanent/yes")
    found = attributes(response.headers["set-cookie"])
    assert found["max-age"] == "3600" and found["expires"].endswith("GMT")


@pytest.mark.anyio
async def test_a_request_that_changes_nothing_sends_no_cookie(store_url: str | None) -> None:
    async with client(build_app(redis_url=store_url)) as http:
        await http.post("/new/write/a/1")
        for path in ("/new/read/a", "/legacy/read/a"):
            response = await http.get(path)
            assert "set-cookie" not in response.headers
            assert response.headers["vary"] == "Cookie"


@pytest.mark.anyio
async def test_a_response_that_never_looked_at_the_session_does_not_vary() -> None:
    async with client(build_app()) as http:
        response = await http.get("/new/nowhere")
    assert response.status_code == 404
    assert "vary" not in response.headers


@pytest.mark.anyio
async def test_an_emptied_session_deletes_the_cookie_only_if_there_was_one() -> None:
    async with client(build_app()) as http:
        assert "set-cookie" not in (await http.post("/new/clear")).headers  # nothing to delete
        await http.post("/new/write/a/1")
        response = await http.post("/legacy/delete/a")
    assert attributes(response.headers["set-cookie"])["max-age"] == "0"
    assert response.headers["set-cookie"].startswith("session=;")


@pytest.mark.anyio
async def test_a_legacy_apps_own_session_cookie_is_dropped_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    app = Turnout()
    add_new_routes(app)
    enable_shared_sessions(app, secret_key=SECRET)
    app.mount_wsgi("/late", legacy_app(), name="late")  # mounted after: its session was not shared
    with caplog.at_level(logging.WARNING, logger="turnout.sessions"):
        async with client(app) as http:
            first = await http.post("/late/write/a/1")
            await http.post("/late/write/b/2")
    assert "set-cookie" not in first.headers
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 1 and "share_flask_session" in warnings[0]


@pytest.mark.anyio
async def test_other_vary_values_are_kept() -> None:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope["session"]["a"] = 1
        headers = [(b"vary", scope["path"][1:].encode()), (b"set-cookie", b"other=1")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b""})

    wrapped = SharedSessionMiddleware(app, store=CookieStore(FlaskCookieCodec([SECRET])))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as http:
        assert (await http.get("/Accept")).headers["vary"] == "Accept, Cookie"
        assert (await http.get("/cookie")).headers["vary"] == "cookie"
        assert (await http.get("/*")).headers["vary"] == "*"
        assert "other=1" in (await http.get("/Accept")).headers.get_list("set-cookie")


@pytest.mark.anyio
async def test_a_cookie_too_large_for_browsers_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    async with client(build_app()) as http:
        with caplog.at_level(logging.WARNING, logger="turnout.sessions"):
            await http.post("/new/write/big/" + secrets.token_hex(COOKIE_LIMIT))  # random: it does not compress
    assert "browsers drop cookies over 4093" in caplog.text


@pytest.mark.anyio
async def test_the_cookie_is_read_as_werkzeug_reads_it() -> None:
    codec = FlaskCookieCodec([SECRET])
    seen: list[Any] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope["session"].as_dict())
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    wrapped = SharedSessionMiddleware(app, store=CookieStore(codec))
    first, second = codec.dumps({"n": 1}), codec.dumps({"n": 2})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=wrapped), base_url="http://t") as http:
        await http.get("/", headers={"Cookie": f"other=x; session={first}; session={second}"})
        await http.get("/", headers={"Cookie": "sessionx=1; other"})
    assert seen == [{"n": 1}, {}]


class RecordingStore(CookieStore):
    def __init__(self) -> None:
        super().__init__(FlaskCookieCodec([SECRET]))
        self.closed = 0

    async def save(self, session: SharedSession) -> CookieUpdate:
        raise AssertionError("a websocket's session is never saved")

    async def aclose(self) -> None:
        self.closed += 1


@pytest.mark.anyio
async def test_a_websocket_gets_the_session_and_the_store_closes_at_shutdown() -> None:
    store = RecordingStore()
    seen: list[object] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return
        seen.append(scope["session"].get("a"))
        await send({"type": "websocket.close", "code": 1000})

    wrapped = SharedSessionMiddleware(app, store=store)
    cookie = store.codec.dumps({"a": 1})
    sent: list[Message] = []

    async def receive() -> Message:
        raise AssertionError("not reached")

    async def send(message: Message) -> None:
        sent.append(message)

    scope = {"type": "websocket", "path": "/", "headers": [(b"cookie", f"session={cookie}".encode())]}
    async with Lifespan(wrapped):
        await wrapped(scope, receive, send)
    assert seen == [1] and sent == [{"type": "websocket.close", "code": 1000}]
    assert store.closed == 1


@pytest.mark.anyio
async def test_a_cookie_past_half_its_life_is_signed_again_even_by_a_request_that_never_reads_it() -> None:
    codec = FlaskCookieCodec([SECRET], max_age=100)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 60)
        aging = codec.dumps({"a": "1"})
    async with client(build_app(max_age=100)) as http:
        http.cookies.set("session", aging, domain="testserver.local")
        response = await http.get("/new/nowhere")
        assert response.status_code == 404
        fresh = http.cookies["session"]
        assert fresh != aging and codec.loads(fresh) is not None
        assert "set-cookie" not in (await http.get("/new/nowhere")).headers
