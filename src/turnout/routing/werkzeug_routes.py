"""Import the routes of a legacy app that has a Werkzeug `url_map` (Flask and its blueprints).

Each rule keeps its own converters (its regex and `to_python`), so the table matches exactly
what the legacy app would. Rules bound to a host or subdomain cannot be matched by path alone;
they stay with the mount's prefix, which forwards them to the app (`has_host_rules` tells when
that mount must take every method). Rules Werkzeug never matches for an HTTP request
(`build_only`, `websocket`) are left out.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from turnout.routing.pattern import RoutePattern, parse_werkzeug


@dataclass(frozen=True, slots=True)
class ImportedRoute:
    pattern: RoutePattern
    text: str
    original: str
    methods: frozenset[str] | None
    endpoint: str
    defined_at: str | None


def find_url_map(app: Any) -> Any | None:
    """The Werkzeug `Map` of `app`, or `None` if it has none (the app is then an opaque prefix)."""
    try:
        from werkzeug.routing import Map
    except ImportError:  # pragma: no cover - Werkzeug comes with any app that has a url_map
        return None
    url_map = getattr(app, "url_map", None)
    return url_map if isinstance(url_map, Map) else None


def defined_at(func: Callable[..., Any] | None) -> str | None:
    """`file:line` where `func` is defined, when Python knows it."""
    if func is None:
        return None
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return f"{code.co_filename}:{code.co_firstlineno}"


def _routable(rule: Any) -> bool:
    # Werkzeug never matches a build-only rule, nor a WebSocket rule for an HTTP request.
    return not (rule.build_only or rule.websocket)


def has_host_rules(url_map: Any) -> bool:
    """Whether some rules of `url_map` depend on the host or subdomain, so the path alone cannot say
    which methods the app takes: its mount must then take every method (`RouteSpec.any_method`)."""
    return bool(url_map.host_matching) or any(
        (rule.subdomain or rule.host) and _routable(rule) for rule in url_map.iter_rules()
    )


def import_routes(app: Any, url_map: Any, mount_prefix: str) -> list[ImportedRoute]:
    """Every path rule of `url_map`, with `mount_prefix` in front."""
    if url_map.host_matching:
        return []
    views: dict[str, Callable[..., Any]] = getattr(app, "view_functions", {})
    routes = []
    for rule in url_map.iter_rules():
        if rule.subdomain or rule.host or not _routable(rule):
            continue
        # Werkzeug merges repeated slashes in a rule (`merge_slashes`, on by default).
        text = re.sub("/{2,}", "/", rule.rule) if rule.merge_slashes else rule.rule
        pattern, text = parse_werkzeug(text, rule._converters, mount_prefix=mount_prefix)
        methods = frozenset(rule.methods) if rule.methods is not None else None
        routes.append(
            ImportedRoute(pattern, text, rule.rule, methods, rule.endpoint, defined_at(views.get(rule.endpoint)))
        )
    return routes


def build_url(url_map: Any, script_name: str, endpoint: str, values: dict[str, Any]) -> str:
    """Reverse `endpoint` with Werkzeug's own builder; raises `werkzeug.routing.BuildError`."""
    adapter = url_map.bind("localhost", script_name=script_name or "/")
    path: str = adapter.build(endpoint, values)
    return path
