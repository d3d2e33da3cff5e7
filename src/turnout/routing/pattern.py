"""Path patterns of both sides, parsed into segments the tree matcher walks.

A pattern is a list of segments, split at `/`. Each segment is static text, or a regex over
one segment (a parameter, or text mixed with parameters). From the first parameter that may
contain `/` (a `path` converter) on, the rest of the pattern is one regex over the rest of the
path: the tail. A mount prefix is a pattern that also matches everything below it.

Precedence compares patterns segment by segment: static, then typed, then untyped, then
tail, then a bare prefix (see `Rank`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from turnout.exceptions import PatternError
from turnout.routing.converters import COMPOUND_ORDER, Converter, Rank, from_starlette, from_werkzeug

STARLETTE_PARAM = re.compile(r"{([a-zA-Z_][a-zA-Z0-9_]*)(?::([a-zA-Z_][a-zA-Z0-9_]*))?}")
WERKZEUG_PARAM = re.compile(
    r"<(?:(?P<converter>[a-zA-Z_][a-zA-Z0-9_]*)(?:\((?P<arguments>.*?)\))?:)?(?P<variable>[a-zA-Z_][a-zA-Z0-9_]*)>"
)
SegmentKey = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Param:
    name: str
    converter: Converter


Token = str | Param


@dataclass(frozen=True, slots=True)
class SegmentMatcher:
    """Matches one decoded segment (or, as a tail, the rest of the path) against a regex."""

    regex: re.Pattern[str]
    params: tuple[Param, ...]
    label: str
    key: SegmentKey


Segment = str | SegmentMatcher


@dataclass(frozen=True, slots=True)
class RoutePattern:
    """A parsed pattern: static or regex segments, an optional tail, and whether it is a prefix."""

    text: str
    segments: tuple[Segment, ...]
    tail: SegmentMatcher | None = None
    prefix: bool = False
    params: tuple[Param, ...] = field(default=())

    @property
    def canonical(self) -> str:
        """The pattern with parameter names left out: equal for an exact tie across sides."""
        labels = [s if isinstance(s, str) else s.label for s in self.segments]
        if self.tail is not None:
            labels.append(self.tail.label)
        text = "/" + "/".join(labels) if labels else ""
        if self.prefix:
            return (text.rstrip("/") or "") + "/**"
        return text or "/"

    @property
    def identity(self) -> tuple[tuple[str, str], ...]:
        """What two patterns share when they are an exact tie: like `canonical`, but a static
        segment never equals a parameter (`/a/{int}` as text) and a route never equals a prefix."""
        parts = [("static", s) if isinstance(s, str) else ("param", s.label) for s in self.segments]
        if self.tail is not None:
            parts.append(("tail", self.tail.label))
        if self.prefix:
            parts.append(("prefix", ""))
        return tuple(parts)

    @property
    def sort_key(self) -> tuple[SegmentKey, ...]:
        keys: list[SegmentKey] = [(0, 0) if isinstance(s, str) else s.key for s in self.segments]
        if self.tail is not None:
            keys.append(self.tail.key)
        if self.prefix:
            keys.append((int(Rank.PREFIX), 0))
        return tuple(keys)

    def convert(self, raw: Sequence[str]) -> dict[str, Any]:
        """Convert the raw captures of a match; `ValueError` if a converter refuses one."""
        params = self.params
        if len(params) == 1 and len(raw) == 1:  # the common case, without the loop
            return {params[0].name: params[0].converter.convert(raw[0])}
        return {param.name: param.converter.convert(value) for param, value in zip(params, raw, strict=True)}


def _tokens_starlette(path: str) -> list[Token]:
    tokens: list[Token] = []
    pos = 0
    seen: set[str] = set()
    for match in STARLETTE_PARAM.finditer(path):
        name, conv = match.group(1), match.group(2) or "str"
        try:
            converter = from_starlette(conv)
        except KeyError:
            raise PatternError(f"{path!r}: unknown path converter {conv!r} in {{{name}:{conv}}}") from None
        if name in seen:
            raise PatternError(f"{path!r}: the parameter {name!r} appears twice")
        seen.add(name)
        tokens.append(path[pos : match.start()])
        tokens.append(Param(name, converter))
        pos = match.end()
    tokens.append(path[pos:])
    return tokens


def _segment_matcher(parts: list[Token], *, tail: bool) -> SegmentMatcher:
    regex: list[str] = []
    label: list[str] = []
    params: list[Param] = []
    for part in parts:
        if isinstance(part, str):
            regex.append(re.escape(part))
            label.append(part)
        else:
            regex.append(f"(?P<_t{len(params)}>{part.converter.regex})")
            label.append("{" + part.converter.label + "}")
            params.append(part)
    if len(parts) == 1:
        key = parts[0].converter.sort_key  # type: ignore[union-attr]
    elif tail:
        first = next(p for p in params if p.converter.spans_segments)
        key = (int(Rank.TAIL), first.converter.order)
    else:
        key = (int(Rank.TYPED), COMPOUND_ORDER)
    return SegmentMatcher(re.compile("".join(regex), re.DOTALL), tuple(params), "".join(label), key)


def build_pattern(text: str, tokens: Iterable[Token], *, prefix: bool = False) -> RoutePattern:
    """Split tokens (static text and parameters) into segments, and the tail if there is one."""
    tokens = list(tokens)
    while len(tokens) > 1 and isinstance(tokens[0], str) and isinstance(tokens[1], str):
        tokens[0:2] = [tokens[0] + tokens[1]]  # a mount prefix and the rule's leading text
    first = tokens[0] if tokens else ""
    if not (isinstance(first, str) and first.startswith("/")):
        raise PatternError(f"{text!r}: a path pattern must start with '/'")
    tokens[0] = first[1:]
    segments: list[Segment] = []
    params: list[Param] = []
    current: list[Token] = []
    tail: SegmentMatcher | None = None

    def close_segment() -> None:
        parts = [p for p in current if p != ""]
        if all(isinstance(p, str) for p in parts):
            segments.append("".join(parts))  # type: ignore[arg-type]
        else:
            segments.append(_segment_matcher(parts, tail=False))
        current.clear()

    for index, token in enumerate(tokens):
        if isinstance(token, Param):
            params.append(token)
            if token.converter.spans_segments:
                rest: list[Token] = [*current, token, *tokens[index + 1 :]]
                params.extend(t for t in tokens[index + 1 :] if isinstance(t, Param))
                tail = _segment_matcher([p for p in rest if p != ""], tail=True)
                current.clear()
                break
            current.append(token)
            continue
        pieces = token.split("/")
        current.append(pieces[0])
        for piece in pieces[1:]:
            close_segment()
            current.append(piece)
    else:
        close_segment()
    if prefix:
        assert tail is None
        if segments and segments[-1] == "":
            segments.pop()
    return RoutePattern(text, tuple(segments), tail, prefix, tuple(params))


def parse_starlette(path: str) -> RoutePattern:
    """Parse a new-side pattern in Starlette's syntax: `/users/{id:int}`."""
    return build_pattern(path, _tokens_starlette(path))


def parse_prefix(prefix: str) -> RoutePattern:
    """Parse a mount prefix (`/shop`, or `/` for a catch-all). Prefixes are static."""
    if not prefix.startswith("/"):
        raise PatternError(f"{prefix!r}: a mount prefix must start with '/'")
    if STARLETTE_PARAM.search(prefix) or WERKZEUG_PARAM.search(prefix):
        raise PatternError(f"{prefix!r}: a mount prefix cannot have parameters")
    text = prefix.rstrip("/")
    return build_pattern(text or "/", [text or "/"], prefix=True)


def parse_werkzeug(rule: str, converters: Mapping[str, Any], *, mount_prefix: str = "") -> tuple[RoutePattern, str]:
    """Parse a Werkzeug rule (`/users/<int:id>`) with the converter instances of its `Rule`.

    Gives the pattern, with the mount prefix in front, and its text in Starlette's syntax where
    Starlette has the same converters, or in Werkzeug's syntax where it has not.
    """
    tokens: list[Token] = [mount_prefix.rstrip("/")]
    display = [mount_prefix.rstrip("/")]
    pos = 0
    for match in WERKZEUG_PARAM.finditer(rule):
        name, conv, arguments = match.group("variable"), match.group("converter"), match.group("arguments")
        static = rule[pos : match.start()]
        tokens.append(static)
        display.append(static)
        try:
            instance = converters[name]
        except KeyError:
            raise PatternError(f"{rule!r}: no converter for the parameter {name!r}") from None
        converter = from_werkzeug(instance, name=conv or "default", arguments=arguments)
        tokens.append(Param(name, converter))
        if converter.label == "str":
            display.append("{" + name + "}")
        elif converter.label in ("int", "float", "uuid", "path"):
            display.append("{" + name + ":" + converter.label + "}")
        else:
            display.append(match.group(0))
        pos = match.end()
    tokens.append(rule[pos:])
    display.append(rule[pos:])
    text = "".join(display)
    return build_pattern(text, tokens), text
