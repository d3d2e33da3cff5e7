"""Import the routes of a Bottle app (`app.routes`).

Each wildcard keeps the regex of Bottle's own filter (`Router.filters`): `<name>` is `[^/]+`,
`<name:int>` is `-?\\d+`, `<name:float>` is `-?[\\d.]+`, `<name:path>` is `.+?`, `<name:re:...>` its
own regex, and a filter added with `router.add_filter` whatever it gives; the old `:name` and
`:name#regex#` syntax is read as Bottle reads it. A value a filter cannot convert (`1.2.3` for a
`float`) still matches: Bottle answers 400 itself.

Bottle keeps one route for each rule and method, the last one defined; it tries a path's `PROXY`
routes (a mounted WSGI app) first, then those of the request's method, then `ANY`. The table
keeps the routes Bottle can reach. An `ANY` route on a rule that also has routes for given
methods takes "every other method", which the table cannot say: it is left to the mount's prefix,
which then takes every method.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

from turnout.routing.converters import Converter, may_match_slash, ranked
from turnout.routing.imported import ImportedRoute, defined_at
from turnout.routing.pattern import Param, RoutePattern, Token, build_pattern

__all__ = ["BottleRoutes", "import_routes", "parse_bottle"]

Identity = tuple[tuple[str, str], ...]
_ANY_METHOD = ("ANY", "PROXY")


def _rule_tokens(router: Any, rule: str) -> Iterator[tuple[str, str | None, str | None, str]]:
    """Bottle's `Router._itertokens` (static text, or a wildcard's name, filter and its configuration),
    with each wildcard as written; without Bottle's deprecation warning for the old syntax, which
    Bottle gave when the route was added."""
    offset, prefix = 0, ""
    for match in router.rule_syntax.finditer(rule):
        prefix += rule[offset : match.start()]
        groups = match.groups()
        if len(groups[0]) % 2:  # an escaped wildcard is text
            prefix += match.group(0)[len(groups[0]) :]
            offset = match.end()
            continue
        if prefix:
            yield prefix, None, None, prefix
        name, mode, conf = groups[4:7] if groups[2] is None else groups[1:4]
        yield name, mode or "default", conf or None, match.group(0)[len(groups[0]) :]
        offset, prefix = match.end(), ""
    yield prefix + rule[offset:], None, None, prefix + rule[offset:]


def _without_dotall(regex: str) -> str:
    # Bottle compiles without re.DOTALL, the table's matchers with it: "." must not match "\n" here.
    return f"(?-s:{regex})" if "." in regex else regex


def _lenient(to_python: Callable[[str], Any] | None) -> Callable[[str], Any]:
    """A filter's conversion that never refuses a value: Bottle answers 400 itself for one that fails."""
    if to_python is None:
        return str

    def convert(value: str) -> Any:
        try:
            return to_python(value)
        except Exception:
            return value

    return convert


def _filter_converter(router: Any, mode: str, conf: str | None) -> Converter:
    if mode == "default":
        mode = router.default_filter
    regex, to_python, _ = router.filters[mode](conf)
    if mode == "re":
        label = "str" if regex == router.default_pattern else f"re:{conf}"
    elif mode in ("int", "float", "path"):
        label = mode
    else:
        label = mode if conf is None else f"{mode}:{conf}"
    spans = mode == "path" or (mode not in ("int", "float") and may_match_slash(regex))
    rank, order = ranked(label, label, spans)
    return Converter(label, _without_dotall(regex), _lenient(to_python), spans, rank, order)


def parse_bottle(router: Any, rule: str, *, mount_prefix: str = "") -> tuple[RoutePattern, str]:
    """Parse a Bottle rule (`/hello/<name>`) with the filters of `router`.

    Gives the pattern, with the mount prefix in front, and its text in Starlette's syntax where
    Starlette has the same converters, or in Bottle's syntax where it has not.
    """
    tokens: list[Token] = [mount_prefix.rstrip("/")]
    text = [mount_prefix.rstrip("/")]
    anonymous = 0
    for key, mode, conf, written in _rule_tokens(router, rule):
        if mode is None:
            tokens.append(key)
            text.append(key)
            continue
        if not key:
            key = f"anon{anonymous}"
            anonymous += 1
        converter = _filter_converter(router, mode, conf)
        tokens.append(Param(key, converter))
        if converter.label == "str":
            text.append("{" + key + "}")
        elif converter.label in ("int", "float", "path"):
            text.append("{" + key + ":" + converter.label + "}")
        else:
            text.append(written)
    shown = "".join(text)
    return build_pattern(shown, tokens), shown


def _endpoint(route: Any) -> str:
    name: str | None = route.name
    return name or getattr(route.callback, "__name__", None) or route.rule


def import_routes(app: Any, mount_prefix: str) -> tuple[list[ImportedRoute], bool]:
    """Every route Bottle can reach, with `mount_prefix` in front, and whether some were left to the
    mount's prefix (`ANY` routes on rules that also have routes for given methods)."""
    # Bottle keeps the last route for one rule and method.
    chosen: dict[tuple[Identity, str], ImportedRoute] = {}
    for route in app.routes:
        if not route.rule.startswith("/"):
            continue  # Bottle matches paths that start with "/": it never reaches this rule
        pattern, text = parse_bottle(app.router, route.rule, mount_prefix=mount_prefix)
        method = route.method.upper()
        methods = None if method in _ANY_METHOD else frozenset({method})
        imported = ImportedRoute(pattern, text, route.rule, methods, _endpoint(route), defined_at(route.callback))
        chosen[pattern.identity, method] = imported
    methods_of: dict[Identity, set[str]] = {}
    for identity, method in chosen:
        methods_of.setdefault(identity, set()).add(method)
    hidden = False
    merged: dict[tuple[Identity, str], ImportedRoute] = {}
    for (identity, method), imported in chosen.items():
        present = methods_of[identity]
        if method != "PROXY" and "PROXY" in present:
            continue  # the mounted app takes every method first
        if method == "ANY" and present != {"ANY"}:
            hidden = True  # "every method but these"
            continue
        key = (identity, imported.endpoint)
        earlier = merged.get(key)
        if earlier is not None:  # one callback for several methods: one entry
            assert earlier.methods is not None and imported.methods is not None
            imported = replace(earlier, methods=earlier.methods | imported.methods)
        merged[key] = imported
    return list(merged.values()), hidden


class BottleRoutes:
    """The `RouteSource` of a Bottle app."""

    def __init__(self, app: Any) -> None:
        self.app = app

    @classmethod
    def find(cls, app: Any) -> BottleRoutes | None:
        # An app can only be a Bottle once Bottle is imported: no import here.
        module = sys.modules.get("bottle")
        if module is None or not isinstance(app, module.Bottle):
            return None
        return cls(app)

    @property
    def takes_every_method(self) -> bool:
        return import_routes(self.app, "")[1]

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        return import_routes(self.app, mount_prefix)[0]

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        """Reverse with Bottle's own builder (what `app.get_url` uses), under the mount's prefix.

        `endpoint` is a route's name, a rule, or the name of an unnamed route's callback.
        """
        from bottle import RouteBuildError  # type: ignore[import-untyped,unused-ignore]

        router = self.app.router
        key = endpoint
        if key not in router.builder:
            rules = [r.rule for r in self.app.routes if not r.name and _endpoint(r) == endpoint]
            if not rules:
                return None
            key = rules[0]
        try:
            location: str = router.build(key, **params)
        except RouteBuildError:
            return None
        # `Bottle.get_url`: the script name, then the rule's path.
        return script_name.rstrip("/") + "/" + location.lstrip("/")
