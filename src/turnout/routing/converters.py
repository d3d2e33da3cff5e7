"""Path converters of both sides, in one shape the table can rank and match.

Starlette's convertors and Werkzeug's converters differ (`int` is `[0-9]+` in Starlette and
`\\d+` in Werkzeug, Werkzeug's `path` cannot be empty, Starlette's can). A legacy route keeps
the regex and the `to_python` of its own framework, so the table matches it exactly as the
legacy app would; only its rank and its label are shared with the new side.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any


class Rank(IntEnum):
    """How specific one segment of a pattern is. Lower wins."""

    STATIC = 0
    TYPED = 1
    UNTYPED = 2
    TAIL = 3
    PREFIX = 4


# Among typed parameters at one position: the narrower converter wins.
_TYPED_ORDER = {"any": 0, "int": 1, "uuid": 2, "float": 3}
COMPOUND_ORDER = 8  # a segment that mixes text and parameters, such as `{name}.txt`
CUSTOM_ORDER = 9


@dataclass(frozen=True, slots=True)
class Converter:
    """One converter: its canonical `label`, the regex it matches and how it converts a match.

    `convert` raises `ValueError` when the value does not fit (Werkzeug's `ValidationError`
    is a `ValueError`), in which case the route does not match.
    """

    label: str
    regex: str
    convert: Callable[[str], Any]
    spans_segments: bool
    rank: Rank
    order: int

    @property
    def sort_key(self) -> tuple[int, int]:
        return (int(self.rank), self.order)


def ranked(label: str, name: str, spans: bool) -> tuple[Rank, int]:
    if spans:
        return Rank.TAIL, _TYPED_ORDER.get(name, CUSTOM_ORDER)
    if name == "str":
        return Rank.UNTYPED, 0
    return Rank.TYPED, _TYPED_ORDER.get(name, CUSTOM_ORDER)


# A character class that leaves out "/" (`[^/]+`, Starlette's `str`) never matches one.
_CLASS_WITHOUT_SLASH = re.compile(r"\[\^(?:[^\]\\]|\\.)*/(?:[^\]\\]|\\.)*\]")
# Escapes that never match "/": `\d`, `\w`, `\s`, `\.` and the like (`\D`, `\W`, `\S` may).
_ESCAPE_WITHOUT_SLASH = re.compile(r"\\[^DWS]")


def may_match_slash(regex: str) -> bool:
    """Whether `regex` may match text with a `/` in it, erring on the side of yes.

    Starlette convertors say nothing about it: a custom one is only known by its regex.
    A converter that may match `/` is matched against the rest of the path, as a tail.
    """
    rest = _ESCAPE_WITHOUT_SLASH.sub("", _CLASS_WITHOUT_SLASH.sub("", regex))
    return any(sign in rest for sign in ("/", ".", "\\", "[^"))


def from_starlette(name: str) -> Converter:
    """The converter a Starlette pattern means by `{x:name}` (`str` when no name is given)."""
    from starlette.convertors import CONVERTOR_TYPES

    convertor = CONVERTOR_TYPES[name]
    spans = name == "path" or may_match_slash(convertor.regex)
    rank, order = ranked(name, name, spans)
    return Converter(name, convertor.regex, convertor.convert, spans, rank, order)


# Werkzeug's converter classes, by the canonical label turnout shows for them.
_WERKZEUG_LABELS = {
    "UnicodeConverter": "str",
    "PathConverter": "path",
    "IntegerConverter": "int",
    "FloatConverter": "float",
    "UUIDConverter": "uuid",
    "AnyConverter": "any",
}


def from_werkzeug(converter: Any, *, name: str, arguments: str | None) -> Converter:
    """Translate one Werkzeug converter instance, as found in `Rule._converters`."""
    base = _WERKZEUG_LABELS.get(type(converter).__name__, name)
    label = base if not arguments else f"{base}({arguments})"
    regex: str = converter.regex
    spans = not getattr(converter, "part_isolating", "/" not in regex)
    if base == "str" and arguments:
        # `string(length=2)` is narrower than a bare string: rank it with the typed converters.
        rank, order = Rank.TYPED, CUSTOM_ORDER
    else:
        rank, order = ranked(label, base, spans)
    builtin = type(converter).__module__ == "werkzeug.routing.converters"
    convert = converter.to_python if builtin else guarded(converter.to_python)
    return Converter(label, regex, convert, spans, rank, order)


def guarded(to_python: Callable[[str], Any]) -> Callable[[str], Any]:
    """A custom converter's `to_python` that fails only with `ValueError` (the rule does not match)."""

    def convert(value: str) -> Any:
        try:
            return to_python(value)
        except ValueError:
            raise
        except Exception:
            # It needs what the legacy app gives it (an app context, a database session). The
            # app converts the value again on its own thread, in its own context, and decides.
            return value

    return convert
