from __future__ import annotations

from collections.abc import Iterator

import pytest
import redis

from tests.sessions.servers import redis_server


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    with redis_server() as url:
        yield url


@pytest.fixture
def redis_url(redis_server_url: str) -> str:
    """The URL of a real, empty Redis database."""
    with redis.Redis.from_url(redis_server_url) as client:
        client.flushdb()
    return redis_server_url


@pytest.fixture(params=["cookie", "redis"])
def store_url(request: pytest.FixtureRequest) -> str | None:
    """Each test with it runs twice: with the cookie store (`None`) and with a real Redis (its URL)."""
    if request.param == "cookie":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url
