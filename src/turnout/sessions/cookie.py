"""The default store: the whole session in a signed cookie, in Flask's own format.

The cookie is what Flask's `SecureCookieSessionInterface` writes: itsdangerous
`URLSafeTimedSerializer`, salt `cookie-session`, key derivation `hmac`, digest SHA-1, and
Flask's tagged JSON, signed with the legacy app's `SECRET_KEY`. So a visitor logged in to the
legacy app before the switch to turnout stays logged in, and a cookie turnout writes is one
Flask itself could read.

A cookie carries all of the session, and the browser keeps whichever response came last. A
request that changes nothing never sends the cookie (it could only send back what it read).
When two requests of one visitor both change the session at the same time, the store merges
them: it remembers for a few minutes which cookie value superseded which (`journal`), and a
request whose cookie was superseded meanwhile applies its own changes (the keys it set and
deleted, or its clear) to the newest value instead of writing back what it read. So the last
response has both requests' changes, and never brings back a key the other deleted.

That journal lives in one process. Under `turnout serve --workers N`, two requests of one
visitor that land on different workers still race, as they do with Flask alone; with several
workers or hosts, keep sessions in Redis, which merges key by key on the server.

Two visitors with equal sessions, signed in the same second, would hold the very same cookie
value, and the journal could hand one the other's writes. So every cookie the store writes
carries a random nonce (`NONCE_KEY`, left out of the session), and a cookie without one
(Flask's own, from before the switch) is never looked up in the journal: its first write races.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Mapping, Sequence
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

from turnout.sessions.journal import DEFAULT_MAX_ENTRIES, DEFAULT_TTL, SuccessorJournal, digest
from turnout.sessions.serializer import Serializer, default_serializer
from turnout.sessions.state import Changes, SharedSession
from turnout.sessions.store import CookieUpdate, DeleteCookie, SetCookie

FLASK_SALT = "cookie-session"
DEFAULT_MAX_AGE = 31 * 24 * 3600
"""Flask's `PERMANENT_SESSION_LIFETIME`: 31 days."""
NONCE_KEY = "_turnout_nonce"
"""Holds a random value in each cookie the store writes; not part of the session (`loads` leaves it out)."""


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

    def dumps(self, data: Mapping[str, Any], *, nonce: bool = False) -> str:
        """The cookie value for `data`; with `nonce=True`, one that no other cookie has (see `NONCE_KEY`)."""
        payload = dict(data)
        if nonce:
            payload[NONCE_KEY] = secrets.token_urlsafe(16)
        value: str = self._signer.dumps(payload)
        return value

    def loads(self, value: str) -> tuple[dict[str, Any], float] | None:
        """The session in `value` and its age in seconds; `None` if forged, expired or not a session."""
        opened = self._open(value)
        return None if opened is None else (opened[0], opened[1])

    def _open(self, value: str) -> tuple[dict[str, Any], float, bool] | None:
        """As `loads`, and whether the value had a nonce."""
        try:
            data, signed_at = self._signer.loads(value, max_age=self.max_age, return_timestamp=True)
        except BadData:
            return None
        if not isinstance(data, dict):
            return None
        unique = data.pop(NONCE_KEY, None) is not None
        return data, max(0.0, time.time() - signed_at.timestamp()), unique


class CookieStore:
    """Keeps the session in the cookie itself, in Flask's format (see `FlaskCookieCodec`).

    ```python
    store = CookieStore(FlaskCookieCodec([SECRET_KEY]), journal_size=10_000, journal_ttl=300)
    ```
    A cookie older than half of `max_age` is signed again when the session is next used, so an
    active visitor is not logged out when the first signature expires.

    Requests of one visitor that change the session at the same time are merged, within this
    process: the store remembers which value superseded which, for `journal_ttl` seconds and at
    most `journal_size` values (0 turns that off).
    """

    def __init__(
        self, codec: FlaskCookieCodec, *, journal_size: int = DEFAULT_MAX_ENTRIES, journal_ttl: float = DEFAULT_TTL
    ) -> None:
        self.codec = codec
        self.journal = SuccessorJournal(max_entries=journal_size, ttl=journal_ttl)

    async def load(self, cookie: str | None) -> SharedSession:
        serializer = self.codec.serializer
        if cookie:
            opened = self.codec._open(cookie)
            if opened is not None:
                data, age, unique = opened
                # Without turnout's nonce (a cookie Flask signed), another visitor may hold this very
                # value: following it in the journal could hand this visitor their session.
                return SharedSession(
                    data,
                    serializer=serializer,
                    stale=age > self.codec.max_age / 2,
                    origin=digest(cookie) if unique else None,
                )
        return SharedSession(serializer=serializer)

    async def save(self, session: SharedSession) -> CookieUpdate:
        # No await from here to `record`: on the event loop, no other request's save runs in
        # between, so the journal needs no lock.
        changes = session.changes()
        if not (changes or session.stale):
            return None
        origin = session.origin
        chain = self.journal.newest(origin) if origin is not None else None
        superseded = [] if origin is None else [origin]
        data = session.as_dict()
        if chain is not None:
            if not changes:
                # Only getting old, and a newer cookie was signed since: nothing to sign again.
                return None
            superseded = chain.superseded
            if chain.newest is not None:
                # A request that read the newest value, and saves later, must find this one's.
                superseded.append(digest(chain.newest))
            merged = self._merge(chain.newest, changes)
            if merged is not None:
                data = merged
        value = self.codec.dumps(data, nonce=True) if data else None
        self.journal.record(superseded, value)
        return DeleteCookie() if value is None else SetCookie(value)

    def _merge(self, newest: str | None, changes: Changes) -> dict[str, Any] | None:
        """`changes` applied to the session in `newest`, as the Redis store applies them; `None` if unreadable."""
        data: dict[str, Any] = {}
        if newest is not None and not changes.cleared:
            opened = self.codec._open(newest)
            if opened is None:  # its signature expired meanwhile (a short max_age), or its key was dropped
                return None
            data = opened[0]
        for key in changes.deleted:
            data.pop(key, None)
        data.update(changes.updated)
        return data

    async def aclose(self) -> None:
        return None


__all__ = ["DEFAULT_MAX_AGE", "FLASK_SALT", "NONCE_KEY", "CookieStore", "FlaskCookieCodec"]
