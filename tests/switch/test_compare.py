from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.switch.compare import (
    DEFAULT_IGNORED_HEADERS,
    Captured,
    CompareRules,
    Difference,
    NoiseFilter,
    ResponseCapture,
    compare,
)

RULES = CompareRules.build()


def captured(
    body: bytes | str,
    *,
    status: int = 200,
    content_type: str | None = "application/json",
    headers: tuple[tuple[str, str], ...] = (),
    limit: int = 262_144,
    chunk: int = 65_536,
) -> Captured:
    """A response as the shadow would capture it: sent through `ResponseCapture` in chunks."""
    data = body.encode() if isinstance(body, str) else body
    all_headers = ((("content-type", content_type),) if content_type is not None else ()) + headers
    capture = ResponseCapture(limit)
    raw = [(name.encode("latin-1"), value.encode("latin-1")) for name, value in all_headers]
    capture.message({"type": "http.response.start", "status": status, "headers": raw})
    pieces = [data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""]
    for i, piece in enumerate(pieces):
        capture.message({"type": "http.response.body", "body": piece, "more_body": i < len(pieces) - 1})
    return capture.result()


def as_json(value: Any, **options: Any) -> Captured:
    return captured(json.dumps(value, **options))


# --- JSON bodies --------------------------------------------------------------------------------------------


def test_equal_json_with_other_key_order_and_whitespace_is_no_difference() -> None:
    legacy = captured('{"a": 1, "items": [{"price": 10, "name": "tea"}], "meta": {"x": null}}')
    new = captured('{\n  "meta": {"x": null},\n  "items": [ {"name":"tea","price":10} ],\n  "a": 1\n}\n')
    assert compare(legacy, new, RULES) == []


def test_a_changed_price_is_reported_at_its_path_with_both_values() -> None:
    legacy = as_json({"items": [{"name": "tea", "price": 10}]})
    new = as_json({"items": [{"name": "tea", "price": 12.5}]})
    assert compare(legacy, new, RULES) == [Difference("$.items[0].price", "10", "12.5")]


def test_numbers_compare_by_value_but_bools_never_equal_numbers() -> None:
    assert compare(as_json({"n": 1, "f": 2.0}), captured('{"n": 1.0, "f": 2}'), RULES) == []
    assert compare(as_json({"ok": True, "off": 0}), as_json({"ok": 1, "off": False}), RULES) == [
        Difference("$.ok", "true", "1"),
        Difference("$.off", "0", "false"),
    ]
    assert compare(as_json([True, None]), as_json([True, 0]), RULES) == [Difference("$[1]", "null", "0")]


def test_nan_from_a_lenient_json_body_equals_itself() -> None:
    assert compare(captured('{"x": NaN}'), captured('{"x": NaN}'), RULES) == []


def test_a_type_change_is_one_difference_at_that_path() -> None:
    legacy = as_json({"tags": ["a", "b"], "count": "3"})
    new = as_json({"tags": {"a": True}, "count": 3})
    assert compare(legacy, new, RULES) == [
        Difference("$.tags", '["a", "b"]', '{"a": true}'),
        Difference("$.count", '"3"', "3"),
    ]


def test_list_length_changes_show_the_missing_elements() -> None:
    assert compare(as_json({"items": [1, 2, 3]}), as_json({"items": [1, 2]}), RULES) == [
        Difference("$.items[2]", "3", "<missing>")
    ]
    assert compare(as_json([]), as_json(["x"]), RULES) == [Difference("$[0]", "<missing>", '"x"')]


def test_missing_keys_and_odd_key_names() -> None:
    legacy = as_json({"name": "tea", "odd key": 1, "prix€": 2})
    new = as_json({"odd key": 2, "prix€": 2, "added": {"x": 1}})
    assert compare(legacy, new, RULES) == [
        Difference("$.name", '"tea"', "<missing>"),
        Difference('$["odd key"]', "1", "2"),
        Difference("$.added", "<missing>", '{"x": 1}'),
    ]


def test_long_values_are_cut_to_200_characters() -> None:
    [difference] = compare(as_json({"text": "a" * 500}), as_json({"text": "b"}), RULES)
    assert len(difference.legacy) == 200
    assert difference.legacy.startswith('"aaa') and difference.legacy.endswith("…")
    assert difference.new == '"b"'


def test_problem_json_subtype_with_parameters_is_compared_structurally() -> None:
    legacy = captured('{"a": 1, "b": 2}', content_type="application/problem+json; charset=utf-8")
    new = captured('{"b": 2, "a": 1}', content_type="Application/Problem+JSON")
    assert [d.where for d in compare(legacy, new, RULES)] == ["header:content-type"]
    vendor = captured('{"b": 2,  "a": 1}', content_type="application/vnd.api+json")
    assert compare(captured('{"a": 1, "b": 2}', content_type="application/vnd.api+json"), vendor, RULES) == []


def test_deep_nesting_is_walked_without_recursion() -> None:
    deep, other = ("[" * 500 + leaf + "]" * 500 for leaf in ("1", "2"))
    assert compare(captured(deep), captured(deep), RULES) == []
    assert compare(captured(deep), captured(other), RULES) == [Difference("$" + "[0]" * 500, "1", "2")]


def test_json_nested_beyond_what_the_parser_accepts_is_compared_as_bytes() -> None:
    too_deep = "[" * 100_000 + "]" * 100_000
    with pytest.raises(RecursionError):
        json.loads(too_deep)
    assert compare(captured(too_deep), captured(too_deep), RULES) == []
    assert [d.where for d in compare(captured(too_deep), captured(too_deep + " "), RULES)] == ["body"]


def test_at_most_limit_differences_are_returned() -> None:
    legacy = as_json(list(range(100)))
    new = as_json([n + 1 for n in range(100)])
    assert len(compare(legacy, new, RULES)) == 50
    differences = compare(legacy, new, RULES, limit=3)
    assert [d.where for d in differences] == ["$[0]", "$[1]", "$[2]"]
    with_status = compare(captured("[1]", status=500), captured("[2]", status=200), RULES, limit=1)
    assert with_status == [Difference("status", "500", "200")]


# --- ignore patterns ----------------------------------------------------------------------------------------


def test_a_bare_key_is_ignored_at_any_depth_with_everything_beneath_it() -> None:
    rules = CompareRules.build(ignore_fields=["generated_at"])
    legacy = as_json({"generated_at": 1, "meta": {"generated_at": {"s": 1}}, "items": [{"generated_at": 1, "p": 1}]})
    new = as_json({"generated_at": 2, "meta": {"generated_at": {"s": 2}}, "items": [{"generated_at": 2, "p": 2}]})
    assert compare(legacy, new, rules) == [Difference("$.items[0].p", "1", "2")]


def test_any_index_and_any_key_patterns() -> None:
    rules = CompareRules.build(ignore_fields=["$.items[*].id", "$.*.etag"])
    legacy = as_json({"items": [{"id": 1, "n": 1}, {"id": 2, "n": 2}], "a": {"etag": "x"}, "b": {"etag": "x"}})
    new = as_json({"items": [{"id": 7, "n": 1}, {"id": 8, "n": 3}], "a": {"etag": "y"}, "b": {"etag": "z"}})
    assert compare(legacy, new, rules) == [Difference("$.items[1].n", "2", "3")]


def test_an_ignored_subtree_is_not_walked_but_a_sibling_with_the_same_prefix_is() -> None:
    rules = CompareRules.build(ignore_fields=["$.meta"])
    legacy = as_json({"meta": {"a": {"b": [1, 2]}}, "metadata": 1})
    new = as_json({"meta": "replaced", "metadata": 2})
    assert compare(legacy, new, rules) == [Difference("$.metadata", "1", "2")]


@pytest.mark.parametrize(
    ("pattern", "path", "ignored"),
    [
        ("$.meta.generated_at", "$.meta.generated_at", True),
        ("$.meta.generated_at", "$.meta.generated_at.seconds", True),
        ("$.meta.generated_at", "$.meta.generated_atx", False),
        ("$.meta.generated_at", "$.generated_at", False),
        ("$.items[*].id", "$.items[3].id", True),
        ("$.items[*].id", "$.items[3].ids", False),
        ("$.items[*].id", "$.items.id", False),
        ("$.items[2]", "$.items[2].id", True),
        ("$.items[02]", "$.items[2]", True),
        ("$.items[2]", "$.items[20]", False),
        ("$.*.id", "$.a.id", True),
        ("$.*.id", '$["odd key"].id', True),
        ("$.*.id", "$[0].id", False),
        ('$["odd key"]', '$["odd key"][0]', True),
        ('$["name"]', "$.name", True),
        ("updated_at", "$.updated_at", True),
        ("updated_at", "$.a[3].b.updated_at.x", True),
        ("updated_at", "$.updated_atx", False),
        ("updated_at", '$["x.updated_at.y"]', False),
        ("odd-key", '$.a["odd-key"]', True),
        ("$", "$.anything", True),
    ],
)
def test_ignores_field(pattern: str, path: str, ignored: bool) -> None:
    assert CompareRules.build(ignore_fields=[pattern]).ignores_field(path) is ignored


def test_no_ignore_fields_ignores_nothing() -> None:
    assert not RULES.ignores_field("$.x")


@pytest.mark.parametrize(
    "pattern", ["", "items.id", "$items", "$.items[", "$.items[x]", "$.a..b", '$["\\q"]', "odd key", "*", "$.a b"]
)
def test_a_bad_ignore_pattern_raises_value_error_naming_it_and_the_syntax(pattern: str) -> None:
    with pytest.raises(ValueError, match="invalid ignore field pattern") as caught:
        CompareRules.build(ignore_fields=["ok", pattern])
    assert repr(pattern) in str(caught.value)
    assert "$.items[*].id" in str(caught.value)


def test_rules_built_directly_are_normalised_and_validated_too() -> None:
    rules = CompareRules(ignore_fields=("x",), ignore_headers=frozenset({" X-Cache "}))
    assert rules.ignore_headers == {"x-cache"}
    assert rules.ignores_field("$.a.x")
    assert rules == CompareRules(ignore_fields=("x",), ignore_headers=frozenset({"x-cache"}))
    with pytest.raises(ValueError, match="'bad pattern'"):
        CompareRules(ignore_fields=("bad pattern",))


# --- bodies that are not JSON ---------------------------------------------------------------------------------


def test_a_non_json_body_difference_is_one_difference_with_a_preview() -> None:
    legacy = captured("hello", content_type="text/plain")
    new = captured("hullo", content_type="text/plain")
    assert compare(legacy, new, RULES) == [Difference("body", "'hello' (5 bytes)", "'hullo' (5 bytes)")]
    assert compare(legacy, captured("hello", content_type="text/plain"), RULES) == []


def test_a_long_body_preview_shows_80_characters_and_the_length() -> None:
    legacy = captured("é" * 1234, content_type="text/plain")
    new = captured(b"\xff" * 3, content_type=None)
    [_, difference] = compare(legacy, new, RULES)
    assert difference.where == "body"
    assert difference.legacy == repr("é" * 80 + "…") + " (2468 bytes)"
    assert difference.new == repr("\ufffd" * 3) + " (3 bytes)"


def test_invalid_json_with_a_json_content_type_is_compared_as_bytes() -> None:
    assert compare(captured("{oops"), captured("{oops"), RULES) == []
    assert compare(captured("{oops"), captured("{oops}"), RULES) == [
        Difference("body", "'{oops' (5 bytes)", "'{oops}' (6 bytes)")
    ]


def test_json_on_one_side_only_is_one_body_difference() -> None:
    legacy = as_json({"a": 1, "b": 2})
    new = captured("<p>a=1</p>", content_type="text/html")
    assert compare(legacy, new, RULES) == [
        Difference("header:content-type", "'application/json'", "'text/html'"),
        Difference("body", """'{"a": 1, "b": 2}' (16 bytes)""", "'<p>a=1</p>' (10 bytes)"),
    ]
    assert [d.where for d in compare(legacy, captured("{not json"), RULES)] == ["body"]


def test_truncated_large_bodies_are_compared_by_length_and_digest() -> None:
    mib = 1024 * 1024
    data = b"x" * (mib - 1)
    legacy = captured(data + b"a", content_type="application/octet-stream", limit=1024)
    new = captured(data + b"b", content_type="application/octet-stream", limit=1024)
    same = captured(data + b"a", content_type="application/octet-stream", limit=1024)
    assert legacy.truncated and len(legacy.body) == 1024
    assert legacy.body == new.body  # the captured part is the same: only the digest tells them apart
    assert compare(legacy, same, RULES) == []
    assert compare(legacy, new, RULES) == [
        Difference("body", repr("x" * 80 + "…") + f" ({mib} bytes)", repr("x" * 80 + "…") + f" ({mib} bytes)")
    ]


def test_truncated_json_is_compared_as_bytes() -> None:
    # Past the capture limit the JSON cannot be parsed, so a mere change of whitespace is a difference.
    value = {"items": list(range(1000))}
    compact, spaced = json.dumps(value, separators=(",", ":")), json.dumps(value)
    assert compare(captured(compact, limit=100), captured(compact, limit=100), RULES) == []
    assert compare(captured(compact, limit=100), captured(spaced, limit=100), RULES) == [
        Difference("body", repr(compact[:80] + "…") + " (3901 bytes)", repr(spaced[:80] + "…") + " (4901 bytes)")
    ]


# --- status and headers -------------------------------------------------------------------------------------


def test_a_status_difference() -> None:
    assert compare(captured("{}", status=200), captured("{}", status=404), RULES) == [
        Difference("status", "200", "404")
    ]


def test_a_content_type_difference_is_reported() -> None:
    legacy = captured("x", content_type="text/plain; charset=utf-8")
    new = captured("x", content_type="text/html; charset=utf-8")
    assert compare(legacy, new, RULES) == [
        Difference("header:content-type", "'text/plain; charset=utf-8'", "'text/html; charset=utf-8'")
    ]


def test_date_set_cookie_and_other_volatile_headers_are_ignored_by_default() -> None:
    assert {"date", "set-cookie", "server", "content-length", "x-request-id", "etag"} <= DEFAULT_IGNORED_HEADERS
    legacy = captured("{}", headers=(("date", "Mon"), ("set-cookie", "s=1"), ("server", "gunicorn")))
    new = captured("{}", headers=(("date", "Tue"), ("set-cookie", "s=2"), ("server", "uvicorn"), ("age", "3")))
    assert compare(legacy, new, RULES) == []


def test_extra_ignored_headers_add_to_the_defaults() -> None:
    legacy = captured("{}", headers=(("X-Cache", "HIT"), ("Date", "Mon")))
    new = captured("{}", headers=(("X-Cache", "MISS"), ("Date", "Tue")))
    assert compare(legacy, new, RULES) == [Difference("header:x-cache", "'HIT'", "'MISS'")]
    rules = CompareRules.build(ignore_headers=["X-Cache"])
    assert rules.ignore_headers == DEFAULT_IGNORED_HEADERS | {"x-cache"}
    assert compare(legacy, new, rules) == []


def test_missing_repeated_and_padded_headers() -> None:
    legacy = captured("{}", headers=(("cache-control", "no-store "), ("link", "<a>"), ("link", " <b>")))
    new = captured("{}", headers=(("cache-control", "no-store"), ("link", "<a>, <b>"), ("x-new", "1")))
    assert compare(legacy, new, RULES) == [Difference("header:x-new", "<missing>", "'1'")]
    # Headers on a hand-made `Captured` may keep their case; they are still matched without it.
    by_hand = Captured(200, (("X-New", "2"), ("Content-Type", "application/json")), b"{}", 2, "")
    assert [d.where for d in compare(by_hand, new, RULES)] == ["header:x-new", "header:cache-control", "header:link"]
    assert compare(by_hand, new, RULES)[0] == Difference("header:x-new", "'2'", "'1'")


# --- noise ----------------------------------------------------------------------------------------------------


def page(generated_at: str, trace: str, price: float, *, date: str = "Mon") -> Captured:
    value = {"generated_at": generated_at, "trace": {"id": trace}, "items": [{"name": "tea", "price": price}]}
    return captured(json.dumps(value), headers=(("date", date),))


def test_noise_filter_learns_from_legacy_vs_legacy_and_keeps_only_the_real_difference() -> None:
    first = page("2025-01-01T10:00:00", "a1b2", 10)
    again = page("2025-01-01T10:00:01", "c3d4", 10, date="Tue")
    new = page("2025-01-01T10:00:02", "e5f6", 12)
    noise = NoiseFilter()
    noise.learn(compare(first, again, RULES))
    assert noise.samples == 1
    assert noise.fields == {"$.generated_at", "$.trace.id"}
    differences = compare(first, new, RULES)
    assert len(differences) == 3
    assert noise.filter(differences) == [Difference("$.items[0].price", "10", "12")]


def test_noise_is_tracked_by_field_across_list_indexes_and_subtrees() -> None:
    noise = NoiseFilter()
    noise.learn([Difference("$.items[0].token", "1", "2"), Difference("$.meta", "{}", "<missing>")])
    noise.learn([])
    assert noise.samples == 2
    assert noise.fields == {"$.items[*].token", "$.meta"}
    assert noise.is_noise(Difference("$.items[5].token", "a", "b"))
    assert noise.is_noise(Difference("$.items[5].token.part", "a", "b"))
    assert noise.is_noise(Difference("$.meta.generated_at", "a", "b"))
    assert noise.is_noise(Difference("$.meta[3]", "a", "b"))
    assert not noise.is_noise(Difference("$.metadata", "a", "b"))
    assert not noise.is_noise(Difference("$.items[5].price", "a", "b"))
    assert not noise.is_noise(Difference("$", "a", "b"))


def test_status_and_headers_can_be_noise() -> None:
    noise = NoiseFilter()
    noise.learn([Difference("status", "200", "503"), Difference("header:x", "'1'", "'2'")])
    assert noise.is_noise(Difference("status", "200", "500"))
    assert noise.is_noise(Difference("header:x", "'1'", "'3'"))
    assert not noise.is_noise(Difference("header:x.y", "'1'", "'3'"))  # a header name is not a JSON path


def test_the_noisy_set_is_bounded() -> None:
    noise = NoiseFilter()
    noise.learn(Difference(f"$.k{n}", "1", "2") for n in range(1_500))
    noise.learn([Difference("$.late", "1", "2")])
    assert len(noise.fields) == 1_000
    assert "$.late" not in noise.fields
    assert noise.is_noise(Difference("$.k999", "1", "2"))
    assert not noise.is_noise(Difference("$.k1000", "1", "2"))


# --- Difference, Captured and ResponseCapture ------------------------------------------------------------------


def test_difference_field_replaces_indexes_but_not_quoted_keys() -> None:
    difference = Difference('$.items[12].tags[0]["a[1]"]', "1", "2")
    assert difference.field == '$.items[*].tags[*]["a[1]"]'
    assert difference.to_dict() == {
        "where": '$.items[12].tags[0]["a[1]"]',
        "field": '$.items[*].tags[*]["a[1]"]',
        "legacy": "1",
        "new": "2",
    }


def test_response_capture_builds_a_captured_from_asgi_messages() -> None:
    capture = ResponseCapture(limit=8)
    assert not capture.started and not capture.complete
    capture.message({"type": "http.response.start", "status": 201, "headers": [(b"Content-Type", b"caf\xe9")]})
    capture.message({"type": "http.response.body", "body": b"hello ", "more_body": True})
    capture.message({"type": "http.response.body", "more_body": True})
    capture.message({"type": "http.response.trailers", "headers": []})
    assert capture.started and not capture.complete
    capture.message({"type": "http.response.body", "body": b"world", "more_body": True})
    capture.message({"type": "http.response.body", "body": b"!"})
    assert capture.complete
    result = capture.result()
    assert result == Captured(
        201, (("content-type", "café"),), b"hello wo", 12, hashlib.sha256(b"hello world!").hexdigest()
    )
    assert result.truncated


def test_response_capture_of_an_answer_that_never_started() -> None:
    result = ResponseCapture().result()
    assert (result.status, result.headers, result.body, result.length) == (0, (), b"", 0)
    assert result.digest == hashlib.sha256(b"").hexdigest()
    assert not result.truncated


def test_captured_to_dict_cuts_the_body() -> None:
    full = captured("é" * 10, content_type="text/plain")
    assert full.to_dict() == {
        "status": 200,
        "headers": [["content-type", "text/plain"]],
        "body": "é" * 10,
        "length": 20,
        "truncated": False,
    }
    cut = full.to_dict(body_limit=5)
    assert cut["body"] == "éé\ufffd" and cut["truncated"] is True
    assert captured("abcdef", limit=3).to_dict()["truncated"] is True
    json.dumps(cut)


# --- properties -----------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)


@settings(deadline=None)
@given(json_values)
def test_a_json_value_never_differs_from_itself_however_it_is_written(value: Any) -> None:
    assert compare(as_json(value), as_json(value), RULES, limit=10_000) == []
    assert compare(as_json(value), as_json(value, indent=2, sort_keys=True), RULES, limit=10_000) == []


def reference(value: Any) -> Any:
    """A slow, obvious model of JSON equality: bools apart from numbers, numbers by value, dicts unordered."""
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("list", tuple(reference(item) for item in value))
    if isinstance(value, dict):
        return ("dict", {key: reference(item) for key, item in value.items()})
    return (type(value).__name__, value)


finite_json = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 3) | st.sampled_from([0.0, 1.0, 2.5]) | st.sampled_from("ab"),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.sampled_from("xyz"), children, max_size=3),
    max_leaves=10,
)


@settings(deadline=None)
@given(finite_json, finite_json)
def test_compare_finds_a_difference_exactly_when_the_values_differ(legacy: Any, new: Any) -> None:
    differences = compare(as_json(legacy), as_json(new), RULES, limit=10_000)
    assert (differences == []) == (reference(legacy) == reference(new))
