"""Import the routes of a Starlette or FastAPI app mounted with `mount_asgi`.

`Route`s keep their Starlette patterns; a `Mount` of an app with routes (a Starlette or FastAPI
app, a `Router`) is walked, its path in front of its routes' and its name in front of theirs
(`"admin:users"`, as Starlette's `url_path_for` has it); a `Mount` of anything else (static
files, a bare ASGI app) is a route that takes the rest of the path. FastAPI keeps the routes of
`include_router` inside the routers it includes: `fastapi.routing.iter_route_contexts`, where
FastAPI has it, gives them with their prefixes; older FastAPI copies them into `app.routes`.

Left out: WebSocket routes (the table matches HTTP methods), `Host` routes and any other kind of
route the path alone cannot place. Starlette takes the first route that fits the path and the
method, so a later route with the same pattern only keeps the methods earlier ones refuse.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable, Iterable
from typing import Any

from starlette.applications import Starlette
from starlette.endpoints import HTTPEndpoint
from starlette.routing import Mount, NoMatchFound, Route, Router, WebSocketRoute

from turnout.routing.first_match import first_match_wins
from turnout.routing.imported import ImportedRoute, defined_at
from turnout.routing.pattern import parse_starlette

__all__ = ["StarletteRoutes", "import_routes"]

# What `HTTPEndpoint` dispatches to a handler of the same name (HEAD to `get` too).
_ENDPOINT_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "QUERY")


def _route_contexts(routes: Iterable[Any]) -> Iterable[Any]:
    """`routes`, with the routes of FastAPI's included routers in place of the routers."""
    module = sys.modules.get("fastapi.routing")  # FastAPI's routes exist only once it is imported
    iter_route_contexts: Callable[[Any], Iterable[Any]] | None = getattr(module, "iter_route_contexts", None)
    return routes if iter_route_contexts is None else iter_route_contexts(list(routes))


def _methods(route: Any) -> frozenset[str] | None:
    if route.methods:
        return frozenset(route.methods)
    endpoint = route.endpoint
    if inspect.isclass(endpoint) and issubclass(endpoint, HTTPEndpoint):
        names = {m for m in _ENDPOINT_METHODS if getattr(endpoint, m.lower(), None) is not None}
        return frozenset(names | {"HEAD"} if "GET" in names else names)
    return None


def _location(endpoint: Any) -> str | None:
    if inspect.isclass(endpoint):  # an HTTPEndpoint: where its first handler is
        endpoint = next((getattr(endpoint, m.lower()) for m in _ENDPOINT_METHODS if hasattr(endpoint, m.lower())), None)
    return defined_at(endpoint)


def _walk(routes: Iterable[Any], path: str, name: str, found: list[ImportedRoute], mount_prefix: str) -> bool:
    """Add the routes below `path` to `found`; whether some could not be placed by path (`Host`, unknown kinds)."""
    hidden = False
    for entry in _route_contexts(routes):
        route = getattr(entry, "original_route", entry)  # FastAPI's RouteContext gives the prefixed path
        if isinstance(route, WebSocketRoute):
            continue
        if isinstance(route, Mount):
            inner = entry.routes
            if inner:
                hidden |= _walk(
                    inner, path + entry.path, name + entry.name + ":" if entry.name else name, found, mount_prefix
                )
                continue
            rest = path + entry.path + "/{path:path}"  # as Starlette's Mount matches it
            endpoint = name + (entry.name or entry.path)
            found.append(
                ImportedRoute(parse_starlette(mount_prefix + rest), mount_prefix + rest, rest, None, endpoint, None)
            )
        elif isinstance(route, Route):
            text = path + entry.path
            found.append(
                ImportedRoute(
                    parse_starlette(mount_prefix + text),
                    mount_prefix + text,
                    text,
                    _methods(entry),
                    name + entry.name,
                    _location(entry.endpoint),
                )
            )
        else:
            hidden = True  # a Host, or a kind of route that only the app can place
    return hidden


def import_routes(app: Any, mount_prefix: str) -> tuple[list[ImportedRoute], bool]:
    """Every HTTP route of `app` that Starlette can reach, with `mount_prefix` in front, and whether some
    routes could not be placed by path (the mount then takes every method, as an ASGI mount does anyway)."""
    found: list[ImportedRoute] = []
    hidden = _walk(app.routes, "", "", found, mount_prefix.rstrip("/"))
    reachable, shadowed = first_match_wins(found, by_method=True)
    return reachable, hidden or shadowed


class StarletteRoutes:
    """The `RouteSource` of a Starlette app, a FastAPI app or a Starlette `Router`."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @classmethod
    def find(cls, app: Any) -> StarletteRoutes | None:
        return cls(app) if isinstance(app, Starlette | Router) else None

    @property
    def takes_every_method(self) -> bool:
        return import_routes(self.app, "")[1]

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        return import_routes(self.app, mount_prefix)[0]

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        """Reverse with the app's own `url_path_for`, under the mount's prefix."""
        try:
            path = self.app.url_path_for(endpoint, **params)
        except NoMatchFound:
            return None
        return script_name.rstrip("/") + str(path)
