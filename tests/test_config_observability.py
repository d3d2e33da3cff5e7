"""`[app] access_log` and `[metrics]` in turnout.toml, and what `turnout serve` does with them."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures import isolated_imports, write_config
from turnout import ConfigError, Turnout
from turnout.cli import main
from turnout.config import load_config
from turnout.metrics import MULTIPROCESS


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    with isolated_imports():
        yield


def test_the_access_log_defaults_to_text_and_can_be_json_or_off(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "")).app.access_log == "text"
    assert load_config(write_config(tmp_path, '[app]\naccess_log = "json"\n')).app.access_log == "json"
    assert load_config(write_config(tmp_path, '[app]\naccess_log = "off"\n')).app.access_log is None
    with pytest.raises(ConfigError, match="unknown access log style 'loud'") as info:
        load_config(write_config(tmp_path, '[app]\naccess_log = "loud"\n'))
    assert 'use "text", "json" or "off"' in str(info.value)


def test_metrics_are_off_unless_the_section_is_there(tmp_path: Path) -> None:
    assert load_config(write_config(tmp_path, "")).metrics is None
    config = load_config(write_config(tmp_path, '[metrics]\ntoken = "t"\nallow = ["10.0.0.0/8"]\n'))
    assert config.metrics is not None
    assert (config.metrics.path, config.metrics.token, config.metrics.allow) == ("/metrics", "t", ("10.0.0.0/8",))
    app = Turnout.from_config(write_config(tmp_path, '[metrics]\npath = "/internal/metrics"\n'))
    assert app.metrics is not None
    assert any(entry.pattern == "/internal/metrics" for entry in app.table)
    with pytest.raises(ConfigError, match="does not start with '/'"):
        load_config(write_config(tmp_path, '[metrics]\npath = "metrics"\n'))


def test_serve_with_workers_and_metrics_uses_prometheus_multiprocess_mode(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[tuple[Any, dict[str, Any]]] = []
    monkeypatch.setattr("uvicorn.run", lambda app, **options: calls.append((app, options)))
    monkeypatch.delenv(MULTIPROCESS, raising=False)
    path = write_config(tmp_path, "[server]\nworkers = 2\n\n[metrics]\n")
    assert main(["serve", str(path)]) == 0
    directory = os.environ[MULTIPROCESS]
    assert Path(directory).is_dir() and Path(directory).name.startswith("turnout-metrics-")
    shutil.rmtree(directory)
    assert calls[0][1]["access_log"] is False


SESSION_APP = """
from flask import Flask, session
from starlette.requests import Request
from starlette.responses import PlainTextResponse

legacy = Flask(__name__)
legacy.config["SECRET_KEY"] = "x" * 8 + "not-a-placeholder-but-long-enough-for-tests-0123456789"

@legacy.get("/login")
def login():
    session["_user_id"] = "ada"
    return "logged in"

async def whoami(request: Request) -> PlainTextResponse:
    return PlainTextResponse(f"{request.session.get('_user_id')} {request.user.display_name}")

def load_user(user_id):
    from starlette.authentication import SimpleUser
    return SimpleUser(user_id)
"""


@pytest.mark.anyio
async def test_sessions_from_the_file_are_shared_by_both_sides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from turnout.testing import client

    (tmp_path / "sessionapp.py").write_text(SESSION_APP)
    monkeypatch.setenv("SHOP_SECRET", "s" * 48)
    path = write_config(
        tmp_path,
        """
        [[wsgi]]
        prefix = "/shop"
        app = "sessionapp:legacy"

        [[route]]
        path = "/whoami"
        endpoint = "sessionapp:whoami"

        [sessions]
        secret_key_env = "SHOP_SECRET"
        user_loader = "sessionapp:load_user"
        """,
    )
    app = Turnout.from_config(path)
    async with client(app) as http:
        assert (await http.get("/shop/login")).text == "logged in"
        assert (await http.get("/whoami")).text == "ada ada"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('[sessions]\nsame_site = "sometimes"\n', "unknown SameSite value"),
        ('[sessions]\nredis_url = "http://x"\n', "is not a Redis URL"),
    ],
)
def test_session_mistakes_are_reported(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        load_config(write_config(tmp_path, text))


def test_a_missing_secret_variable_or_a_bad_loader_is_reported(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sessionapp.py").write_text(SESSION_APP + "\nnot_a_loader = 42\n")
    monkeypatch.delenv("NO_SUCH_SECRET", raising=False)
    with pytest.raises(ConfigError, match="NO_SUCH_SECRET is not set"):
        Turnout.from_config(write_config(tmp_path, '[sessions]\nsecret_key_env = "NO_SUCH_SECRET"\n'))
    monkeypatch.setenv("SHOP_SECRET", "s" * 48)
    with pytest.raises(ConfigError, match="not a function"):
        Turnout.from_config(
            write_config(
                tmp_path, '[sessions]\nsecret_key_env = "SHOP_SECRET"\nuser_loader = "sessionapp:not_a_loader"\n'
            )
        )
