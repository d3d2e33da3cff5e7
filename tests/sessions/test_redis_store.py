"""The Redis store against a real `redis-server`: saves merge key by key, ids move on login and logout."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from tests.sessions.apps import SECRET
from turnout.exceptions import ConfigError
from turnout.sessions.cookie import FlaskCookieCodec
from turnout.sessions.redis_store import KEY_PREFIX, RedisStore
from turnout.sessions.store import DeleteCookie, SetCookie

MAX_AGE = 1000


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def store(redis_client: Redis) -> RedisStore:
    return RedisStore(client=redis_client, secret_keys=[SECRET], max_age=MAX_AGE)


async def stored(client: Redis) -> dict[str, dict[str, str]]:
    """Every session in Redis, by id, as raw fields."""
    keys: list[str] = [key async for key in client.scan_iter(KEY_PREFIX + "*")]
    found: dict[str, dict[str, str]] = {}
    for key in keys:
        fields = await client.hgetall(key)
        found[key.removeprefix(KEY_PREFIX)] = {str(name): str(value) for name, value in fields.items()}
    return found


async def new_cookie(store: RedisStore, **data: object) -> str:
    session = await store.load(None)
    session.update(data)
    update = await store.save(session)
    assert isinstance(update, SetCookie)
    return update.value


@pytest.mark.anyio
async def test_concurrent_saves_merge_and_never_bring_back_a_deleted_key(
    store: RedisStore, redis_client: Redis
) -> None:
    cookie = await new_cookie(store, x=1, kept=2, cart={"1": 1})
    first, second = await store.load(cookie), await store.load(cookie)  # two requests at once
    del first["x"]
    first["cart"]["1"] = 5  # in place
    assert await store.save(first) is None  # same id, not permanent: the cookie stays as it is
    second["y"] = 3  # this request still holds x, read before the delete
    assert second["x"] == 1
    assert await store.save(second) is None
    final = await store.load(cookie)
    assert final.as_dict() == {"kept": 2, "cart": {"1": 5}, "y": 3}
    [(_, fields)] = (await stored(redis_client)).items()
    assert fields["y"] == "3"  # one field per key, in Flask's tagged JSON


@pytest.mark.anyio
async def test_a_session_expires_max_age_after_its_last_save(store: RedisStore, redis_client: Redis) -> None:
    await new_cookie(store, a=1)
    [session_id] = await stored(redis_client)
    assert MAX_AGE - 5 <= await redis_client.ttl(KEY_PREFIX + session_id) <= MAX_AGE


@pytest.mark.anyio
async def test_a_session_used_past_half_its_life_gets_its_expiry_pushed_back(
    store: RedisStore, redis_client: Redis
) -> None:
    cookie = await new_cookie(store, a=1)
    [session_id] = await stored(redis_client)
    await redis_client.expire(KEY_PREFIX + session_id, MAX_AGE // 4)
    session = await store.load(cookie)
    assert session.stale
    assert await store.save(session) is None  # a browser-session cookie needs nothing new
    assert await redis_client.ttl(KEY_PREFIX + session_id) > MAX_AGE // 2
    permanent_cookie = await new_cookie(store, _permanent=True)
    [permanent_id] = set(await stored(redis_client)) - {session_id}
    await redis_client.expire(KEY_PREFIX + permanent_id, MAX_AGE // 4)
    update = await store.save(await store.load(permanent_cookie))
    assert update == SetCookie(permanent_cookie)  # sent again, so the browser keeps it longer too
    unchanged = await store.load(permanent_cookie)
    assert not unchanged.stale and await store.save(unchanged) is None


@pytest.mark.anyio
async def test_a_permanent_session_sends_its_cookie_with_every_change(store: RedisStore) -> None:
    cookie = await new_cookie(store, _permanent=True)
    session = await store.load(cookie)
    session["a"] = 1
    assert await store.save(session) == SetCookie(cookie)


@pytest.mark.anyio
async def test_a_login_moves_the_session_to_a_new_id(store: RedisStore, redis_client: Redis) -> None:
    cookie = await new_cookie(store, cart={"1": 2})
    [old_id] = await stored(redis_client)
    session = await store.load(cookie)
    session.rotate()
    session["_user_id"] = "7"
    update = await store.save(session)
    assert isinstance(update, SetCookie) and update.value != cookie
    assert old_id not in await stored(redis_client)
    assert (await store.load(cookie)).is_empty()  # the old id is worth nothing now
    assert (await store.load(update.value)).as_dict() == {"cart": {"1": 2}, "_user_id": "7"}


@pytest.mark.anyio
async def test_a_logout_drops_everything_under_a_new_id(store: RedisStore, redis_client: Redis) -> None:
    cookie = await new_cookie(store, _user_id="7", cart={"1": 2})
    session = await store.load(cookie)
    session.clear()
    assert isinstance(await store.save(session), DeleteCookie)
    assert await stored(redis_client) == {}
    cookie = await new_cookie(store, _user_id="7")
    session = await store.load(cookie)
    session.clear()
    session["flash"] = "bye"
    update = await store.save(session)
    assert isinstance(update, SetCookie) and update.value != cookie
    assert [fields for fields in (await stored(redis_client)).values()] == [{"flash": '"bye"'}]


@pytest.mark.anyio
async def test_a_session_emptied_key_by_key_keeps_its_cookie(store: RedisStore, redis_client: Redis) -> None:
    cookie = await new_cookie(store, a=1)
    session = await store.load(cookie)
    del session["a"]
    assert await store.save(session) is None  # another request may still write under this id
    assert await stored(redis_client) == {}
    late = await store.load(cookie)
    late["b"] = 2
    update = await store.save(late)
    assert isinstance(update, SetCookie) and update.value != cookie  # an id with nothing stored is not taken up


@pytest.mark.anyio
async def test_nothing_is_stored_for_a_visitor_who_stores_nothing(store: RedisStore, redis_client: Redis) -> None:
    session = await store.load(None)
    assert session.get("a") is None
    assert await store.save(session) is None
    assert await stored(redis_client) == {}


@pytest.mark.anyio
async def test_unknown_forged_and_legacy_cookies(store: RedisStore, redis_client: Redis) -> None:
    cookie = await new_cookie(store, a=1)
    await redis_client.flushdb()  # expired, or never existed
    unknown = await store.load(cookie)
    assert unknown.is_empty()
    unknown["b"] = 2
    update = await store.save(unknown)
    assert isinstance(update, SetCookie) and update.value != cookie  # an unknown id is never taken up
    assert (await store.load(cookie[:-2] + "xx")).is_empty()
    assert (await store.load("no signature at all")).is_empty()
    flask_cookie = FlaskCookieCodec([SECRET]).dumps({"a": 1})
    assert (await store.load(flask_cookie)).is_empty()  # this store was made without a legacy codec
    migrating = RedisStore(client=redis_client, secret_keys=[SECRET], legacy_codec=FlaskCookieCodec([SECRET]))
    assert (await migrating.load(flask_cookie)).changes().updated == {"a": 1}
    assert (await migrating.load("forged.cookie.value")).is_empty()


@pytest.mark.anyio
async def test_values_keep_their_python_types(store: RedisStore) -> None:
    cookie = await new_cookie(store, pair=(1, 2), raw=b"\x00")
    assert (await store.load(cookie)).as_dict() == {"pair": (1, 2), "raw": b"\x00"}


@pytest.mark.anyio
async def test_the_store_closes_only_the_client_it_made(redis_url: str, redis_client: Redis) -> None:
    await RedisStore(client=redis_client, secret_keys=[SECRET]).aclose()
    assert await redis_client.ping()
    own = RedisStore(redis_url, secret_keys=[SECRET])
    assert (await own.load(None)).is_empty()
    await own.aclose()


def test_a_redis_url_that_is_not_one_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"'http://127.0.0.1:6379' is not a Redis URL") as caught:
        RedisStore("http://127.0.0.1:6379", secret_keys=[SECRET])
    assert "redis://127.0.0.1:6379/0" in str(caught.value)
