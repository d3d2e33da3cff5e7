"""`enable_shared_sessions(app, ...)`: one call that gives both sides of a `Turnout` app one session."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from turnout.sessions.cookie import DEFAULT_MAX_AGE, CookieStore, FlaskCookieCodec
from turnout.sessions.identity import FLASK_LOGIN_KEY, UserLoader
from turnout.sessions.middleware import SharedSessionMiddleware
from turnout.sessions.secret import check_secret
from turnout.sessions.store import SessionStore

if TYPE_CHECKING:
    from turnout.app import Turnout

logger = logging.getLogger("turnout.sessions")


def _mounted_flask_apps(app: Turnout) -> list[Any]:
    try:
        from turnout.integrations.flask_session import flask_apps_in
    except ImportError:  # no Flask installed: nothing to share with
        return []
    return [flask_app for mount in app.wsgi_mounts for flask_app in flask_apps_in(mount.app)]


def enable_shared_sessions(
    app: Turnout,
    *,
    secret_key: str | bytes | None = None,
    secret_key_fallbacks: Sequence[str | bytes] = (),
    redis_url: str | None = None,
    user_loader: UserLoader | None = None,
    user_id_key: str = FLASK_LOGIN_KEY,
    cookie_name: str = "session",
    max_age: int = DEFAULT_MAX_AGE,
    path: str = "/",
    domain: str | None = None,
    same_site: Literal["lax", "strict", "none"] = "lax",
    secure: bool | None = None,
    allow_insecure_secret: bool = False,
) -> SessionStore:
    """Give the legacy and new sides of `app` one session, readable and writable from both.

    ```python
    app = Turnout()
    app.mount_wsgi("/shop", flask_shop, name="shop")
    enable_shared_sessions(
        app,
        secret_key=os.environ["SECRET_KEY"],              # the legacy app's SECRET_KEY
        redis_url=os.environ.get("SESSION_REDIS_URL"),    # None: the session stays in the cookie
        user_loader=lambda user_id: users.get(user_id),   # request.user for Flask-Login's user
    )
    ```
    Call it after mounting the Flask apps: each one mounted so far gets the shared session
    (`share_flask_session`); call that yourself for a Flask app mounted later, or hidden behind
    a wrapper that does not keep it as `.app`. Without `secret_key`, the first mounted Flask
    app's `SECRET_KEY` (and its `SECRET_KEY_FALLBACKS`) is used. An empty or well-known key
    raises `ConfigError`; `allow_insecure_secret=True` is for turnout's demo and tests only.

    `secure=None` marks the cookie `Secure` when the request came over HTTPS. Returns the store.
    """
    flask_apps = _mounted_flask_apps(app)
    if secret_key is None and flask_apps:
        secret_key = flask_apps[0].secret_key
        secret_key_fallbacks = list(flask_apps[0].config.get("SECRET_KEY_FALLBACKS") or ())
    check_secret(secret_key, allow_insecure=allow_insecure_secret)
    assert secret_key is not None
    keys = [*secret_key_fallbacks, secret_key]
    for flask_app in flask_apps:
        if flask_app.secret_key is not None and flask_app.secret_key not in keys:
            logger.warning(
                "the Flask app %r has another SECRET_KEY than the shared session: the session cookies it "
                "signed before will not be read. Pass its key as secret_key (or in secret_key_fallbacks)",
                flask_app.name,
            )
    added: list[object] = [m.cls for m in app.user_middleware]
    assert SharedSessionMiddleware not in added, "enable_shared_sessions was already called on this app"
    codec = FlaskCookieCodec(keys, max_age=max_age)
    store: SessionStore
    if redis_url is not None:
        from turnout.sessions.redis_store import RedisStore  # the redis client is needed only here

        store = RedisStore(redis_url, secret_keys=keys, max_age=max_age, legacy_codec=codec)
    else:
        store = CookieStore(codec)
    app.add_middleware(
        SharedSessionMiddleware,
        store=store,
        cookie_name=cookie_name,
        max_age=max_age,
        path=path,
        domain=domain,
        same_site=same_site,
        secure=secure,
        user_loader=user_loader,
        user_id_key=user_id_key,
    )
    if flask_apps:
        from turnout.integrations.flask_session import share_flask_session

        for flask_app in flask_apps:
            share_flask_session(flask_app)
    return store


__all__ = ["enable_shared_sessions"]
