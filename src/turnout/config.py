"""`turnout.toml` -> frozen dataclasses -> a `Turnout` app.

The file declares what the Python API does (mounts, native routes, app options) plus the
options of `turnout serve`. Reading it is split in two steps: `load_config` checks the shape of
the file (keys, types, ranges, prefixes, names) without importing anything, and `build_app`
imports the apps and endpoints and builds the app. Every mistake raises a `ConfigError` that
names the file and line, the key (`wsgi[0].threads`) and the fix, because a config error is
read by someone who did not write turnout and should not need a traceback.
"""

from __future__ import annotations

import difflib
import functools
import inspect
import ipaddress
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from turnout.bridge.options import LegacyLimits
from turnout.exceptions import ConfigError, ImportStringError, PatternError, SwitchError
from turnout.importer import import_from_string, is_asgi_app, is_wsgi_app, takes_positional
from turnout.middleware.proxy_headers import DEFAULT_TRUSTED
from turnout.routing.pattern import parse_prefix, parse_starlette
from turnout.server import DEFAULT_HEADER_TIMEOUT
from turnout.switch.admin import MIN_TOKEN
from turnout.switch.canary import Sticky
from turnout.switch.compare import CompareRules
from turnout.switch.health import Thresholds
from turnout.switch.options import NOISE_SAMPLE, SwitchOptions
from turnout.switch.shadow import MAX_IN_FLIGHT, MAX_PER_SECOND
from turnout.switch.shadow import TIMEOUT as SHADOW_TIMEOUT
from turnout.switch.state import Setting

if TYPE_CHECKING:
    from turnout.app import Turnout

CONFIG_FILE = "turnout.toml"
LOG_LEVELS = ("critical", "error", "warning", "info", "debug", "trace")
SHUTDOWN_GRACE = 30.0  # the same default as `Turnout(shutdown_grace=...)`


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """`[server]`: the options of `turnout serve`; command-line flags override them."""

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    log_level: str = "info"
    reload: bool = False
    header_timeout: float = DEFAULT_HEADER_TIMEOUT


@dataclass(frozen=True, slots=True)
class AppConfig:
    """`[app]`: the keyword arguments of `Turnout(...)`."""

    served_by_header: bool = True
    shutdown_grace: float = SHUTDOWN_GRACE
    debug: bool = False
    max_body_size: int | None = None
    trusted_proxies: tuple[str, ...] = DEFAULT_TRUSTED
    access_log: str | None = "text"
    shadow_max_in_flight: int = MAX_IN_FLIGHT
    shadow_max_per_second: float = MAX_PER_SECOND
    shadow_timeout: float = SHADOW_TIMEOUT
    gc_freeze: bool = True


@dataclass(frozen=True, slots=True)
class SessionsConfig:
    """`[sessions]`: one session for both sides (`enable_shared_sessions`), off unless the section is there."""

    secret_key_env: str | None = None
    redis_url: str | None = None
    user_loader: str | None = None
    user_id_key: str = "_user_id"
    cookie_name: str = "session"
    max_age: int = 31 * 24 * 3600
    same_site: str = "lax"


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    """`[metrics]`: the Prometheus endpoint, off unless the section is there."""

    path: str = "/metrics"
    token: str | None = None
    allow: tuple[str, ...] = DEFAULT_TRUSTED


@dataclass(frozen=True, slots=True)
class AdminConfig:
    """`[admin]`: the admin API of the switches, off unless the section is there."""

    path: str = "/_turnout"
    token_env: str = "TURNOUT_ADMIN_TOKEN"
    allow: tuple[str, ...] = DEFAULT_TRUSTED


@dataclass(frozen=True, slots=True)
class SwitchConfig:
    """One `[[switch]]`: the switch of a route both sides serve, as `Turnout.configure_switch` declares it."""

    route: str
    options: SwitchOptions
    key: str = "switch[0]"


@dataclass(frozen=True, slots=True)
class WSGIMountConfig:
    """One `[[wsgi]]`: a legacy WSGI app mounted under `prefix`, as `Turnout.mount_wsgi` does.

    `limits` holds `threads`, `queue`, `queue_timeout`, `timeout` and `max_body_size`.
    """

    prefix: str
    app: str
    name: str | None = None
    limits: LegacyLimits = LegacyLimits()
    key: str = "wsgi[0]"
    django_settings: str | None = None  # set up this Django project instead of importing `app`


@dataclass(frozen=True, slots=True)
class ASGIMountConfig:
    """One `[[asgi]]`: a new ASGI app mounted under `prefix`, as `Turnout.mount_asgi` does."""

    prefix: str
    app: str
    name: str | None = None
    key: str = "asgi[0]"


@dataclass(frozen=True, slots=True)
class RouteConfig:
    """One `[[route]]`: a native endpoint, as `Turnout.add_route` does."""

    path: str
    endpoint: str
    methods: tuple[str, ...] | None = None
    name: str | None = None
    key: str = "route[0]"


@dataclass(frozen=True, slots=True)
class TurnoutConfig:
    """The whole of a `turnout.toml`, checked. `lines` maps a key (`wsgi[0].threads`) to its line."""

    path: Path
    server: ServerConfig = ServerConfig()
    app: AppConfig = AppConfig()
    wsgi: tuple[WSGIMountConfig, ...] = ()
    asgi: tuple[ASGIMountConfig, ...] = ()
    routes: tuple[RouteConfig, ...] = ()
    metrics: MetricsConfig | None = None
    sessions: SessionsConfig | None = None
    admin: AdminConfig | None = None
    switches: tuple[SwitchConfig, ...] = ()
    lines: Mapping[str, int] = field(default_factory=dict, compare=False, repr=False)

    def error(self, message: str, *, key: str | None = None, fix: str | None = None) -> ConfigError:
        """A `ConfigError` that names this file, at the line of `key` when it can be found."""
        return ConfigError(message, file=_where(self.path, self.lines, key), key=key, fix=fix)


# -- locating keys in the raw text ----------------------------------------------------------

_ARRAY_HEADER = re.compile(r"^\s*\[\[\s*([^\[\]]+?)\s*\]\]")
_TABLE_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]")
_KEY_LINE = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _bare(key: str) -> str:
    return ".".join(part.strip().strip("\"'") for part in key.split("."))


def locate_keys(text: str) -> dict[str, int]:
    """The line of each table and key of a TOML text, keyed like `server`, `wsgi[1]`, `wsgi[1].threads`.

    A best effort for messages: tomllib does not give positions, and a line number saves the
    user a search.
    """
    lines: dict[str, int] = {}
    counts: dict[str, int] = {}
    current = ""
    for number, line in enumerate(text.splitlines(), start=1):
        if match := _ARRAY_HEADER.match(line):
            name = _bare(match.group(1))
            index = counts.get(name, 0)
            counts[name] = index + 1
            lines.setdefault(name, number)
            current = f"{name}[{index}]"
        elif match := _TABLE_HEADER.match(line):
            current = _bare(match.group(1))
        elif match := _KEY_LINE.match(line):
            name = _bare(match.group(1))
            lines.setdefault(f"{current}.{name}" if current else name, number)
            continue
        else:
            continue
        lines.setdefault(current, number)
    return lines


def _parent_key(key: str) -> str:
    """`wsgi[0].app` -> `wsgi[0]` -> `wsgi` -> `""`."""
    if "." in key:
        return key.rpartition(".")[0]
    return key.partition("[")[0] if "[" in key else ""


def _where(path: Path, lines: Mapping[str, int], key: str | None) -> str:
    # A key the scan did not find (written inline, say) falls back to the line of its table.
    while key:
        if key in lines:
            return f"{path}:{lines[key]}"
        key = _parent_key(key)
    return str(path)


# -- checking the shape ---------------------------------------------------------------------


def _toml_type(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "a table"
    assert isinstance(value, datetime | date | time), value
    return "a date or time"


_MISSING: Any = object()


class _Table:
    """One TOML table of the file, read key by key with a precise error for each mistake."""

    def __init__(self, config: TurnoutConfig, data: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
        self.config = config
        self.data = data
        self.key = key
        for name in data:
            if name not in allowed:
                raise _unknown_key(config, f"{key}.{name}" if key else name, name, allowed)

    def get(self, name: str, kinds: tuple[type, ...], expected: str, example: str) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING:
            return value
        # TOML booleans are Python ints: `port = true` must not pass as 1.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.config.error(
                f"must be {expected}, not {_toml_type(value)}", key=self.child(name), fix=f"write it as {example}"
            )
        return value

    def child(self, name: str) -> str:
        return f"{self.key}.{name}"

    def required_string(self, name: str, example: str) -> str:
        value = self.get(name, (str,), "a string", example)
        if value is _MISSING:
            raise self.config.error(
                f"[[{self.key.partition('[')[0]}]] needs {name!r}", key=self.child(name), fix=f"add {example}"
            )
        return self._non_empty(name, value, example)

    def optional_string(self, name: str, example: str, default: str | None = None) -> str | None:
        value = self.get(name, (str,), "a string", example)
        return default if value is _MISSING else self._non_empty(name, value, example)

    def _non_empty(self, name: str, value: str, example: str) -> str:
        if not value.strip():
            raise self.config.error("cannot be empty", key=self.child(name), fix=f"write it as {example}")
        return value

    def integer(self, name: str, default: int, *, minimum: int, maximum: int | None = None) -> int:
        example = f"{name} = {default}"
        value = self.get(name, (int,), "an integer", example)
        if value is _MISSING:
            return default
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f"at least {minimum}"
            raise self.config.error(
                f"must be {bounds}, not {value}", key=self.child(name), fix=f"write it as {example}"
            )
        return int(value)

    def optional_integer(self, name: str, example: str, *, minimum: int) -> int | None:
        value = self.get(name, (int,), "an integer", example)
        if value is _MISSING:
            return None
        if value < minimum:
            raise self.config.error(
                f"must be at least {minimum}, not {value}", key=self.child(name), fix=f"write it as {example}"
            )
        return int(value)

    def number(self, name: str, default: float, *, minimum: float, inclusive: bool = True) -> float:
        example = f"{name} = {default:g}"
        value = self.get(name, (int, float), "a number", example)
        if value is _MISSING:
            return default
        # Written as `not (...)` so that nan, which compares false with everything, is refused.
        if not (value >= minimum if inclusive else value > minimum):
            bound = f"at least {minimum:g}" if inclusive else f"more than {minimum:g}"
            raise self.config.error(f"must be {bound}, not {value}", key=self.child(name), fix=f"write it as {example}")
        return float(value)

    def strings(self, name: str, example: str) -> list[str] | None:
        value = self.get(name, (list,), "an array of strings", example)
        if value is _MISSING:
            return None
        for item in value:
            if not isinstance(item, str):
                raise self.config.error(
                    f"must be an array of strings, but holds {_toml_type(item)}",
                    key=self.child(name),
                    fix=f"write it as {example}",
                )
        return list(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.get(name, (bool,), "true or false", f"{name} = {str(default).lower()}")
        return default if value is _MISSING else bool(value)

    def path(self, name: str, example: str) -> str:
        value = self.required_string(name, example)
        if not value.startswith("/"):
            raise self.config.error(
                f"must start with '/', not {value!r}", key=self.child(name), fix=f'write it as {name} = "/{value}"'
            )
        return value


def _unknown_key(config: TurnoutConfig, key: str, name: str, allowed: tuple[str, ...]) -> ConfigError:
    close = difflib.get_close_matches(name, allowed, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return config.error(f"unknown key {name!r}", key=key, fix=f"{hint}valid keys here: {', '.join(allowed)}")


_TOP = ("server", "app", "wsgi", "asgi", "route", "metrics", "sessions", "admin", "switch")
_ADMIN = ("path", "token_env", "allow")
_SWITCH = (
    "route",
    "state",
    "percent",
    "sticky",
    "idempotent",
    "ignore_fields",
    "ignore_headers",
    "noise_sample",
    "error_rate",
    "p99_ratio",
    "mismatch_rate",
    "window",
    "min_requests",
)
_SESSIONS = ("secret_key_env", "redis_url", "user_loader", "user_id_key", "cookie_name", "max_age", "same_site")
_METRICS = ("path", "token", "allow")
_SERVER = ("host", "port", "workers", "log_level", "reload", "header_timeout")
_APP = (
    "served_by_header",
    "shutdown_grace",
    "debug",
    "max_body_size",
    "trusted_proxies",
    "access_log",
    "shadow_max_in_flight",
    "shadow_max_per_second",
    "shadow_timeout",
    "gc_freeze",
)
_WSGI = ("prefix", "app", "django_settings", "name", "threads", "queue", "queue_timeout", "timeout", "max_body_size")
_ASGI = ("prefix", "app", "name")
_ROUTE = ("path", "endpoint", "methods", "name")


def _section(config: TurnoutConfig, data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise config.error(f"must be a table, not {_toml_type(value)}", key=name, fix=f"write it as a [{name}] section")
    return value


def _array(config: TurnoutConfig, data: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = data.get(name, [])
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise config.error(
            f"must be an array of tables, not {_toml_type(value)}",
            key=name,
            fix=f"write one [[{name}]] section (double brackets) for each entry",
        )
    return value


def _read_server(config: TurnoutConfig, data: dict[str, Any]) -> ServerConfig:
    table = _Table(config, _section(config, data, "server"), "server", _SERVER)
    defaults = ServerConfig()
    log_level = (table.optional_string("log_level", 'log_level = "info"') or defaults.log_level).lower()
    if log_level not in LOG_LEVELS:
        raise config.error(
            f"unknown log level {log_level!r}", key="server.log_level", fix=f"use one of: {', '.join(LOG_LEVELS)}"
        )
    return ServerConfig(
        host=table.optional_string("host", f'host = "{defaults.host}"', defaults.host) or defaults.host,
        port=table.integer("port", defaults.port, minimum=1, maximum=65535),
        workers=table.integer("workers", defaults.workers, minimum=1),
        log_level=log_level,
        reload=table.boolean("reload", defaults.reload),
        header_timeout=table.number("header_timeout", defaults.header_timeout, minimum=0, inclusive=False),
    )


def _read_app(config: TurnoutConfig, data: dict[str, Any]) -> AppConfig:
    table = _Table(config, _section(config, data, "app"), "app", _APP)
    defaults = AppConfig()
    return AppConfig(
        served_by_header=table.boolean("served_by_header", defaults.served_by_header),
        shutdown_grace=table.number("shutdown_grace", defaults.shutdown_grace, minimum=0),
        debug=table.boolean("debug", defaults.debug),
        max_body_size=table.optional_integer("max_body_size", "max_body_size = 10_485_760", minimum=0),
        trusted_proxies=_trusted_proxies(config, table),
        access_log=_access_log(config, table),
        shadow_max_in_flight=table.integer("shadow_max_in_flight", defaults.shadow_max_in_flight, minimum=1),
        shadow_max_per_second=table.number(
            "shadow_max_per_second", defaults.shadow_max_per_second, minimum=0, inclusive=False
        ),
        shadow_timeout=table.number("shadow_timeout", defaults.shadow_timeout, minimum=0, inclusive=False),
        gc_freeze=table.boolean("gc_freeze", defaults.gc_freeze),
    )


def _access_log(config: TurnoutConfig, table: _Table) -> str | None:
    style = table.optional_string("access_log", 'access_log = "text"', "text")
    if style == "off":
        return None
    if style not in ("text", "json"):
        raise config.error(
            f"unknown access log style {style!r}", key=table.child("access_log"), fix='use "text", "json" or "off"'
        )
    return style


def _read_sessions(config: TurnoutConfig, data: dict[str, Any]) -> SessionsConfig | None:
    if "sessions" not in data:
        return None
    table = _Table(config, _section(config, data, "sessions"), "sessions", _SESSIONS)
    defaults = SessionsConfig()
    same_site = table.optional_string("same_site", 'same_site = "lax"', defaults.same_site) or defaults.same_site
    if same_site not in ("lax", "strict", "none"):
        raise config.error(
            f"unknown SameSite value {same_site!r}", key="sessions.same_site", fix='use "lax", "strict" or "none"'
        )
    redis_url = table.optional_string("redis_url", 'redis_url = "redis://127.0.0.1:6379/0"')
    if redis_url is not None and not redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise config.error(
            f"{redis_url!r} is not a Redis URL", key="sessions.redis_url", fix='write it as "redis://HOST:PORT/DB"'
        )
    return SessionsConfig(
        secret_key_env=table.optional_string("secret_key_env", 'secret_key_env = "SECRET_KEY"'),
        redis_url=redis_url,
        user_loader=table.optional_string("user_loader", 'user_loader = "myapp.users:load_user"'),
        user_id_key=table.optional_string("user_id_key", 'user_id_key = "_user_id"', defaults.user_id_key)
        or defaults.user_id_key,
        cookie_name=table.optional_string("cookie_name", 'cookie_name = "session"', defaults.cookie_name)
        or defaults.cookie_name,
        max_age=table.integer("max_age", defaults.max_age, minimum=1),
        same_site=same_site,
    )


def _read_metrics(config: TurnoutConfig, data: dict[str, Any]) -> MetricsConfig | None:
    if "metrics" not in data:
        return None
    table = _Table(config, _section(config, data, "metrics"), "metrics", _METRICS)
    defaults = MetricsConfig()
    path = table.optional_string("path", 'path = "/metrics"', defaults.path) or defaults.path
    if not path.startswith("/"):
        raise config.error(f"{path!r} does not start with '/'", key="metrics.path", fix='write it as "/metrics"')
    return MetricsConfig(
        path=path,
        token=table.optional_string("token", 'token = "a long random string"'),
        allow=_addresses(config, table, "allow"),
    )


def _read_admin(config: TurnoutConfig, data: dict[str, Any]) -> AdminConfig | None:
    if "admin" not in data:
        return None
    table = _Table(config, _section(config, data, "admin"), "admin", _ADMIN)
    defaults = AdminConfig()
    path = table.optional_string("path", 'path = "/_turnout"', defaults.path) or defaults.path
    if not path.startswith("/") or path == "/":
        raise config.error(f"{path!r} is not a path under '/'", key="admin.path", fix='write it as "/_turnout"')
    token_env = table.optional_string("token_env", 'token_env = "TURNOUT_ADMIN_TOKEN"', defaults.token_env)
    return AdminConfig(path=path, token_env=token_env or defaults.token_env, allow=_addresses(config, table, "allow"))


def _check_off(table: _Table, name: str, default: float | None, *, minimum: float, maximum: float) -> float | None:
    """A rollback threshold: a number in range, or `false` to turn the check off."""
    example = f"{name} = {default:g}" if default is not None else f"{name} = {minimum:g}"
    value = table.get(name, (int, float, bool), "a number, or false to turn the check off", example)
    if value is _MISSING:
        return default
    if value is False:
        return None
    if value is True or not (minimum <= value <= maximum):
        raise table.config.error(
            f"must be between {minimum:g} and {maximum:g}, or false, not {value!r}",
            key=table.child(name),
            fix=f"write it as {example}",
        )
    return float(value)


def _read_switches(config: TurnoutConfig, data: dict[str, Any]) -> tuple[SwitchConfig, ...]:
    switches = []
    seen: dict[str, str] = {}
    for index, raw in enumerate(_array(config, data, "switch")):
        key = f"switch[{index}]"
        table = _Table(config, raw, key, _SWITCH)
        route = table.required_string("route", 'route = "product_v2"')
        if route in seen:
            raise config.error(
                f"the route {route!r} has a switch already, at {seen[route]}",
                key=f"{key}.route",
                fix="keep one [[switch]] per route",
            )
        seen[route] = key
        state_text = table.optional_string("state", 'state = "shadow"', "new") or "new"
        percent = table.get("percent", (int, float), "a number from 0 to 100", "percent = 10")
        try:
            setting = Setting.parse(state_text, None if percent is _MISSING else float(percent))
        except ValueError as exc:
            raise config.error(str(exc), key=f"{key}.state", fix='write it as state = "canary", percent = 10') from None
        try:
            sticky = Sticky.parse(table.optional_string("sticky", 'sticky = "session:_user_id"', "cookie") or "cookie")
        except ValueError as exc:
            raise config.error(str(exc), key=f"{key}.sticky", fix='write it as sticky = "header:X-User-Id"') from None
        ignore_fields = tuple(table.strings("ignore_fields", 'ignore_fields = ["generated_at", "$.items[*].id"]') or ())
        try:
            CompareRules.build(ignore_fields=ignore_fields)
        except ValueError as exc:
            raise config.error(
                str(exc), key=f"{key}.ignore_fields", fix='write them as ["name", "$.path.to.field", "$.items[*].id"]'
            ) from None
        defaults = Thresholds()
        rollback = Thresholds(
            error_rate=_check_off(table, "error_rate", defaults.error_rate, minimum=0.0001, maximum=1),
            p99_ratio=_check_off(table, "p99_ratio", defaults.p99_ratio, minimum=1, maximum=1000),
            mismatch_rate=_check_off(table, "mismatch_rate", defaults.mismatch_rate, minimum=0.0001, maximum=1),
            window=table.number("window", defaults.window, minimum=1),
            min_requests=table.integer("min_requests", defaults.min_requests, minimum=1),
        )
        noise = table.number("noise_sample", NOISE_SAMPLE, minimum=0)
        if noise > 1:
            raise config.error(
                f"must be between 0 and 1, not {noise:g}",
                key=f"{key}.noise_sample",
                fix="write it as noise_sample = 0.1",
            )
        options = SwitchOptions(
            setting=setting,
            sticky=sticky,
            idempotent=table.boolean("idempotent", False),
            ignore_fields=ignore_fields,
            ignore_headers=tuple(table.strings("ignore_headers", 'ignore_headers = ["etag"]') or ()),
            noise_sample=noise,
            rollback=rollback,
        )
        switches.append(SwitchConfig(route=route, options=options, key=key))
    return tuple(switches)


def _trusted_proxies(config: TurnoutConfig, table: _Table) -> tuple[str, ...]:
    return _addresses(config, table, "trusted_proxies")


def _addresses(config: TurnoutConfig, table: _Table, name: str) -> tuple[str, ...]:
    """An array of addresses, networks or `"*"` (`trusted_proxies`, `allow`); leaving it out gives loopback."""
    example = f'{name} = ["127.0.0.1", "10.0.0.0/8"]'
    proxies = table.strings(name, example)
    if proxies is None:
        return DEFAULT_TRUSTED
    for proxy in proxies:
        if proxy == "*":
            continue
        try:
            ipaddress.ip_network(proxy, strict=False)
        except ValueError:
            raise config.error(
                f"{proxy!r} is not an IP address or network",
                key=table.child(name),
                fix=f'write addresses or networks, or "*" for any peer: {example}',
            ) from None
    return tuple(proxies)


def _prefix(config: TurnoutConfig, table: _Table) -> str:
    prefix = table.path("prefix", 'prefix = "/shop"')
    try:
        parse_prefix(prefix)
    except PatternError as exc:
        raise config.error(str(exc), key=table.child("prefix"), fix='use a static prefix such as "/shop"') from None
    return prefix


def _limits(table: _Table) -> LegacyLimits:
    defaults = LegacyLimits()
    return LegacyLimits(
        threads=table.integer("threads", defaults.threads, minimum=1),
        queue=table.integer("queue", defaults.queue, minimum=0),
        queue_timeout=table.number("queue_timeout", defaults.queue_timeout, minimum=0),
        timeout=table.number("timeout", defaults.timeout, minimum=0, inclusive=False),
        max_body_size=table.integer("max_body_size", defaults.max_body_size, minimum=0),
    )


def _read_wsgi(config: TurnoutConfig, data: dict[str, Any]) -> tuple[WSGIMountConfig, ...]:
    mounts = []
    for index, item in enumerate(_array(config, data, "wsgi")):
        table = _Table(config, item, f"wsgi[{index}]", _WSGI)
        prefix = _prefix(config, table)
        django_settings = table.optional_string("django_settings", 'django_settings = "mysite.settings"')
        if django_settings is not None and "app" in item:
            raise config.error(
                "both app and django_settings are given",
                key=f"{table.key}.django_settings",
                fix="give app (an import string) or django_settings (a Django settings module), not both",
            )
        app = "" if django_settings is not None else table.required_string("app", 'app = "legacy.wsgi:app"')
        mounts.append(
            WSGIMountConfig(
                prefix=prefix,
                app=app,
                name=table.optional_string("name", 'name = "shop"'),
                limits=_limits(table),
                key=table.key,
                django_settings=django_settings,
            )
        )
    return tuple(mounts)


def _read_asgi(config: TurnoutConfig, data: dict[str, Any]) -> tuple[ASGIMountConfig, ...]:
    mounts = []
    for index, item in enumerate(_array(config, data, "asgi")):
        table = _Table(config, item, f"asgi[{index}]", _ASGI)
        mounts.append(
            ASGIMountConfig(
                prefix=_prefix(config, table),
                app=table.required_string("app", 'app = "api.main:app"'),
                name=table.optional_string("name", 'name = "api"'),
                key=table.key,
            )
        )
    return tuple(mounts)


_METHOD = re.compile(r"[A-Za-z]+")


def _methods(config: TurnoutConfig, table: _Table) -> tuple[str, ...] | None:
    example = 'methods = ["GET", "POST"]'
    methods = table.strings("methods", example)
    if methods is None:
        return None
    key = table.child("methods")
    if not methods:
        raise config.error("cannot be empty", key=key, fix=f"leave it out to serve GET, or write {example}")
    for method in methods:
        if not _METHOD.fullmatch(method):
            raise config.error(f"{method!r} is not an HTTP method", key=key, fix=f"write it as {example}")
    return tuple(method.upper() for method in methods)


def _read_routes(config: TurnoutConfig, data: dict[str, Any]) -> tuple[RouteConfig, ...]:
    routes = []
    for index, item in enumerate(_array(config, data, "route")):
        table = _Table(config, item, f"route[{index}]", _ROUTE)
        path = table.path("path", 'path = "/users/{id:int}"')
        try:
            parse_starlette(path)
        except PatternError as exc:
            raise config.error(
                str(exc), key=table.child("path"), fix='use Starlette\'s syntax, as in "/users/{id:int}"'
            ) from None
        routes.append(
            RouteConfig(
                path=path,
                endpoint=table.required_string("endpoint", 'endpoint = "api.views:user"'),
                methods=_methods(config, table),
                name=table.optional_string("name", 'name = "user"'),
                key=table.key,
            )
        )
    return tuple(routes)


def mount_name(prefix: str, name: str | None) -> str:
    """The name `Turnout.mount_wsgi` and `mount_asgi` give a mount: `name`, or one made from the prefix."""
    return name or (prefix.strip("/").replace("/", "_") or "root")


def _check_names(config: TurnoutConfig, mounts: tuple[WSGIMountConfig | ASGIMountConfig, ...]) -> None:
    seen: dict[str, str] = {}
    for mount in mounts:
        name = mount_name(mount.prefix, mount.name)
        if name in seen:
            first = seen[name]
            where = _where(config.path, config.lines, first)
            implicit = "" if mount.name else f" (the name made from its prefix {mount.prefix!r})"
            raise config.error(
                f"two mounts are named {name!r}{implicit}: {first} ({where}) and {mount.key}",
                key=f"{mount.key}.name",
                fix=f'give each mount its own name, e.g. name = "{name}_2"',
            )
        seen[name] = mount.key


# -- loading --------------------------------------------------------------------------------

_TOML_LINE = re.compile(r"\(at line (\d+), column (\d+)\)")


def load_config(path: str | Path) -> TurnoutConfig:
    """Read and check the `turnout.toml` at `path`; nothing is imported yet.

    ```python
    config = load_config("turnout.toml")
    config.server.port, [mount.prefix for mount in config.wsgi]
    ```
    Raises `ConfigError`, naming the file, line and key, for every mistake.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            "file not found", file=str(path), fix=f"check the path, or create a {CONFIG_FILE} (see docs/config.md)"
        ) from None
    except IsADirectoryError:
        raise ConfigError(
            "is a directory, not a file", file=str(path), fix=f"pass the path of the file, e.g. {path / CONFIG_FILE}"
        ) from None
    try:
        text = raw.decode("utf-8")
        data = tomllib.loads(text)
    except UnicodeDecodeError as exc:
        raise ConfigError(f"is not UTF-8 text: {exc}", file=str(path), fix="save the file as UTF-8") from None
    except tomllib.TOMLDecodeError as exc:
        found = _TOML_LINE.search(str(exc))
        file = f"{path}:{found.group(1)}" if found else str(path)
        raise ConfigError(f"invalid TOML: {exc}", file=file, fix="correct the syntax (see https://toml.io)") from None
    config = TurnoutConfig(path=path, lines=locate_keys(text))
    _Table(config, data, "", _TOP)
    # Read in the order a file is usually written, so the first error reported is the first one in it.
    server = _read_server(config, data)
    app = _read_app(config, data)
    wsgi = _read_wsgi(config, data)
    asgi = _read_asgi(config, data)
    _check_names(config, (*wsgi, *asgi))
    routes = _read_routes(config, data)
    metrics = _read_metrics(config, data)
    sessions = _read_sessions(config, data)
    admin = _read_admin(config, data)
    switches = _read_switches(config, data)
    return TurnoutConfig(
        path=path,
        server=server,
        app=app,
        wsgi=wsgi,
        asgi=asgi,
        routes=routes,
        metrics=metrics,
        sessions=sessions,
        admin=admin,
        switches=switches,
        lines=config.lines,
    )


# -- building -------------------------------------------------------------------------------


def _import(config: TurnoutConfig, key: str, import_str: str) -> Any:
    try:
        return import_from_string(import_str)
    except ImportStringError as exc:
        raise config.error(str(exc), key=key, fix='point it at an object, as "package.module:attribute"') from exc


def _describe(obj: object) -> str:
    if is_asgi_app(obj):
        return "an ASGI app"
    if is_wsgi_app(obj):
        return "a WSGI app"
    if isinstance(obj, type):
        return f"the class {obj.__qualname__}, not an instance of it"
    if callable(obj):
        return "a callable that takes neither (environ, start_response) nor (scope, receive, send)"
    return f"a {type(obj).__name__} object, which is not callable"


def _is_endpoint(obj: object) -> bool:
    # What Starlette's `Route` accepts: a function or method taking the request, else an ASGI app
    # (an instance, not a function) or an endpoint class.
    handler = obj
    while isinstance(handler, functools.partial):
        handler = handler.func
    if inspect.isfunction(handler) or inspect.ismethod(handler):
        return takes_positional(obj, 1)
    return inspect.isclass(obj) or is_asgi_app(obj)


def _on_sys_path(directory: Path) -> None:
    # Left in place on purpose: Uvicorn's reloader and workers import the app again later.
    entry = str(directory)
    if entry not in sys.path:
        sys.path.insert(0, entry)


def build_app(config: TurnoutConfig, cls: type[Turnout]) -> Turnout:
    """Import what `config` names and build the app; `Turnout.from_config(path)` is the usual way in.

    Modules next to the config file import by their plain name: its directory goes on `sys.path`.
    Raises `ConfigError` for an import string that does not import, or names the wrong kind of object.
    """
    _on_sys_path(config.path.resolve().parent)
    app = cls(
        debug=config.app.debug,
        served_by_header=config.app.served_by_header,
        shutdown_grace=config.app.shutdown_grace,
        max_body_size=config.app.max_body_size,
        trusted_proxies=config.app.trusted_proxies,
        access_log=config.app.access_log,
        metrics_path=None if config.metrics is None else config.metrics.path,
        metrics_token=None if config.metrics is None else config.metrics.token,
        metrics_allow=DEFAULT_TRUSTED if config.metrics is None else config.metrics.allow,
        shadow_max_in_flight=config.app.shadow_max_in_flight,
        shadow_max_per_second=config.app.shadow_max_per_second,
        shadow_timeout=config.app.shadow_timeout,
        gc_freeze=config.app.gc_freeze,
        **_admin_options(config),
    )
    for wsgi in config.wsgi:
        if wsgi.django_settings is not None:
            legacy = _django(config, f"{wsgi.key}.django_settings", wsgi.django_settings)
            mount_django = app.mount_wsgi(wsgi.prefix, legacy, name=wsgi.name, **_limit_options(wsgi.limits))
            mount_django.defined_at = _where(config.path, config.lines, wsgi.key)
            continue
        key = f"{wsgi.key}.app"
        legacy = _import(config, key, wsgi.app)
        if not is_wsgi_app(legacy):
            fix = (
                "declare it under [[asgi]] instead" if is_asgi_app(legacy) else "point it at a WSGI app, e.g. a Flask()"
            )
            raise config.error(f"{wsgi.app!r} is {_describe(legacy)}, not a WSGI app", key=key, fix=fix)
        limits = wsgi.limits
        mount = app.mount_wsgi(
            wsgi.prefix,
            legacy,
            name=wsgi.name,
            threads=limits.threads,
            queue=limits.queue,
            queue_timeout=limits.queue_timeout,
            timeout=limits.timeout,
            max_body_size=limits.max_body_size,
        )
        mount.defined_at = _where(config.path, config.lines, wsgi.key)
    for asgi in config.asgi:
        key = f"{asgi.key}.app"
        new = _import(config, key, asgi.app)
        if not is_asgi_app(new):
            fix = (
                "declare it under [[wsgi]] instead"
                if is_wsgi_app(new)
                else "point it at an ASGI app, e.g. a Starlette() or FastAPI()"
            )
            raise config.error(f"{asgi.app!r} is {_describe(new)}, not an ASGI app", key=key, fix=fix)
        app.mount_asgi(asgi.prefix, new, name=asgi.name)
        app.router.asgi_mounts[-1].defined_at = _where(config.path, config.lines, asgi.key)
    for route in config.routes:
        key = f"{route.key}.endpoint"
        endpoint = _import(config, key, route.endpoint)
        if not _is_endpoint(endpoint):
            if is_wsgi_app(endpoint):
                fix = "mount it under [[wsgi]] instead"
            elif is_asgi_app(endpoint):
                fix = "mount it under [[asgi]] instead, or make it async def endpoint(request) -> Response"
            else:
                fix = "point it at an endpoint: async def endpoint(request) -> Response"
            raise config.error(f"{route.endpoint!r} is {_describe(endpoint)}, not an endpoint", key=key, fix=fix)
        methods = list(route.methods) if route.methods is not None else None
        app.add_route(route.path, endpoint, methods=methods, name=route.name)
    if config.sessions is not None:
        _enable_sessions(config, config.sessions, app)
    for switch in config.switches:
        app.router.switches.declare(switch.route, switch.options)
    if config.switches:
        try:
            app.switches  # noqa: B018 - builds the table, where a switch for a route that is no pair fails
        except SwitchError as exc:
            message = str(exc)
            found = [(message.find(repr(s.route)), s.key) for s in config.switches if repr(s.route) in message]
            failed = min(found)[1] if found else config.switches[0].key  # the route the message names first
            raise config.error(
                str(exc), key=f"{failed}.route", fix="name a route both sides serve (see `turnout switch`)"
            ) from None
    return app


def _admin_options(config: TurnoutConfig) -> dict[str, Any]:
    admin = config.admin
    if admin is None:
        return {}
    token = os.environ.get(admin.token_env, "")
    if len(token) < MIN_TOKEN:
        state = "is not set" if not token else f"is shorter than {MIN_TOKEN} characters"
        raise config.error(
            f"the admin API's token: the environment variable {admin.token_env} {state}",
            key="admin.token_env",
            fix=f'export {admin.token_env}="$(python -c "import secrets; print(secrets.token_urlsafe(32))")"',
        )
    return {"admin_path": admin.path, "admin_token": token, "admin_allow": admin.allow}


def _limit_options(limits: LegacyLimits) -> dict[str, Any]:
    return {
        "threads": limits.threads,
        "queue": limits.queue,
        "queue_timeout": limits.queue_timeout,
        "timeout": limits.timeout,
        "max_body_size": limits.max_body_size,
    }


def _django(config: TurnoutConfig, key: str, settings_module: str) -> Any:
    from turnout.integrations.django import django_app

    try:
        return django_app(settings_module)
    except ImportError as exc:
        raise config.error(
            f"the Django settings module {settings_module!r} does not import: {exc}",
            key=key,
            fix="name a settings module importable from the config's directory, e.g. mysite.settings",
        ) from None


def _enable_sessions(config: TurnoutConfig, sessions: SessionsConfig, app: Turnout) -> None:
    from turnout.sessions import enable_shared_sessions

    secret_key = None
    if sessions.secret_key_env is not None:
        secret_key = os.environ.get(sessions.secret_key_env)
        if not secret_key:
            raise config.error(
                f"the environment variable {sessions.secret_key_env} is not set",
                key="sessions.secret_key_env",
                fix=f"export {sessions.secret_key_env} with the legacy app's SECRET_KEY",
            )
    loader = None
    if sessions.user_loader is not None:
        loader = _import(config, "sessions.user_loader", sessions.user_loader)
        if not callable(loader):
            raise config.error(
                f"{sessions.user_loader!r} is {_describe(loader)}, not a function",
                key="sessions.user_loader",
                fix="point it at a function that takes a user id and returns a user (or None)",
            )
    enable_shared_sessions(
        app,
        secret_key=secret_key,
        redis_url=sessions.redis_url,
        user_loader=loader,
        user_id_key=sessions.user_id_key,
        cookie_name=sessions.cookie_name,
        max_age=sessions.max_age,
        same_site=sessions.same_site,  # type: ignore[arg-type]
    )


__all__ = [
    "ASGIMountConfig",
    "AdminConfig",
    "SwitchConfig",
    "AppConfig",
    "RouteConfig",
    "ServerConfig",
    "TurnoutConfig",
    "WSGIMountConfig",
    "build_app",
    "load_config",
]
