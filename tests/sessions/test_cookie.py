"""The cookie store writes Flask's own cookie: Flask's cookies are read, and Flask reads turnout's."""

from __future__ import annotations

import datetime
import hashlib
import time

import itsdangerous
import pytest
from flask import Flask

from tests.sessions.apps import SECRET, build_app, legacy_app
from turnout.sessions.cookie import CookieStore, FlaskCookieCodec
from turnout.sessions.store import DeleteCookie, SetCookie
from turnout.testing import client


def flask_cookie(app: Flask, data: dict[str, object]) -> str:
    """The `session` cookie that Flask alone, with no turnout anywhere, sets for `data`."""
    with app.test_client() as http:
        with http.session_transaction() as flask_session:
            flask_session.update(data)
        cookie = http.get_cookie("session")
        assert cookie is not None
        return cookie.value


@pytest.mark.anyio
async def test_a_cookie_made_by_flask_alone_is_accepted(store_url: str | None) -> None:
    cookie = flask_cookie(legacy_app(), {"_user_id": "7", "cart": {"3": 1}})
    async with client(build_app(redis_url=store_url), cookies={"session": cookie}) as http:
        assert (await http.get("/new/read/_user_id")).json() == {"value": "7"}
        assert (await http.get("/legacy/whoami")).json()["user_id"] == "7"  # Flask-Login: still logged in
        assert (await http.get("/legacy/read/cart")).json() == {"value": {"3": 1}}


@pytest.mark.anyio
async def test_with_redis_a_flask_cookie_moves_to_redis_at_the_first_request(redis_url: str) -> None:
    cookie = flask_cookie(legacy_app(), {"_user_id": "7"})
    async with client(build_app(redis_url=redis_url)) as http:
        http.cookies.set("session", cookie, domain="testserver.local")
        response = await http.get("/new/read/_user_id")
        assert response.json() == {"value": "7"}
        assert FlaskCookieCodec([SECRET]).loads(http.cookies["session"]) is None  # an id now, not the data
        assert (await http.get("/legacy/read/_user_id")).json() == {"value": "7"}


@pytest.mark.anyio
async def test_flask_alone_reads_the_cookie_turnout_writes() -> None:
    async with client(build_app()) as http:
        await http.post("/new/write/colour/green")
        cookie = http.cookies["session"]
    flask_app = legacy_app()
    with flask_app.test_client() as legacy:
        legacy.set_cookie("session", cookie)
        assert legacy.get("/read/colour").json == {"value": "green"}


def test_flasks_tagged_types_survive_the_round_trip() -> None:
    codec = FlaskCookieCodec([SECRET])
    data = {"t": (1, 2), "b": b"\x00\xff", "d": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)}
    value = codec.dumps(data)
    loaded = codec.loads(value)
    assert loaded is not None and loaded[0] == data and loaded[1] < 5
    flask_app = Flask(__name__)
    flask_app.secret_key = SECRET
    request = flask_app.request_class({"HTTP_COOKIE": f"session={value}"})
    opened = flask_app.session_interface.open_session(flask_app, request)
    assert opened is not None and dict(opened) == data  # Flask reads it as its own


def test_forged_expired_and_odd_cookies_give_nothing() -> None:
    codec = FlaskCookieCodec([SECRET], max_age=60)
    assert codec.loads("not a cookie") is None
    assert codec.loads(FlaskCookieCodec(["another-key-entirely-0123456789"]).dumps({"a": 1})) is None
    signer = itsdangerous.URLSafeTimedSerializer(
        SECRET, salt="cookie-session", signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1}
    )
    assert codec.loads(signer.dumps([1, 2])) is None  # signed, but not a session
    old = FlaskCookieCodec([SECRET])
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 3600)
        expired = old.dumps({"a": 1})
    assert codec.loads(expired) is None


def test_an_old_key_is_still_read_and_new_cookies_use_the_new_one() -> None:
    old_key, new_key = "the-old-key-0123456789abcdef", "the-new-key-0123456789abcdef"
    from_before = FlaskCookieCodec([old_key]).dumps({"a": 1})
    codec = FlaskCookieCodec([old_key, new_key])
    assert codec.loads(from_before) is not None
    assert FlaskCookieCodec([new_key]).loads(codec.dumps({"a": 1})) is not None


@pytest.mark.anyio
async def test_the_cookie_store_writes_only_what_changed_or_is_getting_old() -> None:
    codec = FlaskCookieCodec([SECRET], max_age=100)
    store = CookieStore(codec)
    fresh = await store.load(codec.dumps({"a": 1}))
    assert fresh["a"] == 1 and await store.save(fresh) is None
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(itsdangerous.TimestampSigner, "get_timestamp", lambda self: int(time.time()) - 60)
        aging = codec.dumps({"a": 1})
    stale = await store.load(aging)
    assert stale.stale
    update = await store.save(stale)
    assert isinstance(update, SetCookie)
    signed_again = codec.loads(update.value)
    assert signed_again is not None and signed_again[0] == {"a": 1} and signed_again[1] < 5
    emptied = await store.load(codec.dumps({"a": 1}))
    del emptied["a"]
    assert isinstance(await store.save(emptied), DeleteCookie)
    assert (await store.load(None)).is_empty() and (await store.load("")).is_empty()
    assert (await store.load("forged.value.sig")).is_empty()
    await store.aclose()
