"""`RouteTable.match` against a slow reference matcher, on random route sets and paths.

The reference knows nothing of the table's tree or of `RoutePattern`: it keeps its own model of
each route, builds one regex over the whole path from the converters' regexes, tries every route
in turn and picks the winner by the precedence rules of the issue:

- segment by segment, static beats typed (`int`, then `uuid`, then `float`), which beats
  untyped, which beats `path`, which beats a bare mount prefix;
- at an exact tie the new side (`asgi`) wins, and the legacy route is `replaced` when the new
  side serves all its methods;
- a route that matches only for other methods gives 405 with the methods of both sides, unless
  a mount that takes every method (an opaque app) matches; HEAD goes wherever GET goes;
- two routes of one side with the same pattern and overlapping methods fail with
  `DuplicateRouteError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.convertors import CONVERTOR_TYPES
from werkzeug.routing import Map

from turnout.exceptions import DuplicateRouteError
from turnout.routing.paths import split_path
from turnout.routing.pattern import parse_prefix, parse_starlette, parse_werkzeug
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable

Side = Literal["wsgi", "asgi"]
CONVERTERS = ("str", "int", "path", "uuid", "float")
STATIC = ("a", "b", "5", "1.5")
UUID = "c0ffee00-0000-4000-8000-00000000000a"
# Values a path segment may take: each fits one or more converters, or a static segment.
SAMPLES = ("a", "b", "5", "12", "1.5", UUID, "x-y", "")
METHODS = ("GET", "POST", "PUT")
REQUEST_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS")
AUTOMATIC = frozenset({"HEAD", "OPTIONS"})

# Precedence of one segment of the reference model; lower wins.
RANK = {"static": (0, 0), "int": (1, 1), "uuid": (1, 2), "float": (1, 3), "str": (2, 0), "path": (3, 0)}
PREFIX_RANK = (4, 0)

WERKZEUG_MAP = Map()
WERKZEUG_NAMES = {"str": "default", "int": "int", "path": "path", "uuid": "uuid", "float": "float"}


@dataclass(frozen=True)
class ModelRoute:
    """A route (or a mount's bare prefix) in the reference's own terms.

    `parts` holds static text, or a converter name prefixed with `:` (`":int"`); a `path`
    parameter can only come last, and a mount has static parts only.
    """

    name: str
    side: Side
    parts: tuple[str, ...]
    mount: bool
    opaque: bool
    methods: frozenset[str] | None

    # -- what the table is given ---------------------------------------------------------

    def spec(self) -> RouteSpec:
        if self.mount:
            text = "/" + "/".join(self.parts)
            entry = RouteEntry(text, None, self.side, self.name, self.name, kind="mount")
            return RouteSpec(entry, parse_prefix(text), self, any_method=self.opaque)
        if self.side == "asgi":
            text = "/" + "/".join(self._starlette_param(i, p[1:]) if p.startswith(":") else p for i, p in self.numbered)
            pattern = parse_starlette(text)
        else:
            text = "/" + "/".join(self._werkzeug_param(i, p[1:]) if p.startswith(":") else p for i, p in self.numbered)
            converters = {f"p{i}": self.werkzeug(p[1:]) for i, p in self.numbered if p.startswith(":")}
            pattern, text = parse_werkzeug(text, converters)
        entry = RouteEntry(text, self.methods, self.side, None, self.name)
        return RouteSpec(entry, pattern, self)

    @property
    def numbered(self) -> list[tuple[int, str]]:
        return list(enumerate(self.parts))

    @staticmethod
    def _starlette_param(index: int, converter: str) -> str:
        return f"{{p{index}}}" if converter == "str" else f"{{p{index}:{converter}}}"

    @staticmethod
    def _werkzeug_param(index: int, converter: str) -> str:
        return f"<p{index}>" if converter == "str" else f"<{converter}:p{index}>"

    @staticmethod
    def werkzeug(converter: str) -> Any:
        return WERKZEUG_MAP.converters[WERKZEUG_NAMES[converter]](WERKZEUG_MAP)

    # -- the reference -------------------------------------------------------------------

    def regex_and_converters(self) -> tuple[re.Pattern[str], dict[str, Callable[[str], Any]]]:
        if self.mount:
            static = "".join("/" + re.escape(p) for p in self.parts)
            return re.compile(f"{static}(?:/.*)?" if self.parts else "/.*", re.DOTALL), {}
        pieces = []
        convert: dict[str, Callable[[str], Any]] = {}
        for index, part in enumerate(self.parts):
            if not part.startswith(":"):
                pieces.append(re.escape(part))
                continue
            if self.side == "asgi":
                convertor = CONVERTOR_TYPES[part[1:]]
                regex, convert[f"p{index}"] = convertor.regex, convertor.convert
            else:
                converter = self.werkzeug(part[1:])
                regex, convert[f"p{index}"] = converter.regex, converter.to_python
            pieces.append(f"(?P<p{index}>{regex})")
        return re.compile("/" + "/".join(pieces), re.DOTALL), convert

    @property
    def precedence(self) -> tuple[tuple[int, int], ...]:
        ranks = [RANK[p[1:]] if p.startswith(":") else RANK["static"] for p in self.parts]
        if self.mount:
            ranks.append(PREFIX_RANK)
        return tuple(ranks)

    @property
    def identity(self) -> tuple[tuple[str, ...], bool]:
        return self.parts, self.mount

    @property
    def served(self) -> frozenset[str] | None:
        if self.methods is None or "GET" not in self.methods:
            return self.methods
        return self.methods | {"HEAD"}

    @property
    def significant(self) -> frozenset[str] | None:
        if self.methods is None:
            return None
        return (self.methods - AUTOMATIC) or self.methods


def overlap(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    return a is None or b is None or bool(a & b)


def duplicates(routes: list[ModelRoute]) -> list[ModelRoute]:
    """The routes that repeat an earlier one of the same side: same pattern, overlapping methods."""
    kept: list[ModelRoute] = []
    repeated = []
    for route in routes:
        if any(
            o.side == route.side and o.identity == route.identity and overlap(o.significant, route.significant)
            for o in kept
        ):
            repeated.append(route)
        else:
            kept.append(route)
    return repeated


def replaced(route: ModelRoute, routes: list[ModelRoute]) -> bool:
    if route.side != "wsgi":
        return False
    new = [r for r in routes if r.side == "asgi" and r.identity == route.identity]
    if not new:
        return False
    if any(r.methods is None for r in new):
        return True
    covered = frozenset().union(*(r.served or () for r in new))
    return route.significant is not None and route.significant <= covered


Expected = tuple[str, dict[str, Any]] | tuple[str, ...] | None


def reference_match(routes: list[ModelRoute], method: str, path: str) -> Expected:
    """The winner's name and parameters, or the sorted `Allow` methods of a 405, or `None`."""
    candidates = []
    for route in routes:
        regex, convert = route.regex_and_converters()
        found = regex.fullmatch(path)
        if found is None:
            continue
        try:
            params = {name: convert[name](value) for name, value in found.groupdict().items()}
        except ValueError:
            continue
        candidates.append((route, params))
    candidates.sort(key=lambda c: (c[0].precedence, c[0].side != "asgi"))
    allow: set[str] = set()
    route_matched = False
    for route, params in candidates:
        if not route.mount:
            route_matched = True
            allow.update(route.served or ())
        elif route_matched and not route.opaque:
            # A mount whose routes are all known does not catch a path a more specific route
            # matched for other methods.
            continue
        if route.served is None or method in route.served:
            return route.name, params
    if route_matched:
        return tuple(sorted(allow))
    return None


# -- strategies ------------------------------------------------------------------------------


def _methods(draw: st.DrawFn, side: Side) -> frozenset[str] | None:
    methods = draw(st.one_of(st.none(), st.frozensets(st.sampled_from(METHODS), min_size=1)))
    if side == "wsgi" and methods is not None and draw(st.booleans()):
        # As Flask declares them: HEAD with GET, and OPTIONS everywhere.
        methods = methods | {"OPTIONS"} | ({"HEAD"} if "GET" in methods else set())
    return methods


def _part(draw: st.DrawFn, *, last: bool) -> str:
    if draw(st.booleans()):
        return draw(st.sampled_from(STATIC))
    return ":" + draw(st.sampled_from(CONVERTERS if last else tuple(c for c in CONVERTERS if c != "path")))


def _route(draw: st.DrawFn, name: str, side: Side, parts: list[str]) -> ModelRoute:
    if ":path" in parts:
        parts = parts[: parts.index(":path") + 1]
    parts = [p for p in parts if p != ""] or [""]
    if parts[-1] not in (":path", "") and draw(st.integers(0, 5)) == 0:
        parts.append("")  # a trailing slash
    return ModelRoute(name, side, tuple(parts), False, False, _methods(draw, side))


def _mount(draw: st.DrawFn, name: str, side: Side, parts: list[str]) -> ModelRoute:
    opaque = side == "asgi" or draw(st.booleans())
    return ModelRoute(name, side, tuple(parts), True, opaque, None)


@st.composite
def model_routes(draw: st.DrawFn) -> list[ModelRoute]:
    """Routes and mounts, many of them variations on an earlier one, so that they compete."""
    routes: list[ModelRoute] = []
    for index in range(draw(st.integers(1, 10))):
        side: Side = draw(st.sampled_from(("asgi", "wsgi")))
        name = f"r{index}"
        if not routes or draw(st.integers(0, 3)) == 0:
            if draw(st.integers(0, 4)) == 0:
                routes.append(_mount(draw, name, side, draw(st.lists(st.sampled_from(STATIC), max_size=2))))
            else:
                count = draw(st.integers(0, 3))
                parts = [_part(draw, last=i == count - 1) for i in range(count)]
                routes.append(_route(draw, name, side, parts))
            continue
        base = draw(st.sampled_from(routes))
        parts = [p for p in base.parts if p != ""]
        change = draw(st.sampled_from(("side", "part", "tail", "mount", "longer")))
        if change == "part" and parts:
            position = draw(st.integers(0, len(parts) - 1))
            parts[position] = _part(draw, last=position == len(parts) - 1)
        elif change == "tail":
            parts = [*parts[: draw(st.integers(0, len(parts)))], ":path"]
        elif change == "mount":
            statics = [p for p in parts[: draw(st.integers(0, len(parts)))] if not p.startswith(":")]
            routes.append(_mount(draw, name, side, statics))
            continue
        elif change == "longer":
            parts.append(_part(draw, last=True))
        routes.append(_route(draw, name, side, parts))
    return routes


def sample_for(part: str, draw: st.DrawFn) -> list[str]:
    if not part.startswith(":"):
        return [part]
    converter = part[1:]
    if converter == "int":
        return [draw(st.sampled_from(("5", "12")))]
    if converter == "float":
        return [draw(st.sampled_from(("1.5", "5")))]
    if converter == "uuid":
        return [UUID]
    if converter == "str":
        return [draw(st.sampled_from(SAMPLES[:-1]))]
    return draw(st.lists(st.sampled_from(SAMPLES), min_size=1, max_size=3))


@st.composite
def paths_for(draw: st.DrawFn, routes: list[ModelRoute]) -> str:
    """A path: most often derived from one of the routes (then perhaps changed a little)."""
    if draw(st.integers(0, 4)) == 0:
        segments = draw(st.lists(st.sampled_from(SAMPLES), max_size=4))
    else:
        route = draw(st.sampled_from(routes))
        segments = []
        for part in route.parts:
            segments.extend(sample_for(part, draw))
        if route.mount:
            segments.extend(draw(st.lists(st.sampled_from(SAMPLES), max_size=2)))
        change = draw(st.integers(0, 5))
        if change == 0:
            segments.append(draw(st.sampled_from(SAMPLES)))
        elif change == 1 and segments:
            segments.pop()
        elif change == 2 and segments:
            segments[draw(st.integers(0, len(segments) - 1))] = draw(st.sampled_from(SAMPLES))
    return "/" + "/".join(segments)


def build(routes: list[ModelRoute]) -> RouteTable:
    return RouteTable([route.spec() for route in routes])


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_match_agrees_with_the_reference_matcher(data: st.DataObject) -> None:
    routes = data.draw(model_routes(), label="routes")
    repeated = duplicates(routes)
    if repeated:
        with pytest.raises(DuplicateRouteError) as caught:
            build(routes)
        # The message names both definitions.
        assert caught.value.args[0].count("endpoint ") == 2
        routes = [r for r in routes if r not in repeated]
    table = build(routes)

    for route in table.routes:
        model = route.target
        assert isinstance(model, ModelRoute)
        assert route.entry.status == ("replaced" if replaced(model, routes) else "active"), model

    for _ in range(12):
        path = data.draw(paths_for(routes), label="path")
        method = data.draw(st.sampled_from(REQUEST_METHODS), label="method")
        expected = reference_match(routes, method, path)
        got = table.match(method, split_path(path))
        if isinstance(got, Found):
            model = got.route.target
            assert isinstance(model, ModelRoute)
            assert (model.name, got.params) == expected, (method, path)
        elif isinstance(got, NotAllowed):
            assert got.allow == expected, (method, path)
        else:
            assert expected is None, (method, path)


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_precedence_does_not_depend_on_registration_order(data: st.DataObject) -> None:
    routes = data.draw(model_routes(), label="routes")
    routes = [r for r in routes if r not in duplicates(routes)]
    shuffled = data.draw(st.permutations(routes), label="order")
    table, other = build(routes), build(shuffled)
    for _ in range(8):
        path = data.draw(paths_for(routes), label="path")
        method = data.draw(st.sampled_from(REQUEST_METHODS), label="method")
        first, second = table.match(method, split_path(path)), other.match(method, split_path(path))
        if isinstance(first, Found) and isinstance(second, Found):
            # Two legacy routes with one pattern (GET and POST, both with Flask's automatic OPTIONS)
            # belong to one app in practice: compare what serves the request, not which entry.
            a, b = first.route.target, second.route.target
            assert isinstance(a, ModelRoute) and isinstance(b, ModelRoute)
            assert (a.side, a.identity, first.params) == (b.side, b.identity, second.params)
        else:
            assert first == second
