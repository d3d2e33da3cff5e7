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
from turnout.logs import logging_config
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
    "log_config": logging_config(),  # request ids on every line
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


# -- turnout report -------------------------------------------------------------------------


MIGRATING = """
    [[wsgi]]
    prefix = "/shop"
    app = "legacy_bp:app"
    name = "shop"

    [[route]]
    path = "/shop/admin/users"
    endpoint = "newapi:product"
    name = "users_v2"

    [[route]]
    path = "/shop/cart"
    endpoint = "newapi:product"
    name = "cart_v2"
"""

LEGACY_WITH_BLUEPRINT = """
    from flask import Blueprint, Flask

    app = Flask(__name__)
    admin = Blueprint("admin", __name__)

    @app.route("/cart", methods=["GET", "POST"])
    def cart():
        return "cart"

    @admin.get("/users")
    def users():
        return "users"

    @admin.get("/users/<int:id>")
    def user(id):
        return "user"

    app.register_blueprint(admin, url_prefix="/admin")
"""


@pytest.fixture
def migrating(tmp_path: Path) -> Path:
    """A Flask app with an `admin` blueprint, one of whose routes is replaced, and a cart replaced for GET only."""
    write_module(tmp_path, "legacy_bp", LEGACY_WITH_BLUEPRINT)
    write_module(tmp_path, "newapi", NEWAPI)
    return write_config(tmp_path, MIGRATING)


def test_report_prints_the_figures_by_mount_and_group(migrating: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(migrating)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Legacy routes replaced by new ones: 1 of 3 (33.3%)"
    assert lines[2:7] == [
        "MOUNT / GROUP    ROUTES  REPLACED  REMAINING   DONE",
        "shop (/shop/**)       3         1          2  33.3%",
        "  /cart               1         0          1   0.0%",
        "  admin               2         1          1  50.0%",
        "TOTAL                 3         1          2  33.3%",
    ]
    assert "Remaining (2):" in lines
    assert lines[lines.index("  shop admin") + 1].split()[:3] == [
        "/shop/admin/users/{id:int}",
        "GET,HEAD,OPTIONS",
        "admin.user",
    ]
    assert "Not counted: Flask's static endpoints: /shop/static/{filename:path} (shop: static)." in lines
    # After the report, the table's warnings: the cart is replaced for GET only.
    warnings = out[out.index("\nWarnings (1):\n") :]
    assert "[partial-replacement] new route /shop/cart [GET, HEAD] ('cart_v2'" in warnings


def test_report_prints_json(migrating: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(migrating), "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["total"], data["replaced"], data["percent"]) == (3, 1, 33.3)
    [shop] = data["mounts"]
    assert [(g["group"], g["total"], g["replaced"]) for g in shop["groups"]] == [("/cart", 1, 0), ("admin", 2, 1)]
    assert [w["kind"] for w in data["warnings"]] == ["partial-replacement"]


@pytest.mark.parametrize(("target", "status"), [("0", 0), ("33.3", 0), ("33.4", 1), ("100", 1)])
def test_report_fails_under_a_target(
    migrating: Path, target: str, status: int, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(migrating), "--fail-under", target]) == status
    err = capsys.readouterr().err
    if status:
        assert err == (
            f"turnout: 33.3% of the legacy routes are replaced, below --fail-under {float(target):g}% (2 remain)\n"
        )
    else:
        assert err == ""


def test_report_json_fails_under_a_target_too(migrating: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(migrating), "--json", "--fail-under", "90"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["percent"] == 33.3
    assert "below --fail-under 90%" in captured.err


@pytest.mark.parametrize(
    ("value", "message"),
    [("101", "must be between 0 and 100, not 101"), ("-1", "must be between 0 and 100"), ("half", "must be a number")],
)
def test_report_refuses_a_bad_target(value: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["report", "--fail-under", value])
    assert info.value.code == 2
    assert f"argument --fail-under: {message}" in capsys.readouterr().err


def test_report_of_the_demo(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["report"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Legacy routes replaced by new ones: 1 of 7 (14.2%)\n")
    assert "Warnings" not in out


def test_report_of_a_config_error_is_one_message(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "missing.toml")]) == 2
    assert "missing.toml: file not found" in capsys.readouterr().err


# -- turnout routes: filters and warnings -----------------------------------------------------


def _rows(out: str) -> list[list[str]]:
    return [line.split()[:6] for line in out.splitlines()[1:] if line]


USERS_V2 = ["/shop/admin/users", "GET,HEAD", "asgi", "-", "users_v2", "active"]
USERS = ["/shop/admin/users", "GET,HEAD,OPTIONS", "wsgi", "shop", "admin.users", "replaced"]
USER = ["/shop/admin/users/{id:int}", "GET,HEAD,OPTIONS", "wsgi", "shop", "admin.user", "active"]
CART_V2 = ["/shop/cart", "GET,HEAD", "asgi", "-", "cart_v2", "active"]
CART = ["/shop/cart", "GET,HEAD,OPTIONS,POST", "wsgi", "shop", "cart", "active"]
SHOP = ["/shop/**", "*", "wsgi", "shop", "shop", "active"]
STATIC = ["/shop/static/{filename:path}", "GET,HEAD,OPTIONS", "wsgi", "shop", "static", "active"]


@pytest.mark.parametrize(
    ("flags", "expected"),
    [
        ([], [SHOP, USERS_V2, USERS, USER, CART_V2, CART, STATIC]),
        (["--side", "asgi"], [USERS_V2, CART_V2]),
        (["--status", "replaced"], [USERS]),
        (["--mount", "shop"], [SHOP, USERS, USER, CART, STATIC]),
        (["--mount", "shop", "--status", "active", "--side", "wsgi"], [SHOP, USER, CART, STATIC]),
        (["--side", "asgi", "--status", "replaced"], []),
    ],
)
def test_routes_filters(
    migrating: Path, flags: list[str], expected: list[list[str]], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", str(migrating), *flags]) == 0
    table = capsys.readouterr().out.partition("\n\nWarnings")[0]
    assert table.splitlines()[0].split() == [
        "PATTERN",
        "METHODS",
        "SIDE",
        "OWNER",
        "ENDPOINT",
        "STATUS",
        "DEFINED",
        "AT",
    ]
    assert _rows(table) == expected


def test_filtered_routes_are_aligned_for_themselves(migrating: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(migrating), "--status", "replaced"]) == 0
    header, row = capsys.readouterr().out.splitlines()
    assert header == "PATTERN            METHODS           SIDE  OWNER  ENDPOINT     STATUS    DEFINED AT"
    assert row.startswith("/shop/admin/users  GET,HEAD,OPTIONS  wsgi  shop   admin.users  replaced  ")
    assert row.endswith("legacy_bp.py:11")


def test_format_entries_of_every_entry_is_the_table(project: Path) -> None:
    from turnout.cli import format_entries
    from turnout.demo import create_app

    for app in (create_app(), Turnout.from_config(project)):
        table = app.table
        assert format_entries(table.entries) == table.format()


def test_routes_filters_with_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(project), "--json", "--side", "wsgi", "--status", "active"]) == 0
    entries = json.loads(capsys.readouterr().out)
    assert [(e["pattern"], e["endpoint"]) for e in entries] == [
        ("/shop", "shop"),
        ("/shop/", "index"),
        ("/shop/static/{filename:path}", "static"),
    ]


def test_routes_of_an_unknown_mount_is_an_error(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(project), "--mount", "shp"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "turnout: error: no mount named 'shp'\n  fix: use one of: api, shop\n"


def test_routes_of_a_mount_when_there_are_none(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write_config(tmp_path, '[[route]]\npath = "/hello"\nendpoint = "tests.fixtures.apps:hello"\n')
    assert main(["routes", str(path), "--mount", "shop"]) == 2
    assert "fix: use one of: (none)" in capsys.readouterr().err


@pytest.mark.parametrize("flags", [["--side", "wsgi"], [], ["--status", "active"]])
def test_routes_prints_the_warnings_after_the_table(
    migrating: Path, flags: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", str(migrating), *flags]) == 0
    table, _, warnings = capsys.readouterr().out.partition("\n\nWarnings (1):\n")
    assert table.startswith("PATTERN")
    assert warnings.startswith("  [partial-replacement] new route /shop/cart [GET, HEAD] ('cart_v2', defined at ")
    assert "\n    fix: add POST to the new route's methods" in warnings


def test_routes_leaves_out_warnings_about_routes_it_does_not_show(
    migrating: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["routes", str(migrating), "--status", "replaced"]) == 0
    out = capsys.readouterr().out
    assert "Warnings" not in out
    assert _rows(out) == [USERS]


def test_routes_json_prints_the_warnings_on_stderr(migrating: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["routes", str(migrating), "--json"]) == 0
    captured = capsys.readouterr()
    assert isinstance(json.loads(captured.out), list)  # stdout stays one JSON document
    assert captured.err.startswith("Warnings (1):\n  [partial-replacement] new route /shop/cart")


def test_the_demo_has_no_warnings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["routes"]) == 0
    captured = capsys.readouterr()
    assert "Warnings" not in captured.out + captured.err
