from __future__ import annotations

import os
from collections.abc import Iterator

import pytest


@pytest.fixture
def anyio_backend() -> str:
    # a2wsgi (and so the WSGI side) needs asyncio.
    return "asyncio"


@pytest.fixture(autouse=True)
def clean_environment() -> Iterator[None]:
    """Each test starts without SCRIPT_NAME (a2wsgi would read it) and leaves os.environ as it found it."""
    saved = dict(os.environ)
    os.environ.pop("SCRIPT_NAME", None)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
