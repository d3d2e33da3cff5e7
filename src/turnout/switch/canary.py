"""Which users a canary sends to the new side, the same users on every request.

A user is known by a key: by default turnout's own cookie (`turnout_canary`, a random id that
turnout sets on the first request that needs it), or a cookie of the app (`cookie:NAME`), a
header (`header:X-User-Id`, for API clients) or a value in the shared session
(`session:_user_id`, Flask-Login's user id). When that key is missing, turnout's cookie stands in.

The key is hashed into one of 10,000 buckets, with no per-route salt: a canary of N% takes
buckets below N x 100. So a user in the 10% of one route is in the 10% of every route (the new
side is one coherent experience), and raising the share to 20% keeps everyone who was already in.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from starlette.types import Scope

COOKIE = "turnout_canary"
COOKIE_MAX_AGE = 365 * 24 * 3600
BUCKETS = 10_000
SYNTAX = "'cookie', 'cookie:NAME', 'header:NAME' or 'session:KEY'"

Source = Literal["cookie", "header", "session"]


def bucket(key: str) -> int:
    """The user's bucket, 0 to 9,999: stable across processes and restarts."""
    digest = hashlib.blake2b(key.encode("utf-8", "surrogateescape"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % BUCKETS


def in_canary(key: str, percent: float) -> bool:
    return bucket(key) < round(percent * BUCKETS / 100)


def _cookies(scope: Scope) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, value in scope["headers"]:
        if name == b"cookie":
            for pair in value.decode("latin-1").split(";"):
                key, sep, val = pair.strip().partition("=")
                if sep and key not in found:
                    found[key] = val.strip().strip('"')
    return found


@dataclass(frozen=True, slots=True)
class Sticky:
    """How a canary knows a user; `Sticky.parse("header:X-User-Id")`."""

    source: Source = "cookie"
    name: str = COOKIE

    @classmethod
    def parse(cls, text: str) -> Sticky:
        kind, _, name = text.strip().partition(":")
        name = name.strip()
        if kind == "cookie" and not name:
            return cls()
        if kind in ("cookie", "header", "session") and name and not any(c in name for c in ";=, "):
            return cls(kind, name.lower() if kind == "header" else name)  # type: ignore[arg-type]
        raise ValueError(f"{text!r} does not say how to know a user; use {SYNTAX}")

    def __str__(self) -> str:
        return "cookie" if (self.source, self.name) == ("cookie", COOKIE) else f"{self.source}:{self.name}"

    def user(self, scope: Scope) -> tuple[str, str | None]:
        """The user's key, and a new value for turnout's cookie when the user has none yet (else `None`)."""
        cookies: dict[str, str] | None = None
        if self.source == "header":
            wanted = self.name.encode("latin-1")
            for name, value in scope["headers"]:
                if name == wanted and value:
                    return "h:" + value.decode("latin-1"), None
        elif self.source == "session":
            session: Any = scope.get("session")
            if isinstance(session, Mapping):
                value = session.get(self.name)
                if value is not None:
                    return f"s:{value}", None
        else:
            cookies = _cookies(scope)
            value = cookies.get(self.name)
            if value:
                return ("c:" if self.name == COOKIE else f"c:{self.name}:") + value, None
        if cookies is None or self.name != COOKIE:
            own = (cookies if cookies is not None else _cookies(scope)).get(COOKIE)
            if own:
                return "c:" + own, None
        fresh = secrets.token_urlsafe(16)
        return "c:" + fresh, fresh


def cookie_header(value: str, scope: Scope) -> tuple[bytes, bytes]:
    """The `Set-Cookie` that gives a new user turnout's canary cookie."""
    secure = "; Secure" if scope.get("scheme") == "https" else ""
    text = f"{COOKIE}={value}; Path=/; Max-Age={COOKIE_MAX_AGE}; HttpOnly; SameSite=Lax{secure}"
    return b"set-cookie", text.encode("latin-1")
