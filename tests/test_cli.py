from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.fixtures import isolated_imports, write_config, write_module
from turnout import Turnout, __version__
from turnout._serve import CONFIG_ENV, FACTORY, create_app
from turnout.cli import main
from turnout.server import HttpToolsProtocol
from turnout.testing import free_port

CONFIG = """
    [server]
    port = 8765
    log_level = "warning"

    [[wsgi]]
    prefix = "/shop"
    app = "legacy:app"
    name = "shop"
    threads = 2

    [[asgi]]
    prefix = "/api"
    app = "newapi:api"

    [[route]]
    path = "/shop/products/{id:int}"
    endpoint = "newapi:product"
    methods = ["GET"]
    name = "product_v2"
"""

LEGACY = """
    from flask import Flask

    app = Flask(__name__)

    @app.get("/")
    def index():
        return "legacy home"

    @app.get("/products/<int:id>")
    def product(id):
        return f"legacy product {id}"
"""

NEWAPI = """
    from starlette.applications import Starlette
    from starlette.responses import JSONResponse, PlainTextResponse
    from starlette.routing import Route

    async def hello(request):
        return PlainTextResponse("hello api")

    api = Starlette(routes=[Route("/hello", hello)])

    async def product(request):
        return JSONResponse({"id": request.path_params["id"], "version": 2})
"""


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    with isolated_imports():
        yield


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A directory with a turnout.toml and the two apps it names, next to it."""
    write_module(tmp_path, "legacy", LEGACY)
    write_module(tmp_path, "newapi", NEWAPI)
    return write_config(tmp_path, CONFIG)


class FakeRun:
    """Stands in for `uvicorn.run`, recording how it was called."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, dict[str, Any]]] = []

    def __call__(self, app: Any, **options: Any) -> None:
        self.calls.append((app, options))


@pytest.fixture
def fake_run(monkeypatch: pytest.MonkeyPatch) -> FakeRun:
    fake = FakeRun()
    monkeypatch.setattr("turnout.cli.uvicorn.run", fake)
    return fake


# -- turnout routes -------------------------------------------------------------------------


def test_routes_prints_the_table(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(project)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["PATTERN", "METHODS", "SIDE", "OWNER", "ENDPOINT", "STATUS", "DEFINED", "AT"]
    assert any(
        line.split()[:6] == ["/shop/products/{id:int}", "GET,HEAD,OPTIONS", "wsgi", "shop", "product", "replaced"]
        for line in lines
    )
    assert any(line.startswith("/api/**") and line.endswith(f"{project}:11") for line in lines)


def test_routes_prints_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(project), "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    by_endpoint = {entry["endpoint"]: entry for entry in entries}
    assert by_endpoint["product_v2"]["side"] == "asgi"
    assert by_endpoint["product_v2"]["methods"] == ["GET", "HEAD"]
    assert by_endpoint["product"]["status"] == "replaced"
    assert by_endpoint["shop"]["kind"] == "mount"


def test_routes_uses_turnout_toml_in_the_current_directory(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(project.parent)
    assert main(["routes"]) == 0
    assert "product_v2" in capsys.readouterr().out


def test_routes_without_a_config_shows_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["routes", "--json"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert {entry["side"] for entry in entries} == {"wsgi", "asgi"}


def test_a_demo_that_does_not_import_is_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("turnout._serve.DEMO", "turnout_no_such_demo:app")
    assert main(["routes"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("turnout: error: no config file given and no ./turnout.toml here")
    assert "no module named 'turnout_no_such_demo'" in err
    assert "pip install 'turnout[demo]'" in err


# -- errors ---------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["routes", "serve"])
def test_a_config_error_is_one_message_and_status_2(
    tmp_path: Path, command: str, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    path = write_config(tmp_path, '[[wsgi]]\nprefix = "/"\napp = "nowhere_to_be_found:app"\n')
    assert main([command, str(path)]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"turnout: error: {path}:3: key 'wsgi[0].app': import string")
    assert "Traceback" not in captured.err
    assert fake_run.calls == []


def test_a_missing_config_file_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: file not found" in capsys.readouterr().err


def test_duplicate_routes_are_reported_before_serving(
    tmp_path: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    text = """
        [[route]]
        path = "/hello"
        endpoint = "tests.fixtures.apps:hello"

        [[route]]
        path = "/hello"
        endpoint = "tests.fixtures.apps:item_v2"
    """
    assert main(["serve", str(write_config(tmp_path, text))]) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith("turnout: error: two asgi routes have the same pattern and methods")
    assert fake_run.calls == []


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "the following arguments are required: COMMAND"),
        (["launch"], "invalid choice: 'launch'"),
        (["serve", "--port", "0"], "argument --port: must be between 1 and 65535, not 0"),
        (["serve", "--port", "http"], "argument --port: must be an integer, not 'http'"),
        (["serve", "--workers", "0"], "argument --workers: must be at least 1, not 0"),
        (["serve", "--log-level", "loud"], "argument --log-level: invalid choice: 'loud'"),
        (["routes", "a.toml", "b.toml"], "unrecognized arguments: b.toml"),
    ],
)
def test_usage_errors_exit_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert message in capsys.readouterr().err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"turnout {__version__}\n"


# -- turnout serve, without a server --------------------------------------------------------


# Always: turnout's proxy handling instead of Uvicorn's, the header deadline, the grace period.
SERVER_OPTIONS = {
    "proxy_headers": False,
    "http": HttpToolsProtocol,
    "timeout_graceful_shutdown": 30.0,
    "access_log": False,  # turnout's access log replaces Uvicorn's
}


def test_serve_prints_the_table_and_address_then_runs_the_app(
    project: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["serve", str(project)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("PATTERN")
    assert "product_v2" in out
    assert out.endswith("\nturnout: serving on http://127.0.0.1:8765\n")
    [(app, options)] = fake_run.calls
    assert isinstance(app, Turnout)
    assert options == {"host": "127.0.0.1", "port": 8765, "log_level": "warning", **SERVER_OPTIONS}


def test_flags_override_the_file(project: Path, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(project), "--host", "::1", "--port", "9001", "--log-level", "DEBUG", "--no-reload"]) == 0
    assert capsys.readouterr().out.endswith("turnout: serving on http://[::1]:9001\n")
    [(app, options)] = fake_run.calls
    assert isinstance(app, Turnout)
    assert options == {"host": "::1", "port": 9001, "log_level": "debug", **SERVER_OPTIONS}


def test_workers_serve_the_factory(project: Path, fake_run: FakeRun) -> None:
    assert main(["serve", str(project), "--workers", "2"]) == 0
    [(app, options)] = fake_run.calls
    assert app == FACTORY
    assert options == {
        "factory": True,
        "host": "127.0.0.1",
        "port": 8765,
        "workers": 2,
        "reload": False,
        "reload_dirs": None,
        "log_level": "warning",
        **SERVER_OPTIONS,
    }
    assert os.environ[CONFIG_ENV] == str(project.resolve())


def test_reload_from_the_file_watches_the_config_directory(tmp_path: Path, fake_run: FakeRun) -> None:
    path = write_config(tmp_path, "[server]\nreload = true\nworkers = 3\n")
    assert main(["serve", str(path)]) == 0
    [(app, options)] = fake_run.calls
    assert app == FACTORY
    assert options["reload"] is True
    assert options["workers"] == 3
    assert options["reload_dirs"] == [str(tmp_path.resolve())]


def test_reload_of_the_demo_builds_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fake_run: FakeRun, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(CONFIG_ENV, "left over from another run")
    assert main(["serve", "--reload"]) == 0
    assert capsys.readouterr().out.endswith("turnout: serving on http://127.0.0.1:8000\n")
    [(app, options)] = fake_run.calls
    assert app == FACTORY
    assert options["reload"] is True
    assert options["reload_dirs"] is None
    assert CONFIG_ENV not in os.environ


def test_the_factory_builds_the_config_named_by_the_environment(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(CONFIG_ENV, str(project))
    app = create_app()
    assert [mount.name for mount in app.wsgi_mounts] == ["shop"]


def test_the_factory_builds_the_demo_without_a_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CONFIG_ENV, raising=False)
    from turnout.demo import app as demo

    assert create_app() is demo


def test_python_m_turnout(project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["turnout", "routes", str(project)])
    monkeypatch.delitem(sys.modules, "turnout.__main__", raising=False)
    with pytest.raises(SystemExit) as info:
        runpy.run_module("turnout", run_name="__main__", alter_sys=True)
    assert info.value.code == 0
    assert "product_v2" in capsys.readouterr().out


# -- turnout serve, for real ----------------------------------------------------------------


def _start(config: Path, *args: str) -> tuple[subprocess.Popen[str], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "turnout", "serve", str(config), "--port", str(port), *args],
        cwd=config.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # so that stopping it reaches the worker processes too
    )
    return process, f"http://127.0.0.1:{port}"


def _wait_until_serving(process: subprocess.Popen[str], url: str, *, deadline: float = 20.0) -> httpx.Response:
    end = time.monotonic() + deadline
    for _ in range(400):
        if process.poll() is not None:
            raise AssertionError(f"turnout serve exited with {process.returncode}")
        try:
            return httpx.get(url, timeout=1.0)
        except httpx.TransportError:
            if time.monotonic() > end:
                break
            time.sleep(0.05)
    raise AssertionError(f"turnout serve did not answer on {url} within {deadline} s")


def _stop(process: subprocess.Popen[str]) -> tuple[str, str]:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        return process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate(timeout=5)


@pytest.mark.server
def test_serve_answers_on_a_real_socket(project: Path) -> None:
    process, base = _start(project)
    try:
        response = _wait_until_serving(process, base + "/shop/products/3")
        assert response.json() == {"id": 3, "version": 2}
        assert response.headers["x-served-by"] == "asgi:product_v2"
        legacy = httpx.get(base + "/shop/", timeout=5.0)
        assert legacy.text == "legacy home"
        assert legacy.headers["x-served-by"] == "wsgi:shop"
        assert httpx.get(base + "/api/hello", timeout=5.0).text == "hello api"
    finally:
        out, err = _stop(process)
    assert out.startswith("PATTERN")
    assert f"turnout: serving on {base}\n" in out
    assert "Traceback" not in err


@pytest.mark.server
def test_serve_with_two_workers_builds_the_app_in_each(project: Path) -> None:
    process, base = _start(project, "--workers", "2", "--log-level", "info")
    try:
        response = _wait_until_serving(process, base + "/shop/products/5")
        assert response.json() == {"id": 5, "version": 2}
        assert httpx.get(base + "/shop/", timeout=5.0).text == "legacy home"
    finally:
        out, err = _stop(process)
    assert f"turnout: serving on {base}\n" in out
    assert "Started parent process" in err
    assert "Traceback" not in err
