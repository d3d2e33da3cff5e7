"""`enable_shared_sessions`: the secret it refuses, the Flask apps it finds, what it installs."""

from __future__ import annotations

import logging
import sys

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from werkzeug.middleware.dispatcher import DispatcherMiddleware
from werkzeug.middleware.proxy_fix import ProxyFix

from tests.sessions.apps import SECRET, add_new_routes, legacy_app
from turnout import ConfigError, Turnout
from turnout._types import WSGIApp
from turnout.demo.shop import DEMO_SECRET_KEY
from turnout.integrations.flask_session import (
    TurnoutSessionInterface,
    flask_apps_in,
    share_flask_session,
    shared_session_of,
)
from turnout.sessions import CookieStore, FlaskCookieCodec, RemoteUserFromScope, SharedSession, enable_shared_sessions
from turnout.sessions.redis_store import RedisStore
from turnout.testing import client


def app_with(legacy: WSGIApp | None = None) -> Turnout:
    app = Turnout()
    if legacy is not None:
        app.mount_wsgi("/legacy", legacy, name="legacy")
    add_new_routes(app)
    return app


@pytest.mark.parametrize(
    "secret",
    ["", "   ", b"", None, "dev", "CHANGEME", "secret-key", DEMO_SECRET_KEY, "django-insecure-k3y&%$0123456789"],
)
def test_an_empty_or_well_known_secret_is_refused(secret: str | bytes | None) -> None:
    with pytest.raises(ConfigError) as caught:
        enable_shared_sessions(app_with(), secret_key=secret)
    message = str(caught.value)
    assert "sessions.secret_key" in message and "secrets.token_hex(32)" in message


def test_the_demo_and_tests_may_allow_their_published_secret_but_never_an_empty_one() -> None:
    store = enable_shared_sessions(app_with(), secret_key=DEMO_SECRET_KEY, allow_insecure_secret=True)
    assert isinstance(store, CookieStore)
    with pytest.raises(ConfigError, match="is empty"):
        enable_shared_sessions(app_with(), secret_key=None, allow_insecure_secret=True)


def test_a_flask_app_without_a_secret_key_gives_no_key() -> None:
    keyless = Flask(__name__)
    with pytest.raises(ConfigError, match="is empty"):
        enable_shared_sessions(app_with(keyless))


@pytest.mark.anyio
async def test_the_secret_defaults_to_the_flask_apps_with_its_fallbacks() -> None:
    old_key = "the-previous-key-0123456789abcdef"
    legacy = legacy_app()
    legacy.config["SECRET_KEY_FALLBACKS"] = [old_key]
    app = app_with(legacy)
    enable_shared_sessions(app)
    old_cookie = FlaskCookieCodec([old_key]).dumps({"colour": "green"})
    async with client(app, cookies={"session": old_cookie}) as http:
        assert (await http.get("/new/read/colour")).json() == {"value": "green"}
        assert (await http.get("/legacy/read/colour")).json() == {"value": "green"}


def test_a_flask_app_with_another_key_is_warned_about(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="turnout.sessions"):
        enable_shared_sessions(app_with(legacy_app()), secret_key="another-key-entirely-0123456789")
    assert "has another SECRET_KEY" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="turnout.sessions"):
        enable_shared_sessions(app_with(legacy_app()), secret_key="another-key", secret_key_fallbacks=[SECRET])
        enable_shared_sessions(app_with(Flask(__name__)), secret_key=SECRET)  # a Flask app without a key
    assert caplog.text == ""


def test_enabling_twice_is_a_programming_error() -> None:
    app = app_with()
    enable_shared_sessions(app, secret_key=SECRET)
    with pytest.raises(AssertionError, match="already"):
        enable_shared_sessions(app, secret_key=SECRET)


@pytest.mark.anyio
async def test_a_redis_url_gives_the_redis_store(redis_url: str) -> None:
    store = enable_shared_sessions(app_with(), secret_key=SECRET, redis_url=redis_url)
    assert isinstance(store, RedisStore) and store.legacy_codec is not None
    await store.aclose()


def test_every_mounted_flask_app_is_found_and_shared() -> None:
    direct, proxied, dispatched, inner = (legacy_app() for _ in range(4))
    dispatcher = DispatcherMiddleware(dispatched, {"/inner": ProxyFix(inner)})
    app = Turnout()
    app.mount_wsgi("/a", direct, name="a")
    app.mount_wsgi("/b", ProxyFix(proxied), name="b")
    app.mount_wsgi("/c", dispatcher, name="c")
    enable_shared_sessions(app, secret_key=SECRET)
    for flask_app in (direct, proxied, dispatched, inner):
        assert isinstance(flask_app.session_interface, TurnoutSessionInterface)
        assert isinstance(flask_app.wsgi_app, RemoteUserFromScope)


def test_the_search_for_flask_apps_is_bounded() -> None:
    class Wrapper:
        def __init__(self, app: object) -> None:
            self.app = app

    looped = Wrapper(None)
    looped.app = looped
    assert list(flask_apps_in(looped)) == []
    deep: object = legacy_app()
    for _ in range(20):
        deep = Wrapper(deep)
    assert list(flask_apps_in(deep)) == []
    assert list(flask_apps_in(lambda environ, start_response: [])) == []


def test_sharing_is_idempotent_and_refuses_a_custom_session_interface() -> None:
    flask_app = legacy_app()
    share_flask_session(flask_app)
    interface, wsgi_app = flask_app.session_interface, flask_app.wsgi_app
    share_flask_session(flask_app)
    assert (flask_app.session_interface, flask_app.wsgi_app) == (interface, wsgi_app)

    class ServerSide(SecureCookieSessionInterface):
        pass

    custom = legacy_app()
    custom.session_interface = ServerSide()
    with pytest.raises(ConfigError, match="keeps its sessions with .*ServerSide"):
        share_flask_session(custom)


def test_without_flask_there_is_nothing_to_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "turnout.integrations.flask_session")
    monkeypatch.setitem(sys.modules, "flask", None)
    store = enable_shared_sessions(app_with(), secret_key=SECRET)
    assert isinstance(store, CookieStore)


def test_served_without_turnout_a_shared_flask_app_keeps_its_own_cookie_session() -> None:
    flask_app = share_flask_session(legacy_app())
    with flask_app.test_client() as http:
        assert http.post("/write/colour/green").status_code == 204
        assert http.get_cookie("session") is not None
        assert http.get("/read/colour").json == {"value": "green"}


def test_the_shared_session_is_found_only_in_a_turnout_scope() -> None:
    shared = SharedSession()
    assert shared_session_of({}) is None
    assert shared_session_of({"asgi.scope": {}}) is None
    assert shared_session_of({"asgi.scope": {"session": {"starlette": "dict"}}}) is None
    assert shared_session_of({"asgi.scope": {"session": shared}}) is shared
    assert isinstance(shared, SessionMixin)  # for extensions that check
