from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.convertors import CONVERTOR_TYPES, Convertor
from werkzeug.routing import BaseConverter, Map, Rule, ValidationError

from turnout.exceptions import PatternError, RouteError
from turnout.routing.converters import Rank, from_starlette, from_werkzeug, may_match_slash
from turnout.routing.pattern import RoutePattern, SegmentMatcher, parse_prefix, parse_starlette, parse_werkzeug


def werkzeug(rule: str, **converters: type[BaseConverter]) -> tuple[RoutePattern, str]:
    """Parse `rule` the way the importer does: with the converters of a real, bound `Rule`."""
    url_map = Map([Rule(rule, endpoint="e")], converters=converters)
    (bound,) = url_map.iter_rules()
    return parse_werkzeug(bound.rule, bound._converters)


def match(pattern: RoutePattern, path: str) -> dict[str, Any] | None:
    """A slow, whole-path match of one pattern (what the table's tree does, for one route)."""
    segments = path[1:].split("/")
    raw: list[str] = []
    for index, segment in enumerate(pattern.segments):
        if index >= len(segments):
            return None
        if isinstance(segment, str):
            if segment != segments[index]:
                return None
            continue
        found = segment.regex.fullmatch(segments[index])
        if found is None:
            return None
        raw.extend(found.group(f"_t{i}") for i in range(len(segment.params)))
    rest = segments[len(pattern.segments) :]
    if pattern.tail is not None:
        found = pattern.tail.regex.fullmatch("/".join(rest)) if rest else None
        if found is None:
            return None
        raw.extend(found.group(f"_t{i}") for i in range(len(pattern.tail.params)))
    elif rest and not pattern.prefix:
        return None
    return pattern.convert(raw)


# -- new side: Starlette syntax ------------------------------------------------------------------


def test_static_pattern() -> None:
    pattern = parse_starlette("/shop/items/")
    assert pattern.segments == ("shop", "items", "")
    assert pattern.tail is None and not pattern.prefix and pattern.params == ()
    assert pattern.canonical == "/shop/items/"
    assert parse_starlette("/").canonical == "/"


@pytest.mark.parametrize(
    ("text", "path", "params"),
    [
        ("/users/{id:int}", "/users/42", {"id": 42}),
        ("/users/{id:int}", "/users/x", None),
        ("/users/{name}", "/users/ann", {"name": "ann"}),
        ("/users/{name}", "/users/ann/x", None),
        ("/price/{p:float}", "/price/2", {"p": 2.0}),  # Starlette's float needs no dot
        (
            "/u/{u:uuid}",
            "/u/c0ffee00-0000-4000-8000-00000000000a",
            {"u": uuid.UUID(int=0xC0FFEE00_0000_4000_8000_00000000000A)},
        ),
        ("/files/{p:path}", "/files/a/b/c", {"p": "a/b/c"}),
        ("/files/{p:path}", "/files/", {"p": ""}),  # Starlette's path may be empty
        ("/files/{p:path}/edit", "/files/a/b/edit", {"p": "a/b"}),
        ("/files/{p:path}/edit", "/files/a/b", None),
        ("/report.{fmt}", "/report.csv", {"fmt": "csv"}),
        ("/v{major:int}.{minor:int}", "/v1.2", {"major": 1, "minor": 2}),
        ("/{x}/{p:path}", "/a/b/c", {"x": "a", "p": "b/c"}),
        ("/a{p:path}", "/abc/d", {"p": "bc/d"}),
    ],
)
def test_starlette_patterns_match_what_starlette_matches(text: str, path: str, params: dict[str, Any] | None) -> None:
    assert match(parse_starlette(text), path) == params


def test_a_str_parameter_is_one_segment_not_a_tail() -> None:
    pattern = parse_starlette("/users/{name}")
    assert pattern.tail is None
    assert isinstance(pattern.segments[1], SegmentMatcher)
    assert pattern.sort_key == ((0, 0), (int(Rank.UNTYPED), 0))


def test_canonical_leaves_the_parameter_names_out() -> None:
    assert parse_starlette("/users/{id:int}").canonical == parse_starlette("/users/{key:int}").canonical
    assert parse_starlette("/users/{id:int}").canonical == "/users/{int}"
    assert parse_starlette("/files/{p:path}").canonical == "/files/{path}"


def test_identity_never_mistakes_text_for_a_parameter_or_a_route_for_a_prefix() -> None:
    text_route, _ = werkzeug("/a/{int}")  # literal braces: static text in Werkzeug's syntax
    assert text_route.canonical == parse_starlette("/a/{x:int}").canonical
    assert text_route.identity != parse_starlette("/a/{x:int}").identity
    assert parse_starlette("/a/**").identity != parse_prefix("/a").identity
    assert parse_starlette("/a/{x:int}").identity == werkzeug("/a/<int:y>")[0].identity


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/users/{id:number}", "unknown path converter 'number'"),
        ("/a/{x}/{x}", "the parameter 'x' appears twice"),
        ("users/{id}", "must start with '/'"),
        ("", "must start with '/'"),
        ("{x}", "must start with '/'"),
    ],
)
def test_bad_patterns_are_refused_with_a_precise_message(text: str, message: str) -> None:
    with pytest.raises(PatternError, match=re.escape(message)) as caught:
        parse_starlette(text)
    assert repr(text) in str(caught.value)
    assert isinstance(caught.value, RouteError)


# -- precedence ---------------------------------------------------------------------------------


def test_segment_ranks_static_then_typed_then_untyped_then_tail_then_prefix() -> None:
    ordered = [
        parse_starlette("/a/b"),
        parse_starlette("/a/{x:int}"),
        parse_starlette("/a/{x:uuid}"),
        parse_starlette("/a/{x:float}"),
        parse_starlette("/a/{x}.txt"),  # text mixed with a parameter: narrower than a bare one
        parse_starlette("/a/{x}"),
        parse_starlette("/a/{p:path}"),
        parse_prefix("/a"),
    ]
    keys = [p.sort_key for p in ordered]
    assert keys == sorted(keys)
    assert len(set(keys)) == len(keys)


def test_an_earlier_segment_decides_before_a_later_one() -> None:
    assert parse_starlette("/a/{x}/{y}").sort_key < parse_starlette("/{x}/b/c").sort_key
    assert parse_prefix("/a/b").sort_key < parse_starlette("/a/{p:path}").sort_key
    assert parse_starlette("/a").sort_key < parse_prefix("/a").sort_key


# -- mount prefixes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prefix", "segments", "canonical"),
    [
        ("/shop", ("shop",), "/shop/**"),
        ("/shop/", ("shop",), "/shop/**"),
        ("/shop/v1", ("shop", "v1"), "/shop/v1/**"),
        ("/", (), "/**"),
    ],
)
def test_a_prefix_is_static_and_ends_at_a_segment(prefix: str, segments: tuple[str, ...], canonical: str) -> None:
    pattern = parse_prefix(prefix)
    assert pattern.prefix
    assert pattern.segments == segments
    assert pattern.canonical == canonical


@pytest.mark.parametrize(
    ("prefix", "message"),
    [("shop", "must start with '/'"), ("/shop/{x}", "cannot have parameters"), ("/shop/<x>", "cannot have parameters")],
)
def test_bad_prefixes_are_refused(prefix: str, message: str) -> None:
    with pytest.raises(PatternError, match=re.escape(message)):
        parse_prefix(prefix)


# -- legacy side: Werkzeug rules ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "text", "canonical"),
    [
        ("/users/<int:id>", "/users/{id:int}", "/users/{int}"),
        ("/users/<name>", "/users/{name}", "/users/{str}"),
        ("/users/<string:name>", "/users/{name}", "/users/{str}"),
        ("/p/<float:x>", "/p/{x:float}", "/p/{float}"),
        ("/u/<uuid:u>", "/u/{u:uuid}", "/u/{uuid}"),
        ("/static/<path:filename>", "/static/{filename:path}", "/static/{path}"),
        ("/<any(about, help):page>", "/<any(about, help):page>", "/{any(about, help)}"),
        ("/c/<string(length=2):code>", "/c/<string(length=2):code>", "/c/{str(length=2)}"),
        ("/n/<int(signed=True):n>", "/n/<int(signed=True):n>", "/n/{int(signed=True)}"),
    ],
)
def test_werkzeug_rules_are_shown_in_starlette_syntax_where_it_can(rule: str, text: str, canonical: str) -> None:
    pattern, shown = werkzeug(rule)
    assert shown == text
    assert pattern.canonical == canonical


def test_werkzeug_rules_under_a_mount_prefix() -> None:
    url_map = Map([Rule("/items/<int:id>", endpoint="e")])
    (rule,) = url_map.iter_rules()
    pattern, text = parse_werkzeug(rule.rule, rule._converters, mount_prefix="/shop/")
    assert text == "/shop/items/{id:int}"
    assert pattern.segments[:2] == ("shop", "items")
    assert match(pattern, "/shop/items/7") == {"id": 7}


@pytest.mark.parametrize(
    ("rule", "path", "params"),
    [
        # Werkzeug's own regexes are kept: they differ from Starlette's.
        ("/p/<float:x>", "/p/2", None),
        ("/p/<float:x>", "/p/2.5", {"x": 2.5}),
        ("/static/<path:f>", "/static/", None),  # Werkzeug's path cannot be empty
        ("/static/<path:f>", "/static/css/a.css", {"f": "css/a.css"}),
        ("/<any(about, help):page>", "/help", {"page": "help"}),
        ("/<any(about, help):page>", "/other", None),
        ("/c/<string(length=2):code>", "/c/fr", {"code": "fr"}),
        ("/c/<string(length=2):code>", "/c/fra", None),
        ("/n/<int(signed=True):n>", "/n/-3", {"n": -3}),
        ("/<path:p>/edit", "/a/b/edit", {"p": "a/b"}),
    ],
)
def test_werkzeug_rules_match_what_werkzeug_matches(rule: str, path: str, params: dict[str, Any] | None) -> None:
    assert match(werkzeug(rule)[0], path) == params


def test_werkzeug_to_python_decides_too() -> None:
    pattern, _ = werkzeug("/page/<int(min=1, max=10):n>")
    assert match(pattern, "/page/10") == {"n": 10}
    with pytest.raises(ValueError):  # Werkzeug's ValidationError: the route does not match
        match(pattern, "/page/11")


def test_a_werkzeug_rule_needs_the_converter_of_each_parameter() -> None:
    with pytest.raises(PatternError, match="no converter for the parameter 'id'"):
        parse_werkzeug("/users/<int:id>", {})


class ListConverter(BaseConverter):
    """A custom converter with no Starlette counterpart: comma-separated words."""

    regex = r"\w+(?:,\w+)*"

    def to_python(self, value: str) -> list[str]:
        return value.split(",")


class SlashyConverter(BaseConverter):
    """A custom converter whose regex crosses segments (Werkzeug then sets `part_isolating = False`)."""

    regex = r"[a-z]+/[a-z]+"


def test_a_custom_werkzeug_converter_is_kept_with_its_regex_and_to_python() -> None:
    pattern, text = werkzeug("/tags/<list:names>", list=ListConverter)
    assert text == "/tags/<list:names>"
    assert pattern.canonical == "/tags/{list}"
    assert match(pattern, "/tags/a,b") == {"names": ["a", "b"]}
    assert match(pattern, "/tags/a;b") is None
    (param,) = pattern.params
    assert param.converter.rank is Rank.TYPED


class NeedsTheAppConverter(BaseConverter):
    """A custom converter that only works inside the legacy app (as one using Flask's `current_app`)."""

    def to_python(self, value: str) -> str:
        if value == "refused":
            raise ValidationError()
        raise RuntimeError("Working outside of application context.")


def test_a_custom_converter_that_needs_the_app_leaves_the_decision_to_the_app() -> None:
    pattern, _ = werkzeug("/u/<user:name>", user=NeedsTheAppConverter)
    assert match(pattern, "/u/ann") == {"name": "ann"}  # the raw value: the app converts it again
    with pytest.raises(ValueError):
        match(pattern, "/u/refused")


def test_a_custom_werkzeug_converter_that_crosses_segments_is_a_tail() -> None:
    pattern, _ = werkzeug("/x/<slashy:pair>/end", slashy=SlashyConverter)
    assert pattern.tail is not None
    assert match(pattern, "/x/ab/cd/end") == {"pair": "ab/cd"}
    assert pattern.sort_key[-1][0] == int(Rank.TAIL)


# -- converters ---------------------------------------------------------------------------------


def test_werkzeug_converters_keep_their_own_regex() -> None:
    url_map = Map()
    converter = from_werkzeug(url_map.converters["int"](url_map), name="int", arguments=None)
    assert converter.label == "int"
    assert converter.regex == r"\d+"
    assert from_starlette("int").regex == "[0-9]+"


@pytest.mark.parametrize(
    ("regex", "crosses"),
    [
        ("[^/]+", False),
        ("[^/]{1,}", False),
        (r"[^/\]]+", False),
        ("[0-9]+", False),
        (r"[0-9]+(\.[0-9]+)?", False),
        (r"\w+", False),
        (r"\d+\.\d+", False),
        (".*", True),
        (".+", True),
        ("[^a]+", True),
        ("[a-z/]+", True),
        (r"\D+", True),
        (r"\S+", True),
    ],
)
def test_may_match_slash_errs_on_the_side_of_yes(regex: str, crosses: bool) -> None:
    assert may_match_slash(regex) is crosses


class WordsConvertor(Convertor[str]):
    regex = r"[a-z]+(?:/[a-z]+)*"

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


class HexConvertor(Convertor[int]):
    regex = "[0-9a-f]+"

    def convert(self, value: str) -> int:
        return int(value, 16)

    def to_string(self, value: int) -> str:
        return f"{value:x}"


@pytest.fixture
def custom_convertors(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    # Starlette's registry is global: put it back as it was.
    monkeypatch.setitem(CONVERTOR_TYPES, "words", WordsConvertor())
    monkeypatch.setitem(CONVERTOR_TYPES, "hex", HexConvertor())
    yield


@pytest.mark.usefixtures("custom_convertors")
def test_custom_starlette_convertors() -> None:
    hex_pattern = parse_starlette("/c/{n:hex}")
    assert match(hex_pattern, "/c/ff") == {"n": 255}
    assert hex_pattern.sort_key[-1] == (int(Rank.TYPED), 9)
    words = parse_starlette("/w/{w:words}")
    assert words.tail is not None  # its regex may match "/": matched against the rest of the path
    assert match(words, "/w/a/b") == {"w": "a/b"}
