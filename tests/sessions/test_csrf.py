"""Flask-WTF's CSRF token lives in the session: a form from one side posts to the other."""

from __future__ import annotations

import time
from urllib.parse import parse_qs

import itsdangerous
import pytest
from flask import Flask
from flask_wtf.csrf import CSRFProtect, generate_csrf  # type: ignore[import-untyped,unused-ignore]
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from tests.sessions.apps import SECRET, add_new_routes
from turnout import Turnout
from turnout.integrations import wtf_csrf
from turnout.sessions import SharedSession, enable_shared_sessions
from turnout.testing import client


def protected_legacy_app() -> Flask:
    app = Flask(__name__)
    app.config.update(SECRET_KEY=SECRET)
    CSRFProtect(app)

    @app.get("/form")
    def form() -> str:
        return str(generate_csrf())

    @app.post("/submit")
    def submit() -> str:
        return "accepted"

    return app


async def new_token(request: Request) -> Response:
    return PlainTextResponse(wtf_csrf.generate_csrf(request.session, secret_key=SECRET))


async def new_check(request: Request) -> Response:
    token = parse_qs((await request.body()).decode()).get("csrf_token", [None])[0]
    return JSONResponse({"valid": wtf_csrf.validate_csrf(request.session, token, secret_key=SECRET)})


def build(store_url: str | None) -> Turnout:
    app = Turnout()
    app.mount_wsgi("/legacy", protected_legacy_app(), name="legacy")
    add_new_routes(app)
    app.add_route("/new/token", new_token, methods=["GET"], name="token")
    app.add_route("/new/check", new_check, methods=["POST"], name="check")
    enable_shared_sessions(app, secret_key=SECRET, redis_url=store_url)
    return app


@pytest.mark.anyio
async def test_a_legacy_form_posts_after_new_code_wrote_the_session(store_url: str | None) -> None:
    async with client(build(store_url)) as http:
        token = (await http.get("/legacy/form")).text
        await http.post("/new/write/colour/green")  # new code's write keeps the CSRF value
        assert (await http.post("/legacy/submit")).status_code == 400
        response = await http.post("/legacy/submit", data={"csrf_token": token})
        assert (response.status_code, response.text) == (200, "accepted")


@pytest.mark.anyio
async def test_a_token_from_new_code_is_accepted_by_flask_wtf_and_back(store_url: str | None) -> None:
    async with client(build(store_url)) as http:
        new = (await http.get("/new/token")).text
        assert (await http.post("/legacy/submit", data={"csrf_token": new})).text == "accepted"
        legacy = (await http.get("/legacy/form")).text
        assert (await http.post("/new/check", data={"csrf_token": legacy})).json() == {"valid": True}
        assert (await http.post("/new/check", data={"csrf_token": "forged"})).json() == {"valid": False}
        assert (await http.post("/new/check")).json() == {"valid": False}


def test_validate_csrf_refuses_what_flask_wtf_refuses() -> None:
    session = SharedSession()
    assert not wtf_csrf.validate_csrf(session, "anything", secret_key=SECRET)  # no value in the session
    token = wtf_csrf.generate_csrf(session, secret_key=SECRET)
    assert wtf_csrf.generate_csrf(session, secret_key=SECRET) != "" and session["csrf_token"]
    assert wtf_csrf.validate_csrf(session, token, secret_key=SECRET)
    assert not wtf_csrf.validate_csrf(session, token, secret_key="another-secret-key-0123456789")
    other = SharedSession()
    assert not wtf_csrf.validate_csrf(other, token, secret_key=SECRET)  # no value in that session
    wtf_csrf.generate_csrf(other, secret_key=SECRET)
    assert not wtf_csrf.validate_csrf(other, token, secret_key=SECRET)  # another session's value
    serializer = itsdangerous.URLSafeTimedSerializer(SECRET, salt=wtf_csrf.SALT)
    assert not wtf_csrf.validate_csrf(session, serializer.dumps(["not", "a", "str"]), secret_key=SECRET)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 7200)
        expired = wtf_csrf.generate_csrf(session, secret_key=SECRET)
    assert not wtf_csrf.validate_csrf(session, expired, secret_key=SECRET)
    assert wtf_csrf.validate_csrf(session, expired, secret_key=SECRET, time_limit=None)
