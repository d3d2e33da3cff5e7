"""Refuse a session secret that is empty, or a placeholder anyone could look up.

Whoever knows the key can sign a session cookie that says they are logged in as anybody. A
key that is empty, or that was copied from a tutorial, a project template or turnout's own
demo, is refused at start-up with a `ConfigError` that says how to make a real one.
"""

from __future__ import annotations

from turnout.exceptions import ConfigError

PLACEHOLDERS = frozenset(
    {
        "changeme",
        "change-me",
        "change_me",
        "changethis",
        "default",
        "dev",
        "development",
        "insecure",
        "key",
        "mysecret",
        "password",
        "secret",
        "secret-key",
        "secret_key",
        "secretkey",
        "super-secret",
        "supersecret",
        "test",
        "testing",
        "your-secret-key",
        "your_secret_key",
        # turnout's demo shop publishes its key (`turnout.demo.shop.DEMO_SECRET_KEY`).
        "turnout-demo-secret-key-not-secret",
    }
)
"""Keys that appear in tutorials, templates and turnout's demo, compared without case."""

FIX = (
    "use the legacy app's own SECRET_KEY, read from the environment, not from the code; "
    'make a new one with: python -c "import secrets; print(secrets.token_hex(32))"'
)


def check_secret(secret_key: str | bytes | None, *, allow_insecure: bool = False) -> None:
    """Raise `ConfigError` if `secret_key` is empty or a well-known placeholder.

    `allow_insecure=True` is for turnout's demo and tests only: it lets their published key
    through (an empty key never is).
    """
    text = secret_key.decode("latin-1") if isinstance(secret_key, bytes) else (secret_key or "")
    text = text.strip().lower()
    if not text:
        raise ConfigError("the session secret key is empty", key="sessions.secret_key", fix=FIX)
    if not allow_insecure and (text in PLACEHOLDERS or text.startswith("django-insecure-")):
        raise ConfigError(
            "the session secret key is a well-known placeholder, so anyone could sign a session cookie",
            key="sessions.secret_key",
            fix=FIX,
        )


__all__ = ["PLACEHOLDERS", "check_secret"]
