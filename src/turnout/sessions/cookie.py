"""The default store: the whole session in a signed cookie, in Flask's own format.

The cookie is what Flask's `SecureCookieSessionInterface` writes: itsdangerous
`URLSafeTimedSerializer`, salt `cookie-session`, key derivation `hmac`, digest SHA-1, and
Flask's tagged JSON, signed with the legacy app's `SECRET_KEY`. So a visitor logged in to the
legacy app before the switch to turnout stays logged in, and a cookie turnout writes is one
Flask itself could read.

A cookie carries all of the session, so the browser keeps whichever response came last: a
request that changes nothing never sends the cookie (it could only send back what it read),
but two requests that both change the session race. The Redis store merges key by key.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

from turnout.sessions.serializer import Serializer, default_serializer
from turnout.sessions.state import SharedSession
from turnout.sessions.store import CookieUpdate, DeleteCookie, SetCookie

FLASK_SALT = "cookie-session"
DEFAULT_MAX_AGE = 31 * 24 * 3600
"""Flask's `PERMANENT_SESSION_LIFETIME`: 31 days."""


class FlaskCookieCodec:
    """Signs a session into a cookie value and back, exactly as Flask does.

    ```python
    codec = FlaskCookieCodec([flask_app.secret_key], max_age=31 * 24 * 3600)
    value = codec.dumps({"_user_id": "42"})        # what Flask would put in its `session` cookie
    codec.loads(value)                             # ({"_user_id": "42"}, age in seconds)
    ```
    `secret_keys` lists the current key last, with older keys before it (Flask's
    `SECRET_KEY_FALLBACKS`): cookies signed with any of them are read, new ones use the last.
    """

    def __init__(
        self,
        secret_keys: Sequence[str | bytes],
        *,
        max_age: int = DEFAULT_MAX_AGE,
        serializer: Serializer | None = None,
        salt: str = FLASK_SALT,
    ) -> None:
        assert secret_keys, "FlaskCookieCodec needs at least one secret key"
        self.max_age = max_age
        self.serializer = serializer if serializer is not None else default_serializer()
        keys = [key.encode("utf-8") if isinstance(key, str) else key for key in secret_keys]
        self._signer = URLSafeTimedSerializer(
            keys,
            salt=salt,
            serializer=self.serializer,
            signer_kwargs={"key_derivation": "hmac", "digest_method": hashlib.sha1},
        )

    def dumps(self, data: Mapping[str, Any]) -> str:
        value: str = self._signer.dumps(dict(data))
        return value

    def loads(self, value: str) -> tuple[dict[str, Any], float] | None:
        """The session in `value` and its age in seconds; `None` if forged, expired or not a session."""
        try:
            data, signed_at = self._signer.loads(value, max_age=self.max_age, return_timestamp=True)
        except BadData:
            return None
        if not isinstance(data, dict):
            return None
        return data, max(0.0, time.time() - signed_at.timestamp())


class CookieStore:
    """Keeps the session in the cookie itself, in Flask's format (see `FlaskCookieCodec`).

    A cookie older than half of `max_age` is signed again when the session is next used, so an
    active visitor is not logged out when the first signature expires.
    """

    def __init__(self, codec: FlaskCookieCodec) -> None:
        self.codec = codec

    async def load(self, cookie: str | None) -> SharedSession:
        serializer = self.codec.serializer
        if cookie:
            loaded = self.codec.loads(cookie)
            if loaded is not None:
                data, age = loaded
                return SharedSession(data, serializer=serializer, stale=age > self.codec.max_age / 2)
        return SharedSession(serializer=serializer)

    async def save(self, session: SharedSession) -> CookieUpdate:
        if not (session.changes() or session.stale):
            return None
        data = session.as_dict()
        if not data:
            return DeleteCookie()
        return SetCookie(self.codec.dumps(data))

    async def aclose(self) -> None:
        return None


__all__ = ["DEFAULT_MAX_AGE", "FLASK_SALT", "CookieStore", "FlaskCookieCodec"]
