"""Import the routes of a legacy app that has a Werkzeug `url_map` (Flask and its blueprints).

Each rule keeps its own converters (its regex and `to_python`), so the table matches exactly
what the legacy app would. Rules bound to a host or subdomain cannot be matched by path alone;
they stay with the mount's prefix, which forwards them to the app (`has_host_rules` tells when
that mount must take every method). Rules Werkzeug never matches for an HTTP request
(`build_only`, `websocket`) are left out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from turnout.routing.imported import ImportedRoute, defined_at
from turnout.routing.pattern import parse_werkzeug

__all__ = ["WerkzeugRoutes", "build_url", "defined_at", "find_url_map", "has_host_rules", "import_routes"]


def find_url_map(app: Any) -> Any | None:
    """The Werkzeug `Map` of `app`, or `None` if it has none (the app is then an opaque prefix)."""
    try:
        from werkzeug.routing import Map
    except ImportError:  # pragma: no cover - Werkzeug comes with any app that has a url_map
        return None
    url_map = getattr(app, "url_map", None)
    return url_map if isinstance(url_map, Map) else None


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


class WerkzeugRoutes:
    """The `RouteSource` of an app with a Werkzeug `url_map`: Flask, its blueprints, plain Werkzeug apps."""

    def __init__(self, app: Any, url_map: Any) -> None:
        self.app = app
        self.url_map = url_map

    @classmethod
    def find(cls, app: Any) -> WerkzeugRoutes | None:
        url_map = find_url_map(app)
        return None if url_map is None else cls(app, url_map)

    @property
    def takes_every_method(self) -> bool:
        return has_host_rules(self.url_map)

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        return import_routes(self.app, self.url_map, mount_prefix)

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        from werkzeug.routing import BuildError

        try:
            return build_url(self.url_map, script_name, endpoint, params)
        except BuildError:
            return None
