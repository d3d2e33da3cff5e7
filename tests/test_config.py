from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fixtures import isolated_imports, write_config, write_module
from turnout import ConfigError, Turnout
from turnout.bridge.options import LegacyLimits
from turnout.config import (
    AppConfig,
    ASGIMountConfig,
    RouteConfig,
    ServerConfig,
    TurnoutConfig,
    WSGIMountConfig,
    build_app,
    load_config,
    locate_keys,
)
from turnout.testing import client

FULL = """
    [server]
    host = "0.0.0.0"
    port = 9000
    workers = 3
    log_level = "DEBUG"
    reload = true

    [app]
    served_by_header = false
    shutdown_grace = 5
    debug = true
    max_body_size = 1_000_000
    trusted_proxies = ["10.0.0.0/8", "*"]

    [[wsgi]]
    prefix = "/shop"
    app = "tests.fixtures.apps:legacy"
    name = "shop"
    threads = 4
    queue = 0
    queue_timeout = 0.5
    timeout = 2
    max_body_size = 1000

    [[wsgi]]
    prefix = "/plain"
    app = "tests.fixtures.apps:wsgi_function"

    [[asgi]]
    prefix = "/api"
    app = "tests.fixtures.apps:api"
    name = "api"

    [[route]]
    path = "/shop/items/{item_id:int}"
    endpoint = "tests.fixtures.apps:item_v2"
    methods = ["get"]
    name = "item_v2"

    [[route]]
    path = "/hello"
    endpoint = "tests.fixtures.apps:hello"
"""


@pytest.fixture(autouse=True)
def sandbox() -> Iterator[None]:
    with isolated_imports():
        yield


def test_a_full_file_loads_into_dataclasses(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, FULL))
    assert config.server == ServerConfig(host="0.0.0.0", port=9000, workers=3, log_level="debug", reload=True)
    assert config.app == AppConfig(
        served_by_header=False,
        shutdown_grace=5.0,
        debug=True,
        max_body_size=1_000_000,
        trusted_proxies=("10.0.0.0/8", "*"),
    )
    shop_limits = LegacyLimits(threads=4, queue=0, queue_timeout=0.5, timeout=2.0, max_body_size=1000)
    assert config.wsgi == (
        WSGIMountConfig("/shop", "tests.fixtures.apps:legacy", name="shop", limits=shop_limits, key="wsgi[0]"),
        WSGIMountConfig("/plain", "tests.fixtures.apps:wsgi_function", name=None, limits=LegacyLimits(), key="wsgi[1]"),
    )
    assert config.asgi == (ASGIMountConfig("/api", "tests.fixtures.apps:api", name="api", key="asgi[0]"),)
    assert config.routes == (
        RouteConfig("/shop/items/{item_id:int}", "tests.fixtures.apps:item_v2", ("GET",), "item_v2", key="route[0]"),
        RouteConfig("/hello", "tests.fixtures.apps:hello", None, None, key="route[1]"),
    )
    assert config.lines["wsgi[1].app"] == 27


def test_an_empty_file_gives_the_defaults(tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path, ""))
    assert config == TurnoutConfig(path=tmp_path / "turnout.toml")
    assert config.server == ServerConfig(host="127.0.0.1", port=8000, workers=1, log_level="info", reload=False)
    assert config.app == AppConfig(
        served_by_header=True,
        shutdown_grace=30.0,
        debug=False,
        max_body_size=None,
        trusted_proxies=("127.0.0.1", "::1"),
    )
    assert (config.wsgi, config.asgi, config.routes) == ((), (), ())


@pytest.mark.anyio
async def test_the_built_app_serves_every_declared_thing(tmp_path: Path) -> None:
    app = Turnout.from_config(write_config(tmp_path, FULL))
    assert app.debug
    assert app.router.shutdown_grace == 5.0
    assert app.trusted_proxies == ("10.0.0.0/8", "*")
    assert [m.name for m in app.wsgi_mounts] == ["shop", "plain"]
    assert [m.limits for m in app.wsgi_mounts] == [
        LegacyLimits(threads=4, queue=0, queue_timeout=0.5, timeout=2.0, max_body_size=1000),
        LegacyLimits(),
    ]
    async with client(app) as http:
        index = await http.get("/shop/")
        assert index.text == "legacy index"
        assert "x-served-by" not in index.headers  # served_by_header = false
        assert (await http.get("/shop/items/7")).json() == {"item": 7, "version": 2}
        assert (await http.get("/plain/anything")).text == "wsgi function"
        assert (await http.get("/api/hello")).text == "hello from the api"
        assert (await http.get("/hello")).text == "hello from the api"
        assert (await http.post("/shop/items/7")).status_code == 405
        assert (await http.post("/plain/", content=b"x" * 2_000_000)).status_code == 413  # [app] max_body_size


def test_mounts_are_defined_at_their_line_of_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path, FULL)
    app = build_app(load_config(path), Turnout)
    defined = {entry.owner: entry.defined_at for entry in app.table if entry.kind == "mount"}
    assert defined == {"shop": f"{path}:15", "plain": f"{path}:25", "api": f"{path}:29"}


@pytest.mark.anyio
async def test_modules_next_to_the_file_import_by_plain_name(tmp_path: Path) -> None:
    write_module(
        tmp_path,
        "next_door",
        """
        from flask import Flask

        app = Flask(__name__)

        @app.get("/")
        def index():
            return "next door"
        """,
    )
    path = write_config(tmp_path, '[[wsgi]]\nprefix = "/"\napp = "next_door:app"\n')
    app = Turnout.from_config(path)
    # Left on sys.path: Uvicorn's workers and reloader import the app again.
    assert str(tmp_path.resolve()) in sys.path
    Turnout.from_config(path)
    assert sys.path.count(str(tmp_path.resolve())) == 1
    async with client(app) as http:
        assert (await http.get("/")).text == "next door"


def test_an_error_names_file_line_key_and_fix(tmp_path: Path) -> None:
    path = write_config(tmp_path, '[server]\nport = "8000"\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value) == (
        f"{path}:2: key 'server.port': must be an integer, not a string\n  fix: write it as port = 8000"
    )
    assert info.value.key == "server.port"
    assert info.value.file == f"{path}:2"


def test_a_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="nothere.toml: file not found\n  fix: check the path"):
        load_config(tmp_path / "nothere.toml")


def test_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"is a directory, not a file\n  fix: pass the path of the file"):
        load_config(tmp_path)


def test_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "turnout.toml"
    path.write_bytes(b'[server]\nhost = "\xff"\n')
    with pytest.raises(ConfigError, match="is not UTF-8 text"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ('[server]\nport = 8000\nhost = "x\n', ":3: ", "invalid TOML: Illegal character '\\n' (at line 3, column 10)"),
        ("[[wsgi]\n", ":1: ", "invalid TOML: Expected ']]' at the end of an array declaration (at line 1, column 7)"),
        ("[server]\nport = ", ": ", "invalid TOML: Invalid value (at end of document)"),
    ],
)
def test_a_toml_syntax_error_shows_line_and_column(tmp_path: Path, text: str, where: str, message: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(info.value).startswith(f"{path}{where}{message}")
    assert "fix: correct the syntax" in str(info.value)


# Each case: the file, then what the message must contain (line, key, problem and fix).
MISTAKES = {
    "unknown top-level table": (
        '[[routes]]\npath = "/"\n',
        ":1: key 'routes'",
        "unknown key 'routes'",
        "did you mean 'route'?",
    ),
    "unknown key in a table": ("[server]\nprot = 1\n", ":2: key 'server.prot'", "unknown key", "did you mean 'port'?"),
    "unknown key in an array": (
        '[[wsgi]]\nprefix = "/"\napp = "a:b"\nthread = 2\n',
        ":4: key 'wsgi[0].thread'",
        "unknown key 'thread'",
        "did you mean 'threads'? valid keys here: prefix, app, django_settings, name, threads",
    ),
    "unknown key, nothing close": (
        "[app]\nzzz = 1\n",
        ":2: key 'app.zzz'",
        "unknown key",
        "valid keys here: served_by_header",
    ),
    "nested table": ("[server.tls]\ncert = 'x'\n", ":1: key 'server.tls'", "unknown key 'tls'", "valid keys here"),
    "missing prefix": (
        '[[asgi]]\napp = "a:b"\n',
        ":1: key 'asgi[0].prefix'",
        "[[asgi]] needs 'prefix'",
        'add prefix = "/shop"',
    ),
    "missing app": ('[[wsgi]]\nprefix = "/"\n', ":1: key 'wsgi[0].app'", "[[wsgi]] needs 'app'", "add app = "),
    "missing endpoint": (
        '[[route]]\npath = "/"\n\n[[route]]\npath = "/x"\n',
        ":1: key 'route[0].endpoint'",
        "needs 'endpoint'",
        "add endpoint = ",
    ),
    "missing path": ('[[route]]\nendpoint = "a:b"\n', ":1: key 'route[0].path'", "needs 'path'", "add path = "),
    "string for int": ('[server]\nport = "80"\n', ":2:", "must be an integer, not a string", "port = 8000"),
    "bool for int": ("[server]\nworkers = true\n", ":2:", "must be an integer, not a boolean", "workers = 1"),
    "float for int": (
        '[[wsgi]]\nprefix = "/"\napp = "a:b"\nthreads = 1.5\n',
        ":4: key 'wsgi[0].threads'",
        "must be an integer, not a float",
        "threads = 10",
    ),
    "string for bool": ('[server]\nreload = "yes"\n', ":2:", "must be true or false, not a string", "reload = false"),
    "string for number": (
        '[app]\nshutdown_grace = "30"\n',
        ":2:",
        "must be a number, not a string",
        "shutdown_grace = 30",
    ),
    "bool for number": ("[app]\nshutdown_grace = true\n", ":2:", "must be a number, not a boolean", "shutdown_grace"),
    "array for string": ('[server]\nhost = ["a"]\n', ":2:", "must be a string, not an array", 'host = "127.0.0.1"'),
    "table for string": (
        '[[asgi]]\nprefix = "/"\napp = "a:b"\nname = {x = 1}\n',
        ":4: key 'asgi[0].name'",
        "must be a string, not a table",
        'name = "api"',
    ),
    "date for string": ("[server]\nhost = 1979-05-27\n", ":2:", "must be a string, not a date or time", "host"),
    "int for string": ('[[wsgi]]\nprefix = "/"\napp = 3\n', ":3:", "must be a string, not an integer", "app = "),
    "empty string": ('[[wsgi]]\nprefix = "/"\napp = "a:b"\nname = " "\n', ":4:", "cannot be empty", 'name = "shop"'),
    "server not a table": ("server = 1\n", ":1: key 'server'", "must be a table, not an integer", "[server] section"),
    "wsgi not an array": (
        '[wsgi]\nprefix = "/"\n',
        ":1: key 'wsgi'",
        "must be an array of tables, not a table",
        "one [[wsgi]] section (double brackets)",
    ),
    "wsgi array of values": ("wsgi = [1]\n", ":1: key 'wsgi'", "must be an array of tables, not an array", "[[wsgi]]"),
    "port too low": ("[server]\nport = 0\n", ":2:", "must be between 1 and 65535, not 0", "port = 8000"),
    "port too high": ("[server]\nport = 70000\n", ":2:", "must be between 1 and 65535, not 70000", "port = 8000"),
    "no workers": ("[server]\nworkers = 0\n", ":2: key 'server.workers'", "must be at least 1, not 0", "workers = 1"),
    "no threads": (
        '[[wsgi]]\nprefix = "/"\napp = "a:b"\nthreads = 0\n',
        ":4: key 'wsgi[0].threads'",
        "must be at least 1, not 0",
        "threads = 10",
    ),
    "negative queue": (
        '[[wsgi]]\nprefix = "/"\napp = "a:b"\nqueue = -1\n',
        ":4: key 'wsgi[0].queue'",
        "must be at least 0, not -1",
        "queue = 64",
    ),
    "zero timeout": (
        '[[wsgi]]\nprefix = "/"\napp = "a:b"\ntimeout = 0\n',
        ":4: key 'wsgi[0].timeout'",
        "must be more than 0, not 0",
        "timeout = 30",
    ),
    "negative app body size": (
        "[app]\nmax_body_size = -1\n",
        ":2: key 'app.max_body_size'",
        "must be at least 0, not -1",
        "max_body_size = 10_485_760",
    ),
    "negative grace": ("[app]\nshutdown_grace = -1\n", ":2:", "must be at least 0, not -1", "shutdown_grace = 30"),
    "nan grace": ("[app]\nshutdown_grace = nan\n", ":2:", "must be at least 0, not nan", "shutdown_grace = 30"),
    "unknown log level": (
        '[server]\nlog_level = "loud"\n',
        ":2: key 'server.log_level'",
        "unknown log level 'loud'",
        "use one of: critical, error, warning, info, debug, trace",
    ),
    "prefix without slash": (
        '[[wsgi]]\nprefix = "shop"\napp = "a:b"\n',
        ":2: key 'wsgi[0].prefix'",
        "must start with '/', not 'shop'",
        'prefix = "/shop"',
    ),
    "prefix with a parameter": (
        '[[asgi]]\nprefix = "/u/{id}"\napp = "a:b"\n',
        ":2: key 'asgi[0].prefix'",
        "a mount prefix cannot have parameters",
        'a static prefix such as "/shop"',
    ),
    "path without slash": (
        '[[route]]\npath = "users"\nendpoint = "a:b"\n',
        ":2: key 'route[0].path'",
        "must start with '/', not 'users'",
        'path = "/users"',
    ),
    "path with an unknown converter": (
        '[[route]]\npath = "/u/{id:number}"\nendpoint = "a:b"\n',
        ":2: key 'route[0].path'",
        "unknown path converter 'number'",
        "Starlette's syntax",
    ),
    "methods not an array": (
        '[[route]]\npath = "/"\nendpoint = "a:b"\nmethods = "GET"\n',
        ":4: key 'route[0].methods'",
        "must be an array of strings, not a string",
        'methods = ["GET", "POST"]',
    ),
    "empty methods": (
        '[[route]]\npath = "/"\nendpoint = "a:b"\nmethods = []\n',
        ":4:",
        "cannot be empty",
        "leave it out to serve GET",
    ),
    "a method that is not a string": (
        '[[route]]\npath = "/"\nendpoint = "a:b"\nmethods = [1]\n',
        ":4:",
        "must be an array of strings, but holds an integer",
        'methods = ["GET", "POST"]',
    ),
    "a proxy that is not an address": (
        '[app]\ntrusted_proxies = ["10.0.0.0/8", "proxy.local"]\n',
        ":2: key 'app.trusted_proxies'",
        "'proxy.local' is not an IP address or network",
        'or "*" for any peer: trusted_proxies = ["127.0.0.1", "10.0.0.0/8"]',
    ),
    "a method with a space": (
        '[[route]]\npath = "/"\nendpoint = "a:b"\nmethods = ["GET POST"]\n',
        ":4:",
        "'GET POST' is not an HTTP method",
        "methods = ",
    ),
    "duplicate names": (
        '[[wsgi]]\nprefix = "/a"\napp = "a:b"\nname = "x"\n\n[[asgi]]\nprefix = "/b"\napp = "a:b"\nname = "x"\n',
        ":9: key 'asgi[0].name'",
        "two mounts are named 'x': wsgi[0] (",
        'give each mount its own name, e.g. name = "x_2"',
    ),
    "duplicate names made from prefixes": (
        '[[wsgi]]\nprefix = "/a"\napp = "a:b"\n\n[[wsgi]]\nprefix = "/a/"\napp = "a:b"\n',
        ":5: key 'wsgi[1].name'",
        "two mounts are named 'a' (the name made from its prefix '/a/')",
        "its own name",
    ),
}


@pytest.mark.parametrize(("text", "where", "problem", "fix"), MISTAKES.values(), ids=MISTAKES.keys())
def test_each_mistake_is_reported_precisely(tmp_path: Path, text: str, where: str, problem: str, fix: str) -> None:
    path = write_config(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    head, _, tail = message.partition("\n  fix: ")
    assert problem in head
    assert fix in tail


# Each case: the [[...]] section, then what the message must contain.
BUILD_MISTAKES = {
    "module missing": (
        '[[wsgi]]\nprefix = "/"\napp = "turnout_no_such_module:app"\n',
        ":3: key 'wsgi[0].app'",
        "no module named 'turnout_no_such_module'",
        'point it at an object, as "package.module:attribute"',
    ),
    "module fails inside": (
        '[[asgi]]\nprefix = "/"\napp = "tests.fixtures.broken:app"\n',
        ":3: key 'asgi[0].app'",
        "No module named 'turnout_test_dependency_that_is_not_installed'",
        "point it at an object",
    ),
    "attribute missing": (
        '[[route]]\npath = "/"\nendpoint = "tests.fixtures.apps:helo"\n',
        ":3: key 'route[0].endpoint'",
        "has no attribute 'helo'; did you mean 'hello'?",
        "point it at an object",
    ),
    "bad import string": (
        '[[wsgi]]\nprefix = "/"\napp = "tests.fixtures.apps"\n',
        ":3:",
        'must be in the form "<module>:<attribute>"',
        "point it at an object",
    ),
    "ASGI app under wsgi": (
        '[[wsgi]]\nprefix = "/"\napp = "tests.fixtures.apps:api"\n',
        ":3: key 'wsgi[0].app'",
        "'tests.fixtures.apps:api' is an ASGI app, not a WSGI app",
        "declare it under [[asgi]] instead",
    ),
    "a class under wsgi": (
        '[[wsgi]]\nprefix = "/"\napp = "flask:Flask"\n',
        ":3:",
        "'flask:Flask' is the class Flask, not an instance of it, not a WSGI app",
        "point it at a WSGI app, e.g. a Flask()",
    ),
    "not callable under wsgi": (
        '[[wsgi]]\nprefix = "/"\napp = "tests.fixtures.apps:not_callable"\n',
        ":3:",
        "is a int object, which is not callable, not a WSGI app",
        "point it at a WSGI app",
    ),
    "WSGI app under asgi": (
        '[[asgi]]\nprefix = "/"\napp = "tests.fixtures.apps:legacy"\n',
        ":3: key 'asgi[0].app'",
        "'tests.fixtures.apps:legacy' is a WSGI app, not an ASGI app",
        "declare it under [[wsgi]] instead",
    ),
    "wrong callable under asgi": (
        '[[asgi]]\nprefix = "/"\napp = "tests.fixtures.apps:sync_three"\n',
        ":3:",
        "is a callable that takes neither (environ, start_response) nor (scope, receive, send), not an ASGI app",
        "point it at an ASGI app, e.g. a Starlette() or FastAPI()",
    ),
    "not callable for a route": (
        '[[route]]\npath = "/"\nendpoint = "tests.fixtures.apps:not_callable"\n',
        ":3: key 'route[0].endpoint'",
        "is a int object, which is not callable, not an endpoint",
        "async def endpoint(request) -> Response",
    ),
    "ASGI function for a route": (
        '[[route]]\npath = "/"\nendpoint = "tests.fixtures.apps:asgi_function"\n',
        ":3:",
        "is an ASGI app, not an endpoint",
        "mount it under [[asgi]] instead, or make it async def endpoint(request)",
    ),
    "WSGI function for a route": (
        '[[route]]\npath = "/"\nendpoint = "tests.fixtures.apps:wsgi_function"\n',
        ":3:",
        "is a WSGI app, not an endpoint",
        "mount it under [[wsgi]] instead",
    ),
    "WSGI app for a route": (
        '[[route]]\npath = "/"\nendpoint = "tests.fixtures.apps:legacy"\n',
        ":3:",
        "is a WSGI app, not an endpoint",
        "mount it under [[wsgi]] instead",
    ),
}


@pytest.mark.parametrize(("text", "where", "problem", "fix"), BUILD_MISTAKES.values(), ids=BUILD_MISTAKES.keys())
def test_each_import_mistake_is_reported_precisely(
    tmp_path: Path, text: str, where: str, problem: str, fix: str
) -> None:
    path = write_config(tmp_path, text)
    config = load_config(path)
    with pytest.raises(ConfigError) as info:
        build_app(config, Turnout)
    message = str(info.value)
    assert message.startswith(f"{path}{where}"), message
    head, _, tail = message.partition("\n  fix: ")
    assert problem in head
    assert fix in tail


@pytest.mark.anyio
async def test_endpoints_may_be_classes_partials_and_asgi_apps(tmp_path: Path) -> None:
    write_module(
        tmp_path,
        "endpoints",
        """
        import functools
        from starlette.endpoints import HTTPEndpoint
        from starlette.responses import PlainTextResponse

        class Page(HTTPEndpoint):
            async def get(self, request):
                return PlainTextResponse("class")

        async def greet(request, word):
            return PlainTextResponse(word)

        partial = functools.partial(greet, word="partial")
        """,
    )
    text = """
        [[route]]
        path = "/class"
        endpoint = "endpoints:Page"

        [[route]]
        path = "/partial"
        endpoint = "endpoints:partial"

        [[route]]
        path = "/app"
        endpoint = "tests.fixtures.apps:async_instance"
    """
    app = Turnout.from_config(write_config(tmp_path, text))
    async with client(app) as http:
        assert (await http.get("/class")).text == "class"
        assert (await http.get("/partial")).text == "partial"
        assert (await http.get("/app")).text == "asgi function"


def test_keys_are_located_in_the_raw_text() -> None:
    text = """\
# a comment = not a key
top = 1

[server]
"port" = 8000
host.name = "x"

[[wsgi]]
prefix = "/a"

[[ wsgi ]]
prefix = "/b"

[[route]]
path = "/"
asgi = [{ prefix = "/c" }]
"""
    assert locate_keys(text) == {
        "top": 2,
        "server": 4,
        "server.port": 5,
        "server.host.name": 6,
        "wsgi": 8,
        "wsgi[0]": 8,
        "wsgi[0].prefix": 9,
        "wsgi[1]": 11,
        "wsgi[1].prefix": 12,
        "route": 14,
        "route[0]": 14,
        "route[0].path": 15,
        "route[0].asgi": 16,
    }


def test_an_error_without_a_known_line_names_the_file(tmp_path: Path) -> None:
    config = TurnoutConfig(path=tmp_path / "turnout.toml")
    error = config.error("something is wrong", key="wsgi[3].app", fix="fix it")
    assert str(error) == f"{tmp_path / 'turnout.toml'}: key 'wsgi[3].app': something is wrong\n  fix: fix it"
