"""Flask-WTF's CSRF tokens, for new code: a form rendered on one side posts to the other.

Flask-WTF keeps a random value in the session (`session["csrf_token"]`) and puts a signed copy
of it in each form (itsdangerous `URLSafeTimedSerializer`, salt `wtf-csrf-token`, the app's
`SECRET_KEY` or `WTF_CSRF_SECRET_KEY`). With the shared session, new code can make a token that
Flask-WTF accepts, and check one that a legacy form sent, with the same rules:

```python
token = generate_csrf(request.session, secret_key=SECRET_KEY)     # in a new page's form
validate_csrf(request.session, form["csrf_token"], secret_key=SECRET_KEY)   # in a new endpoint
```
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import MutableMapping
from typing import Any

from itsdangerous import BadData, URLSafeTimedSerializer

SALT = "wtf-csrf-token"
FIELD_NAME = "csrf_token"
TIME_LIMIT = 3600
"""Flask-WTF's `WTF_CSRF_TIME_LIMIT` default: a token is good for an hour."""


def generate_csrf(session: MutableMapping[str, Any], *, secret_key: str | bytes, field_name: str = FIELD_NAME) -> str:
    """A signed token for a form, as Flask-WTF's `generate_csrf()` makes it (it keeps the session's value)."""
    raw = session.get(field_name)
    if not isinstance(raw, str):
        raw = session[field_name] = hashlib.sha1(os.urandom(64)).hexdigest()
    token: str = URLSafeTimedSerializer(secret_key, salt=SALT).dumps(raw)
    return token


def validate_csrf(
    session: MutableMapping[str, Any],
    token: str | None,
    *,
    secret_key: str | bytes,
    field_name: str = FIELD_NAME,
    time_limit: int | None = TIME_LIMIT,
) -> bool:
    """Whether `token` is one that Flask-WTF's `validate_csrf()` would accept for this session."""
    expected = session.get(field_name)
    if not token or not isinstance(expected, str):
        return False
    try:
        raw = URLSafeTimedSerializer(secret_key, salt=SALT).loads(token, max_age=time_limit)
    except BadData:
        return False
    return isinstance(raw, str) and hmac.compare_digest(expected, raw)


__all__ = ["FIELD_NAME", "SALT", "TIME_LIMIT", "generate_csrf", "validate_csrf"]
