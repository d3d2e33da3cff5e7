from __future__ import annotations

import pytest

from turnout import Turnout
from turnout.demo import create_app


@pytest.fixture
def demo_app() -> Turnout:
    """A fresh demo app per test, so that no test sees another's pools or table."""
    return create_app()
