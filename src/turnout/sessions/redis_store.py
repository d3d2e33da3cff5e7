"""The server-side store: each session is a Redis hash, and the cookie holds only its id, signed.

For deployments with several workers or hosts. Each key of the session is a field of the hash,
its value in Flask's tagged JSON, so a save merges field by field inside one `MULTI`:
`HSET` for the keys the request set, `HDEL` for those it deleted, and nothing for the keys it
only read. Two requests of one visitor that run at the same time each apply their own changes;
neither writes back a key the other deleted.

A clear (a logout) and `rotate()` (a login) move the session to a new id, and the old id then
points to nothing: an id planted in a browser before the login is worth nothing afterwards.
A cookie in Flask's own format, from before the switch to Redis, is read once and its data moved
to Redis at the first save, so nobody is logged out by the switch.

Needs Redis 6.2 or later (`COPY`).
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from itsdangerous import BadSignature, Signer
from redis.asyncio import Redis

from turnout.exceptions import ConfigError
from turnout.sessions.cookie import DEFAULT_MAX_AGE, FlaskCookieCodec
from turnout.sessions.serializer import Serializer, default_serializer
from turnout.sessions.state import SharedSession
from turnout.sessions.store import CookieUpdate, DeleteCookie, SetCookie

ID_SALT = "turnout.session-id"
KEY_PREFIX = "turnout:session:"


class RedisStore:
    """Sessions in Redis, at `redis_url`; the cookie holds a signed random id.

    ```python
    store = RedisStore("redis://127.0.0.1:6379/0", secret_keys=[SECRET_KEY])
    ```
    A session expires `max_age` seconds after its last save; one used when more than half of
    that has passed gets its expiry pushed back.
    """

    def __init__(
        self,
        redis_url: str | None = None,
        *,
        secret_keys: Sequence[str | bytes],
        max_age: int = DEFAULT_MAX_AGE,
        serializer: Serializer | None = None,
        key_prefix: str = KEY_PREFIX,
        legacy_codec: FlaskCookieCodec | None = None,
        client: Redis | None = None,
    ) -> None:
        assert (redis_url is None) != (client is None), "RedisStore takes a redis_url or a client, not both"
        assert secret_keys, "RedisStore needs at least one secret key"
        if client is None:
            try:
                client = Redis.from_url(str(redis_url), decode_responses=True)
            except ValueError as exc:
                raise ConfigError(
                    f"{redis_url!r} is not a Redis URL ({exc})",
                    key="sessions.redis_url",
                    fix="write it as redis://HOST:PORT/DB, for example redis://127.0.0.1:6379/0",
                ) from None
            self._owns_client = True
        else:
            self._owns_client = False
        self.client = client
        self.max_age = max_age
        self.serializer = serializer if serializer is not None else default_serializer()
        self.key_prefix = key_prefix
        self.legacy_codec = legacy_codec
        keys = [key.encode("utf-8") if isinstance(key, str) else key for key in secret_keys]
        self._signer = Signer(keys, salt=ID_SALT, key_derivation="hmac", digest_method=hashlib.sha256)

    def _key(self, session_id: str) -> str:
        return self.key_prefix + session_id

    def _unsign(self, cookie: str) -> str | None:
        try:
            return self._signer.unsign(cookie).decode("ascii")
        except (BadSignature, UnicodeDecodeError):
            return None

    async def load(self, cookie: str | None) -> SharedSession:
        if cookie:
            session_id = self._unsign(cookie)
            if session_id is not None:
                key = self._key(session_id)
                async with self.client.pipeline(transaction=False) as pipe:
                    pipe.hgetall(key)
                    pipe.ttl(key)
                    fields, ttl = await pipe.execute()
                if fields:
                    data = {name: self.serializer.loads(text) for name, text in fields.items()}
                    stale = 0 <= ttl < self.max_age / 2
                    return SharedSession(data, serializer=self.serializer, session_id=session_id, stale=stale)
            elif self.legacy_codec is not None:
                legacy = self.legacy_codec.loads(cookie)
                if legacy is not None:
                    # A Flask cookie from before the switch: every key counts as set, so it moves to Redis.
                    return SharedSession(legacy[0], serializer=self.serializer, changed=legacy[0])
        return SharedSession(serializer=self.serializer)

    async def save(self, session: SharedSession) -> CookieUpdate:
        changes = session.changes()
        old_id = session.session_id
        if not changes:
            if session.stale and old_id is not None:
                await self.client.expire(self._key(old_id), self.max_age)
                return SetCookie(self._signer.sign(old_id).decode("ascii")) if session.permanent else None
            return None
        session_id = old_id if old_id is not None and not changes.rotate else secrets.token_urlsafe(32)
        key = self._key(session_id)
        async with self.client.pipeline(transaction=True) as pipe:
            if old_id is not None and session_id != old_id:
                if not changes.cleared:
                    pipe.copy(self._key(old_id), key)
                pipe.delete(self._key(old_id))
            if changes.deleted:
                pipe.hdel(key, *changes.deleted)
            if changes.updated:
                pipe.hset(key, mapping={name: self.serializer.dumps(value) for name, value in changes.updated.items()})
            pipe.expire(key, self.max_age)
            await pipe.execute()
        session.session_id = session_id
        if session.is_empty():
            # A clear (a logout) takes the cookie away. A session emptied key by key keeps its id:
            # a request of the same visitor running at this moment may still write under it.
            return DeleteCookie() if changes.cleared else None
        if session_id != old_id or session.permanent:
            return SetCookie(self._signer.sign(session_id).decode("ascii"))
        return None

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()


__all__ = ["ID_SALT", "KEY_PREFIX", "RedisStore"]
