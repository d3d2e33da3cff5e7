"""Warnings about the shared table: pairs of a legacy and a new route that probably do not do what was meant.

The table never refuses these; they are legal, and sometimes wanted. But each one changes what
a URL that used to reach the legacy app does now, without anyone having asked for it:

- `shadowed`: a new route takes a legacy route's URLs by precedence, without having its pattern.
  Decided by the table itself: the legacy route's representative path (its static text, with a
  sample value for each parameter) is matched against the whole table, for each of its methods,
  and a new route wins.
- `converter-mismatch`: a legacy and a new route have the same shape (the same static segments,
  parameters at the same places) but a converter at some place accepts values the other refuses
  (`{id:int}` and `<id>`, Werkzeug's `float` that needs a dot and Starlette's that does not,
  Starlette's `path` that may be empty and Werkzeug's that may not). Decided by trying values
  on both converters, as the table would: the regex, then the conversion.
- `partial-replacement`: new routes with a legacy route's exact pattern serve some of its methods
  but not all, so the URL answers from two apps depending on the method (and the legacy route
  stays `active`).

`table_warnings(table)` gives them; `turnout routes` and `turnout report` print them, and the
app logs them at start-up (logger `turnout.routing`, level WARNING).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from turnout.routing.converters import Converter
from turnout.routing.pattern import Param, RoutePattern, SegmentMatcher
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable, TableRoute, significant_methods

logger = logging.getLogger("turnout.routing")

WarningKind = Literal["shadowed", "converter-mismatch", "partial-replacement"]

_KIND_ORDER = {"partial-replacement": 0, "converter-mismatch": 1, "shadowed": 2}
# Converters whose conversion is pure, so trying a value on them has no side effect. A custom
# converter's `to_python` may need the legacy app's context (a database): only its regex is tried.
_BUILTIN = frozenset({"str", "int", "float", "uuid", "path", "any"})
_UUID = "3f2b8c1e-5d4a-4e6b-9c7d-1a2b3c4d5e6f"
# Values a parameter is tried with: to find a sample that fits a converter, and to find a value
# that one converter accepts and another refuses.
_PROBES = (
    "sample",
    "1",
    "0",
    "42",
    "007",
    "-1",
    "1.5",
    "1.0",
    ".5",
    "1e3",
    "",
    _UUID,
    _UUID.upper(),
    "a",
    "ab",
    "abc",
    "abcd",
    "sample-value",
    "a.txt",
    "a/b",
)
# The values a representative path is made of, before the probes: unusual enough never to be the
# static text of another route (which would then win for this one value, and only by chance).
_SAMPLES = ("sample-x", "4821", "4821.5", _UUID)
# What differs between the frameworks' converters of the same name.
_SAME_NAME_NOTES = {
    "float": "Werkzeug's float needs a dot (`1.0`) and Starlette's takes `1` too",
    "path": "Werkzeug's path is never empty and Starlette's may be",
}


@dataclass(frozen=True, slots=True)
class RouteWarning:
    """One warning about the table: its `kind`, a `message` that names both routes and where they
    are defined, a `hint` that says how to fix it, the two routes, and a path that shows it.

    ```python
    for warning in table_warnings(app.table):
        print(warning.kind, warning.message, warning.hint, sep="\\n")
    ```
    """

    kind: WarningKind
    message: str
    hint: str
    legacy: RouteEntry
    new: RouteEntry
    example: str | None = None

    def __str__(self) -> str:
        return f"[{self.kind}] {self.message}\n  fix: {self.hint}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "message": self.message,
            "hint": self.hint,
            "example": self.example,
            "legacy": self.legacy.to_dict(),
            "new": self.new.to_dict(),
        }


def table_warnings(table: RouteTable) -> list[RouteWarning]:
    """Every warning about `table`, sorted by the legacy route's pattern.

    ```python
    for warning in table_warnings(app.table):
        print(warning)
    ```
    """
    legacy = [r for r in table.routes if r.is_route and r.entry.side == "wsgi"]
    new = [r for r in table.routes if r.is_route and r.entry.side == "asgi"]
    if not legacy or all(r.entry.side == "wsgi" for r in table.routes):
        return []  # nothing new that could take a legacy route's URLs
    reported: set[tuple[int, int]] = set()  # (legacy, new) pairs that already have a warning
    found = _partial_replacements(legacy, new, reported)
    found += _converter_mismatches(table, legacy, new, reported)
    found += _shadowed(table, legacy, reported)
    found.sort(key=lambda w: (w.legacy.pattern, _KIND_ORDER[w.kind], w.new.pattern, w.new.endpoint))
    return found


def log_table_warnings(table: RouteTable) -> list[RouteWarning]:
    """Log every warning about `table` at WARNING on the `turnout.routing` logger; gives them."""
    found = table_warnings(table)
    for warning in found:
        logger.warning("%s", warning)
    return found


def format_warnings(warnings: Iterable[RouteWarning]) -> str:
    """The warnings as text, for the command line: `""` when there are none."""
    found = list(warnings)
    if not found:
        return ""
    lines = [f"Warnings ({len(found)}):"]
    for warning in found:
        lines.append(f"  [{warning.kind}] {warning.message}")
        lines.append(f"    fix: {warning.hint}")
    return "\n".join(lines)


# -- partial replacements ---------------------------------------------------------------------


def _with_head(methods: frozenset[str]) -> frozenset[str]:
    return methods | {"HEAD"} if "GET" in methods else methods


def _partial_replacements(
    legacy: list[TableRoute], new: list[TableRoute], reported: set[tuple[int, int]]
) -> list[RouteWarning]:
    by_identity: dict[tuple[tuple[str, str], ...], list[TableRoute]] = {}
    for route in new:
        by_identity.setdefault(route.pattern.identity, []).append(route)
    found = []
    for old in legacy:
        rivals = by_identity.get(old.pattern.identity)
        if not rivals or old.entry.status == "replaced":
            continue
        # Not replaced, so no rival takes every method: their methods are known.
        covered = frozenset().union(*(_with_head(r.entry.methods or frozenset()) for r in rivals))
        wanted = significant_methods(old.entry.methods)
        taken = covered if wanted is None else wanted & covered
        if not taken:
            continue  # the new routes add methods the legacy route never served: nothing is replaced
        takers = [r for r in rivals if r.entry.methods is not None and r.entry.methods & taken]
        left = "every other method" if wanted is None else ", ".join(sorted(wanted - covered))
        for rival in takers:
            reported.add((id(old), id(rival)))
        rival = takers[0]
        also = "" if len(takers) == 1 else f" (with {', '.join(repr(r.entry.endpoint) for r in takers[1:])})"
        message = (
            f"{_describe(rival.entry)}{also} replaces {_describe(old.entry)} for {', '.join(sorted(taken))} "
            f"only: requests with {left} still go to the legacy app, so {old.entry.pattern} answers from two apps"
        )
        hint = (
            f"add {left} to the new route's methods to finish the replacement, or, if the legacy app should "
            "keep them, split the legacy view so that each side owns whole routes"
        )
        found.append(RouteWarning("partial-replacement", message, hint, old.entry, rival.entry))
    return found


# -- converters that disagree -------------------------------------------------------------------


def _parts(matcher: SegmentMatcher) -> list[str | Param]:
    """The static text and parameters of a segment (or a tail), in order, from its label."""
    parts: list[str | Param] = []
    label = matcher.label
    pos = 0
    for param in matcher.params:
        token = "{" + param.converter.label + "}"
        at = label.find(token, pos)
        assert at >= 0, f"{token} is not in the label {label!r}"
        if at > pos:
            parts.append(label[pos:at])
        parts.append(param)
        pos = at + len(token)
    if pos < len(label):
        parts.append(label[pos:])
    return parts


Shape = tuple[tuple[str, tuple[str | None, ...]], ...]


def _shape(pattern: RoutePattern) -> Shape:
    """What two patterns share when they differ only by their converters."""
    shape: list[tuple[str, tuple[str | None, ...]]] = []
    for segment in pattern.segments:
        if isinstance(segment, str):
            shape.append(("static", (segment,)))
        else:
            shape.append(("param", tuple(p if isinstance(p, str) else None for p in _parts(segment))))
    if pattern.tail is not None:
        shape.append(("tail", tuple(p if isinstance(p, str) else None for p in _parts(pattern.tail))))
    return tuple(shape)


def _accepts(converter: Converter, value: str) -> bool:
    """Whether the table would take `value` for a parameter with this converter."""
    if re.fullmatch(converter.regex, value, re.DOTALL) is None:
        return False
    if converter.label.partition("(")[0] not in _BUILTIN:
        return True
    try:
        converter.convert(value)
    except ValueError:
        return False
    return True


def _disagreement(old: Converter, new: Converter) -> str | None:
    """A value that one converter accepts and the other refuses, or `None` if they agree."""
    if old.label == new.label and old.regex == new.regex:
        return None
    for value in (*_alternatives(old.regex), *_alternatives(new.regex), *_PROBES):
        if _accepts(old, value) != _accepts(new, value):
            return value
    return None


def _common_methods(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """The significant methods two routes share: `None` for any method."""
    a, b = significant_methods(a), significant_methods(b)
    return a if b is None else b if a is None else a & b


def _share_methods(old: TableRoute, rival: TableRoute) -> bool:
    return _common_methods(old.entry.methods, rival.entry.methods) != frozenset()


def _converter_mismatches(
    table: RouteTable, legacy: list[TableRoute], new: list[TableRoute], reported: set[tuple[int, int]]
) -> list[RouteWarning]:
    by_shape: dict[Shape, list[TableRoute]] = {}
    # Werkzeug makes a converter for each rule: the same two kinds meet again and again.
    known: dict[tuple[str, str, str, str], str | None] = {}
    for route in new:
        by_shape.setdefault(_shape(route.pattern), []).append(route)
    found = []
    for old in legacy:
        replaced = old.entry.status == "replaced"
        for rival in by_shape.get(_shape(old.pattern), []):
            if (id(old), id(rival)) in reported or not _share_methods(old, rival):
                continue
            if replaced and rival.pattern.identity != old.pattern.identity:
                continue  # the legacy route is gone: what is left is between two new routes
            for index, (old_param, new_param) in enumerate(zip(old.pattern.params, rival.pattern.params, strict=True)):
                a, b = old_param.converter, new_param.converter
                key = (a.label, a.regex, b.label, b.regex)
                if key not in known:
                    known[key] = _disagreement(a, b)
                value = known[key]
                if value is not None:
                    reported.add((id(old), id(rival)))
                    found.append(_mismatch(table, old, rival, index, value))
                    break
    return found


def _mismatch(table: RouteTable, old: TableRoute, rival: TableRoute, index: int, value: str) -> RouteWarning:
    old_param, new_param = old.pattern.params[index], rival.pattern.params[index]
    # The example is a path of the route that takes the value, with its own samples elsewhere.
    taker = rival if _accepts(new_param.converter, value) else old
    samples = [_sample(p.converter) or value for p in taker.pattern.params]
    samples[index] = value
    segments = _fill(taker.pattern, samples)
    example = "/" + "/".join(segments)
    which = "the new route but not the legacy one" if taker is rival else "the legacy route but not the new one"
    common = _common_methods(old.entry.methods, rival.entry.methods)
    method = "GET" if common is None or "GET" in common else min(common)
    served = _served(table.match(method, segments), f"{method} {example}")
    names = repr(old_param.name) if old_param.name == new_param.name else f"{old_param.name!r}/{new_param.name!r}"
    old_label, new_label = old_param.converter.label, new_param.converter.label
    note = _SAME_NAME_NOTES.get(old_label) if old_label == new_label else None
    message = (
        f"{_describe(old.entry)} and {_describe(rival.entry)} read the parameter {names} differently "
        f"(legacy {old_label}, new {new_label}{'; ' + note if note else ''}): {example} matches {which}, "
        f"and {served}"
    )
    hint = (
        f"give the new route a converter that takes what the legacy one does (the legacy regex is "
        f"{old_param.converter.regex!r}; register one with starlette.convertors.register_url_convertor "
        "if Starlette has none), or change both routes together if the difference is wanted"
    )
    return RouteWarning("converter-mismatch", message, hint, old.entry, rival.entry, example)


def _served(result: Found | NotAllowed | None, request: str) -> str:
    """What the table does with `request`, in words."""
    if isinstance(result, Found):
        return f"turnout sends {request} to {_describe(result.route.entry)}"
    if isinstance(result, NotAllowed):
        return f"turnout answers {request} with a 405"
    return f"turnout answers {request} with a 404"


# -- representative paths, and shadowed legacy routes ------------------------------------------


def _alternatives(regex: str) -> list[str]:
    """The words of a Werkzeug `any(...)` regex, `(?:a|b)`: the only values it takes."""
    inner = re.fullmatch(r"\(\?:(.*)\)", regex, re.DOTALL)
    if inner is None:
        return []
    return [re.sub(r"\\(.)", r"\1", word) for word in re.split(r"(?<!\\)\|", inner.group(1))]


def _sample(converter: Converter) -> str | None:
    """A value that `converter` accepts, or `None` if none of the usual ones fits."""
    for value in (*_alternatives(converter.regex), *_SAMPLES, *_PROBES):
        if value and _accepts(converter, value):
            return value
    return None


def _fill(pattern: RoutePattern, samples: list[str]) -> list[str]:
    """The segments of a path that `pattern` matches, with `samples` for its parameters, in order."""
    values = iter(samples)

    def text(matcher: SegmentMatcher) -> str:
        return "".join(part if isinstance(part, str) else next(values) for part in _parts(matcher))

    segments = [segment if isinstance(segment, str) else text(segment) for segment in pattern.segments]
    if pattern.tail is not None:
        segments.extend(text(pattern.tail).split("/"))
    return segments


def representative_path(pattern: RoutePattern) -> list[str] | None:
    """The segments of a path for `pattern`: its static text and a sample value for each parameter
    (`None` when no usual value fits one of its converters). Match it to be sure: a segment that
    mixes text and parameters may split differently, and a custom converter may still refuse it."""
    samples = [_sample(param.converter) for param in pattern.params]
    if None in samples:
        return None
    return _fill(pattern, [s for s in samples if s is not None])


def _shadowed(table: RouteTable, legacy: list[TableRoute], reported: set[tuple[int, int]]) -> list[RouteWarning]:
    found = []
    for old in legacy:
        if old.entry.status == "replaced":
            continue  # a new route has its pattern and methods: that is a replacement, not a shadow
        segments = representative_path(old.pattern)
        if segments is None:
            continue
        winners: dict[int, tuple[TableRoute, list[str]]] = {}
        for method in sorted(significant_methods(old.entry.methods) or {"GET"}):
            result = table.match(method, segments)
            if not isinstance(result, Found):
                continue  # not even the legacy route: a custom converter refused its sample
            winner = result.route
            if winner.entry.side == "asgi" and winner.pattern.identity != old.pattern.identity:
                if (id(old), id(winner)) not in reported:
                    winners.setdefault(id(winner), (winner, []))[1].append(method)
        if winners and _takes(old, segments, next(iter(winners.values()))[1][0]):
            for winner, methods in winners.values():
                found.append(_shadow(old, winner, methods, "/" + "/".join(segments)))
    return found


def _takes(route: TableRoute, segments: list[str], method: str) -> bool:
    """Whether `route` alone, matched by the table's own matcher, takes the path: a custom converter
    may refuse the sample, and then the new route that matched takes nothing from it."""
    alone = RouteTable([RouteSpec(route.entry, route.pattern, None)])
    return isinstance(alone.match(method, segments), Found)


def _part(pattern: RoutePattern, index: int) -> str:
    return pattern.identity[index][1] or "(empty)"


def _shadow(old: TableRoute, winner: TableRoute, methods: list[str], path: str) -> RouteWarning:
    new_keys, old_keys = winner.pattern.sort_key, old.pattern.sort_key
    at = next((i for i, (a, b) in enumerate(zip(new_keys, old_keys, strict=False)) if a != b), None)
    if at is None:
        why = "on an exact tie of precedence the new side wins"
    else:
        why = f"at segment {at + 1}, {_part(winner.pattern, at)!r} is more specific than {_part(old.pattern, at)!r}"
    message = (
        f"{_describe(winner.entry)} hides {_describe(old.entry)}: {', '.join(methods)} {path} matches both, "
        f"and the new route wins ({why}), so the legacy route no longer gets such URLs"
    )
    hint = (
        f"if the new route should take them over, give it the legacy pattern {old.entry.pattern} so that it "
        "replaces the legacy route openly; otherwise narrow the new pattern (a static segment, or a converter "
        "that refuses these values)"
    )
    return RouteWarning("shadowed", message, hint, old.entry, winner.entry, path)


def _describe(entry: RouteEntry) -> str:
    side = "legacy" if entry.side == "wsgi" else "new"
    kind = "mount" if entry.kind == "mount" else "route"
    methods = "any method" if entry.methods is None else ", ".join(sorted(entry.methods))
    owner = f" in mount {entry.owner!r}" if entry.owner and entry.kind == "route" else ""
    where = entry.defined_at or "an unknown place"
    return f"{side} {kind} {entry.pattern} [{methods}] ({entry.endpoint!r}{owner}, defined at {where})"
