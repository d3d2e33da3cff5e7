"""One session for both sides: Flask's `session`, Django's and new code's `request.session` are one object.

```python
from turnout.sessions import enable_shared_sessions

enable_shared_sessions(app, secret_key=SECRET_KEY, redis_url=None, user_loader=load_user)
```
- `state`: `SharedSession`, the per-request session that records what the request changed;
- `store`, `cookie`, `redis_store`: where sessions are kept (a cookie in Flask's format, or Redis:
  `turnout.sessions.redis_store.RedisStore`, which needs the `redis` package);
- `middleware`: `SharedSessionMiddleware`, which loads the session and saves it when the response starts;
- `identity`: `request.user` from the legacy login, `REMOTE_USER` from new code's;
- `secret`: empty and well-known keys are refused;
- `enable`: `enable_shared_sessions`, all of the above in one call.

`docs/sessions.md` is the guide.
"""

from __future__ import annotations

from turnout.sessions.cookie import CookieStore, FlaskCookieCodec
from turnout.sessions.enable import enable_shared_sessions
from turnout.sessions.identity import RemoteUserFromScope, SessionIdentity, UserLoader
from turnout.sessions.middleware import SharedSessionMiddleware
from turnout.sessions.secret import check_secret
from turnout.sessions.state import Changes, SharedSession, current_session
from turnout.sessions.store import CookieUpdate, DeleteCookie, SessionStore, SetCookie

__all__ = [
    "Changes",
    "CookieStore",
    "CookieUpdate",
    "DeleteCookie",
    "FlaskCookieCodec",
    "RemoteUserFromScope",
    "SessionIdentity",
    "SessionStore",
    "SetCookie",
    "SharedSession",
    "SharedSessionMiddleware",
    "UserLoader",
    "check_secret",
    "current_session",
    "enable_shared_sessions",
]
