"""The shared routing table: every route of both sides, matched by a tree.

Each route is inserted into a tree keyed by segment: a dict for static segments, a short
list of regex edges (shared by every route with the same regex at that point), tails and
prefixes. A match walks only the branches that fit the path, so its cost does not grow
with the number of routes. It collects every route that fits, then picks the most specific
by `RoutePattern.sort_key`; at an exact tie the new side wins over the legacy side.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal, NamedTuple

from turnout._text import aligned
from turnout.exceptions import DuplicateRouteError
from turnout.routing.pattern import RoutePattern, SegmentKey, SegmentMatcher

Side = Literal["wsgi", "asgi"]
Status = Literal["active", "replaced"]
Kind = Literal["route", "mount"]

Identity = tuple[tuple[str, str], ...]

_SIDE_ORDER = {"asgi": 0, "wsgi": 1}
_AUTOMATIC = frozenset({"HEAD", "OPTIONS"})


@dataclass(frozen=True, slots=True)
class RouteEntry:
    """One route of the shared table, as `turnout routes` shows it.

    - `pattern`: the full path pattern, mount prefix included, in Starlette's syntax where it can be;
    - `methods`: the methods it serves, or `None` for any;
    - `side`: `"wsgi"` (legacy) or `"asgi"` (new);
    - `owner`: the mount's name, or `None` for a native route;
    - `endpoint`: the endpoint's name (a Flask endpoint, a route's name);
    - `defined_at`: `file:line` where it was defined, when known;
    - `status`: `"active"`, or `"replaced"` when a new route with the same pattern serves all its methods;
    - `original`: the pattern as written in the legacy app, for imported routes;
    - `kind`: `"route"`, or `"mount"` for the bare prefix of a mount.
    """

    pattern: str
    methods: frozenset[str] | None
    side: Side
    owner: str | None
    endpoint: str
    defined_at: str | None = None
    status: Status = "active"
    original: str | None = None
    kind: Kind = "route"

    @property
    def served_by(self) -> str:
        """The value of the `X-Served-By` header for a response from this route."""
        return f"{self.side}:{self.owner or self.endpoint}"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["methods"] = None if self.methods is None else sorted(self.methods)
        return data


@dataclass(frozen=True, slots=True)
class RouteSpec:
    """What a mount or a native route contributes to the table.

    `target` is opaque to the table; the router dispatches to it. `any_method` marks the prefix
    of a mount that cannot be introspected: it takes every method, even on a path where a
    known route matched for other methods.
    """

    entry: RouteEntry
    pattern: RoutePattern
    target: Any
    any_method: bool = False
    pairs: bool = True  # a new route that may pair with legacy ones (see `TableRoute.legacy`)


@dataclass(slots=True)
class TableRoute:
    """A route as the table holds it: its entry, its pattern and what to dispatch to."""

    entry: RouteEntry
    pattern: RoutePattern
    target: Any
    any_method: bool
    sort_key: tuple[tuple[SegmentKey, ...], int, int]
    methods: frozenset[str] | None
    is_route: bool = True  # False for a mount's bare prefix
    pairs: bool = True
    # For a new route: the legacy routes with the same pattern, whose traffic a switch can move.
    legacy: tuple[TableRoute, ...] = ()
    switch: Any = None  # the router's switch for this pair, attached when the table is bound

    def partner(self, method: str) -> TableRoute | None:
        """The legacy route of this pair that serves `method`, if any."""
        for route in self.legacy:
            methods = route.methods
            if methods is None or method in methods:
                return route
        return None

    def accepts(self, method: str) -> bool:
        methods = self.methods
        return methods is None or method in methods


class Found(NamedTuple):
    route: TableRoute
    params: dict[str, Any]


class NotAllowed(NamedTuple):
    """The path matched, but only for other methods: a 405 with these in `Allow`."""

    allow: tuple[str, ...]


Candidate = tuple[TableRoute, tuple[str, ...]]


@dataclass(slots=True)
class _Edge:
    """A regex over one segment (or, for a tail, the rest of the path) and the groups it captures."""

    regex: re.Pattern[str]
    groups: tuple[int, ...]
    first: int  # the only group, or -1 when there are several

    @classmethod
    def of(cls, matcher: SegmentMatcher) -> _Edge:
        regex = matcher.regex
        groups = tuple(regex.groupindex[f"_t{i}"] for i in range(len(matcher.params)))
        return cls(regex, groups, groups[0] if len(groups) == 1 else -1)

    def captures(self, found: re.Match[str]) -> tuple[str, ...]:
        if self.first >= 0:
            return (found.group(self.first),)
        values: tuple[str, ...] = found.group(*self.groups)
        return values


@dataclass(slots=True)
class _Node:
    static: dict[str, _Node] = field(default_factory=dict)
    dynamic: dict[str, tuple[_Edge, _Node]] = field(default_factory=dict)
    tails: list[tuple[_Edge, TableRoute]] = field(default_factory=list)
    prefixes: list[TableRoute] = field(default_factory=list)
    routes: list[TableRoute] = field(default_factory=list)
    plain: bool = False  # only static children: the walk follows it without looking further

    def seal(self) -> None:
        self.plain = not (self.dynamic or self.tails or self.prefixes)
        for child in self.static.values():
            child.seal()
        for _, child in self.dynamic.values():
            child.seal()


def significant_methods(methods: frozenset[str] | None) -> frozenset[str] | None:
    """The methods a route really declares: HEAD and OPTIONS are added automatically by most frameworks."""
    if methods is None:
        return None
    rest = methods - _AUTOMATIC
    return rest or methods


def _overlap(a: frozenset[str] | None, b: frozenset[str] | None) -> bool:
    if a is None or b is None:
        return True
    return bool(a & b)


def _within(route: RoutePattern, mount: RoutePattern) -> bool:
    """Whether every path of `route` is under the static prefix `mount`."""
    prefix = mount.segments
    return len(prefix) <= len(route.segments) and all(
        isinstance(p, str) and p == s for p, s in zip(prefix, route.segments, strict=False)
    )


def _with_head(methods: frozenset[str] | None) -> frozenset[str] | None:
    if methods is None or "GET" not in methods:
        return methods
    return methods | {"HEAD"}


class RouteTable:
    """Every route of both sides, and the tree that matches a request against them.

    ```python
    table = app.table
    for entry in table:
        print(entry.pattern, entry.side, entry.status)
    ```
    """

    def __init__(self, specs: Iterable[RouteSpec]) -> None:
        specs = list(specs)
        self._check_duplicates(specs)
        specs = self._mark_replaced(specs)
        self._root = _Node()
        self._routes: list[TableRoute] = []
        for seq, spec in enumerate(specs):
            route = TableRoute(
                entry=spec.entry,
                pattern=spec.pattern,
                target=spec.target,
                any_method=spec.any_method,
                sort_key=(spec.pattern.sort_key, _SIDE_ORDER[spec.entry.side], seq),
                methods=_with_head(spec.entry.methods),
                is_route=spec.entry.kind == "route",
                pairs=spec.pairs,
            )
            self._routes.append(route)
            self._insert(route)
        self._root.seal()
        self._pair()

    # -- building ---------------------------------------------------------------------------

    @staticmethod
    def _check_duplicates(specs: Sequence[RouteSpec]) -> None:
        seen: dict[tuple[str, Identity], list[RouteSpec]] = {}
        for spec in specs:
            key = (spec.entry.side, spec.pattern.identity)
            for other in seen.get(key, []):
                if _overlap(significant_methods(spec.entry.methods), significant_methods(other.entry.methods)):
                    raise DuplicateRouteError(
                        f"two {spec.entry.side} routes have the same pattern and methods:\n"
                        f"  {_describe(other.entry)}\n  {_describe(spec.entry)}\n"
                        "  fix: remove one, give them different methods, or change one of the patterns"
                    )
            seen.setdefault(key, []).append(spec)

    @staticmethod
    def _mark_replaced(specs: list[RouteSpec]) -> list[RouteSpec]:
        new_methods: dict[Identity, set[str] | None] = {}
        for spec in specs:
            if spec.entry.side != "asgi":
                continue
            identity = spec.pattern.identity
            methods = _with_head(spec.entry.methods)
            covered = new_methods.get(identity, set())
            new_methods[identity] = None if methods is None or covered is None else covered | methods
        result = []
        for spec in specs:
            identity = spec.pattern.identity
            if spec.entry.side == "wsgi" and identity in new_methods:
                covered = new_methods[identity]
                wanted = significant_methods(spec.entry.methods)
                if covered is None or (wanted is not None and wanted <= covered):
                    spec = replace(spec, entry=replace(spec.entry, status="replaced"))
            result.append(spec)
        return result

    def _pair(self) -> None:
        """Give each new route the legacy routes with the same pattern whose methods overlap its own."""
        legacy: dict[Identity, list[TableRoute]] = {}
        for route in self._routes:
            if route.is_route and route.entry.side == "wsgi":
                legacy.setdefault(route.pattern.identity, []).append(route)
        # A legacy app whose routes cannot be read answers every path under its prefix: it pairs
        # with a new route under that prefix that no known legacy route shares.
        opaque = [r for r in self._routes if not r.is_route and r.entry.side == "wsgi" and r.any_method]
        for route in self._routes:
            if route.is_route and route.pairs and route.entry.side == "asgi":
                partners = legacy.get(route.pattern.identity, ())
                route.legacy = tuple(p for p in partners if _overlap(route.methods, p.methods))
                if not route.legacy:
                    under = [m for m in opaque if _within(route.pattern, m.pattern)]
                    if under:
                        route.legacy = (max(under, key=lambda m: len(m.pattern.segments)),)

    def _insert(self, route: TableRoute) -> None:
        node = self._root
        for segment in route.pattern.segments:
            if isinstance(segment, str):
                node = node.static.setdefault(segment, _Node())
            else:
                # Routes with the same regex at this point share the edge: it is tried once.
                key = segment.regex.pattern
                if key not in node.dynamic:
                    node.dynamic[key] = (_Edge.of(segment), _Node())
                node = node.dynamic[key][1]
        if route.pattern.tail is not None:
            node.tails.append((_Edge.of(route.pattern.tail), route))
        elif route.pattern.prefix:
            node.prefixes.append(route)
        else:
            node.routes.append(route)

    # -- matching ---------------------------------------------------------------------------

    def _walk(self, node: _Node, segments: list[str], index: int, raw: tuple[str, ...], out: list[Candidate]) -> None:
        """Collect every route that fits `segments[index:]` below `node`.

        Follows the static child in a loop; recurses only into the regex edges that fit.
        """
        end = len(segments)
        while True:
            while node.plain and index < end:
                child = node.static.get(segments[index])
                if child is None:
                    return
                node = child
                index += 1
            for route in node.prefixes:
                out.append((route, raw))
            if index == end:
                for route in node.routes:
                    out.append((route, raw))
                return
            segment = segments[index]
            if node.tails:
                rest = segment if index + 1 == end else "/".join(segments[index:])
                for edge, route in node.tails:
                    found = edge.regex.fullmatch(rest)
                    if found is not None:
                        out.append((route, raw + edge.captures(found)))
            for edge, child in node.dynamic.values():
                found = edge.regex.fullmatch(segment)
                if found is not None:
                    self._walk(child, segments, index + 1, raw + edge.captures(found), out)
            static = node.static.get(segment)
            if static is None:
                return
            node = static
            index += 1

    def match(self, method: str, segments: list[str]) -> Found | NotAllowed | None:
        """The route that serves `method` on the path split into `segments` (see `split_path`).

        Gives `Found` with the converted parameters, `NotAllowed` when the path matches only for
        other methods, or `None` when nothing matches.
        """
        candidates: list[Candidate] = []
        self._walk(self._root, segments, 0, (), candidates)
        if not candidates:
            return None
        if len(candidates) > 1:
            candidates.sort(key=lambda c: c[0].sort_key)
        # Routes that fit the path but not the method: their methods go into `Allow`.
        refused: list[frozenset[str]] = []
        for route, raw in candidates:
            try:
                params = route.pattern.convert(raw)
            except ValueError:
                continue
            if not route.is_route and refused and not route.any_method:
                # A mount whose routes are known does not catch a method that a more specific
                # route refused; a mount that cannot be introspected takes every method.
                continue
            methods = route.methods
            if methods is None or method in methods:
                return Found(route, params)
            if route.is_route:
                refused.append(methods)
        if refused:
            return NotAllowed(tuple(sorted(frozenset().union(*refused))))
        return None

    # -- reading ----------------------------------------------------------------------------

    @property
    def routes(self) -> tuple[TableRoute, ...]:
        return tuple(self._routes)

    @property
    def entries(self) -> tuple[RouteEntry, ...]:
        """Every entry, sorted by pattern, then new side first."""
        return tuple(sorted((r.entry for r in self._routes), key=lambda e: (e.pattern, _SIDE_ORDER[e.side])))

    def __iter__(self) -> Iterator[RouteEntry]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self._routes)

    def to_json(self) -> str:
        return json.dumps([entry.to_dict() for entry in self.entries], indent=2)

    def format(self) -> str:
        """The table as aligned text, one route per line."""
        return format_entries(self.entries)


def format_entries(entries: Iterable[RouteEntry]) -> str:
    """Entries as aligned text, one per line, as `turnout routes` prints them."""
    rows = [("PATTERN", "METHODS", "SIDE", "OWNER", "ENDPOINT", "STATUS", "DEFINED AT")]
    for e in entries:
        methods = "*" if e.methods is None else ",".join(sorted(e.methods))
        pattern = e.pattern + (("/**" if e.pattern != "/" else "**") if e.kind == "mount" else "")
        rows.append((pattern, methods, e.side, e.owner or "-", e.endpoint, e.status, e.defined_at or "-"))
    return "\n".join(aligned(rows))


def _describe(entry: RouteEntry) -> str:
    methods = "any method" if entry.methods is None else ", ".join(sorted(entry.methods))
    where = entry.defined_at or "unknown location"
    owner = f" in mount {entry.owner!r}" if entry.owner else ""
    return f"{entry.pattern} [{methods}] endpoint {entry.endpoint!r}{owner}, defined at {where}"
