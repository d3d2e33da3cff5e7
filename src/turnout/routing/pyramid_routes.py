"""Import the routes of a Pyramid app (the `Router` that `config.make_wsgi_app()` gives).

Routes come from the app's routes mapper, in Pyramid's order: `/users/{id}` is `[^/]+`,
`{id:\\d+}` keeps its regex, `*rest` at the end takes the rest of the path (possibly empty), and
the old `:name` syntax is read as Pyramid reads it.

Methods are those of the route's `request_method` predicate and of its views' (`add_view(...,
request_method=...)`, through Pyramid's introspector), as `proutes` shows them. Pyramid never
answers 405: a route whose predicates refuse a request lets the next route try, and a view that
refuses it gives a 404. So a Pyramid mount takes every method under its prefix, and a method that
its matching route refuses still reaches the app, which decides. The methods in the table still
decide which side serves a method when a new route has the same pattern.

Pyramid also matches paths no route takes, by traversal: those reach the app through the prefix.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from turnout.routing.converters import CUSTOM_ORDER, Converter, Rank, may_match_slash
from turnout.routing.first_match import first_match_wins
from turnout.routing.imported import ImportedRoute, defined_at
from turnout.routing.pattern import Param, RoutePattern, Token, build_pattern

__all__ = ["PyramidRoutes", "import_routes", "parse_pyramid", "route_methods"]

# Pyramid's own syntax (`pyramid.urldispatch`): `{name}` or `{name:regex}`, the old `:name`, `*rest` at the end.
_PLACEHOLDER = re.compile(r"(\{[_a-zA-Z][^{}]*(?:\{[^{}]*\}[^{}]*)*\})")
_OLD_PLACEHOLDER = re.compile(r"(\:[_a-zA-Z]\w*)")
_STAR_AT_END = re.compile(r"\*(\w*)$")

_STR = Converter("str", "[^/]+", str, False, Rank.UNTYPED, 0)
# `*rest`: Pyramid's `.*?` up to the end, possibly empty, as Starlette's `path`.
_REST = Converter("path", "(?-s:.*)", str, True, Rank.TAIL, CUSTOM_ORDER)


def _regex_converter(regex: str) -> Converter:
    if regex == "[^/]+":
        return _STR
    spans = may_match_slash(regex)
    # Pyramid compiles without re.DOTALL, the table's matchers with it: "." must not match "\n" here.
    compiled = f"(?-s:{regex})" if "." in regex else regex
    return Converter(f"re:{regex}", compiled, str, spans, Rank.TAIL if spans else Rank.TYPED, CUSTOM_ORDER)


def parse_pyramid(pattern: str, *, mount_prefix: str = "") -> tuple[RoutePattern, str]:
    """Parse a Pyramid route pattern (`/users/{id}`, `/files/*subpath`), as `pyramid.urldispatch` does.

    Gives the pattern, with the mount prefix in front, and its text in Starlette's syntax where
    Starlette has the same converters, or in Pyramid's syntax where it has not.
    """
    if _OLD_PLACEHOLDER.search(pattern) and not _PLACEHOLDER.search(pattern):
        pattern = _OLD_PLACEHOLDER.sub(lambda m: "{" + m.group(0)[1:] + "}", pattern)
    if not pattern.startswith("/"):
        pattern = "/" + pattern
    remainder = None
    if _STAR_AT_END.search(pattern):
        pattern, remainder = pattern.rsplit("*", 1)
    prefix = mount_prefix.rstrip("/")
    tokens: list[Token] = [prefix]
    text = [prefix]
    parts = _PLACEHOLDER.split(pattern)
    for index, part in enumerate(parts):
        if index % 2 == 0:
            tokens.append(part)
            text.append(part)
            continue
        name, colon, regex = part[1:-1].partition(":")
        converter = _regex_converter(regex) if colon else _STR
        tokens.append(Param(name, converter))
        text.append("{" + name + "}" if converter is _STR else part)
    if remainder:
        tokens.append(Param(remainder, _REST))
        text.append("{" + remainder + ":path}")
    shown = "".join(text)
    return build_pattern(shown, tokens), shown


def _as_methods(value: Any) -> frozenset[str] | None:
    """A `request_method` as given to Pyramid: one method, several, or `None` (or `not_(...)`) for any."""
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, tuple | list | set | frozenset):
        return frozenset(value)
    return None


def _intersect(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    if a is None:
        return b
    return a if b is None else a & b


def route_methods(route: Any, registry: Any) -> tuple[frozenset[str] | None, Any]:
    """The methods of a route (its predicate's, and its views' through the introspector), and its first view."""
    from pyramid.predicates import RequestMethodPredicate  # type: ignore[import-untyped,unused-ignore]

    methods: frozenset[str] | None = None
    for predicate in route.predicates:
        if isinstance(predicate, RequestMethodPredicate):
            methods = _intersect(methods, frozenset(predicate.val))
    intr = registry.introspector.get("routes", route.name)
    views = [v for v in registry.introspector.related(intr) if v.category_name == "views"] if intr else []
    if not views:
        return methods, None
    view_methods: frozenset[str] | None = frozenset()
    for view in views:
        given = _as_methods(view["request_methods"])
        view_methods = None if given is None or view_methods is None else view_methods | given
    first = views[0]
    callable_ = first["callable"]
    if first["attr"] is not None:
        callable_ = getattr(callable_, first["attr"])
    return _intersect(methods, view_methods), callable_


def import_routes(app: Any, mapper: Any, mount_prefix: str) -> list[ImportedRoute]:
    """Every route of `mapper` that Pyramid can reach, with `mount_prefix` in front."""
    routes = []
    for route in mapper.get_routes():
        pattern, text = parse_pyramid(route.pattern, mount_prefix=mount_prefix)
        methods, view = route_methods(route, app.registry)
        routes.append(ImportedRoute(pattern, text, route.pattern, methods, route.name, defined_at(view)))
    return first_match_wins(routes, by_method=True)[0]


class PyramidRoutes:
    """The `RouteSource` of a Pyramid app with URL dispatch; an app that only traverses stays opaque."""

    def __init__(self, app: Any, mapper: Any) -> None:
        self.app = app
        self.mapper = mapper

    @classmethod
    def find(cls, app: Any) -> PyramidRoutes | None:
        # An app can only be a Pyramid Router once Pyramid's router is imported: no import here.
        module = sys.modules.get("pyramid.router")
        if module is None or not isinstance(app, module.Router):
            return None
        from pyramid.interfaces import IRoutesMapper  # type: ignore[import-untyped,unused-ignore]

        mapper = app.registry.queryUtility(IRoutesMapper)
        return None if mapper is None else cls(app, mapper)

    @property
    def takes_every_method(self) -> bool:
        return True  # Pyramid's predicates let a refused method go on to the next route, or to traversal

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        return import_routes(self.app, self.mapper, mount_prefix)

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        """Reverse with the route's own generator (what `request.route_path` uses), under the mount's prefix.

        A route's `pregenerator` needs a request and is not applied.
        """
        route = self.mapper.get_route(endpoint)
        if route is None:
            return None
        try:
            path: str = route.generate(params)
        except KeyError:
            return None  # a parameter is missing
        return script_name + path
