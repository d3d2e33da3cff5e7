from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from turnout.routing.paths import BadPath, raw_route_path, split_path


def latin1(raw: bytes) -> str:
    """A raw path as `raw_route_path` gives it: the bytes on the wire, read as latin-1."""
    return raw.decode("latin-1")


@pytest.mark.parametrize(
    ("raw", "segments"),
    [
        ("/", [""]),
        ("/shop", ["shop"]),
        ("/shop/", ["shop", ""]),
        ("/a//b", ["a", "", "b"]),
        ("/a/b%2Fc/", ["a", "b/c", ""]),
        ("/a%20b", ["a b"]),
        ("/100%25", ["100%"]),
        ("/%zz", ["%zz"]),
        ("/.../.a/a..b/..a", ["...", ".a", "a..b", "..a"]),
    ],
)
def test_split_path_splits_at_slashes_then_decodes_each_segment(raw: str, segments: list[str]) -> None:
    assert split_path(raw) == segments


def test_split_path_decodes_utf8_whether_percent_encoded_or_raw() -> None:
    assert split_path(latin1("/caf%C3%A9/caf\u00e9".encode())) == ["café", "café"]
    assert split_path("/caf\u00e9/\u20ac") == ["café", "€"]  # text already decoded is kept


def test_split_path_replaces_bytes_that_are_not_utf8() -> None:
    assert split_path("/%FF") == ["\ufffd"]


@pytest.mark.parametrize(
    "raw",
    [
        "/a/../b",
        "/a/./b",
        "/..",
        "/.",
        "/a/..",
        "/a/%2e%2e/b",
        "/a/%2E%2E/b",
        "/a/.%2e/b",
        "/a/%2e/b",
        "/a/..%2Fb",
        "/a/b%2F..",
        "/a/%2F.%2Fb",
    ],
)
def test_dot_segments_are_refused(raw: str) -> None:
    with pytest.raises(BadPath, match=r"dot segments \('\.' and '\.\.'\) are not allowed"):
        split_path(raw)


@pytest.mark.parametrize("raw", ["/a%00b", "/a\x00b", "/caf%C3%A9/%00"])
def test_nul_bytes_are_refused(raw: str) -> None:
    with pytest.raises(BadPath, match="NUL bytes are not allowed"):
        split_path(raw)


def test_a_path_must_start_with_a_slash() -> None:
    with pytest.raises(BadPath, match="must start with '/'"):
        split_path("shop")
    assert issubclass(BadPath, ValueError)


_SEGMENT_TEXT = st.text(alphabet=st.sampled_from("ab./%é€\x00 -"), max_size=4)


def _encode(text: str, *, everything: bool, dots: bool) -> str:
    encoded = quote(text, safe="") if everything else text.replace("%", "%25").replace("/", "%2F")
    return encoded.replace(".", "%2e") if dots else encoded


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(_SEGMENT_TEXT, st.booleans(), st.booleans()), min_size=1, max_size=5))
def test_split_path_gives_back_the_segments_that_were_encoded(parts: list[tuple[str, bool, bool]]) -> None:
    """Each segment is percent-encoded (all of it, or only `%` and `/`; dots sometimes as `%2e`)."""
    raw = latin1(("/" + "/".join(_encode(t, everything=e, dots=d) for t, e, d in parts)).encode("utf-8"))
    texts = [text for text, _, _ in parts]
    refused = any("\x00" in t or any(p in (".", "..") for p in t.split("/")) for t in texts)
    if refused:
        with pytest.raises(BadPath):
            split_path(raw)
    else:
        assert split_path(raw) == texts


def scope(**items: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"type": "http", "path": "/", "root_path": ""}
    base.update(items)
    return base


def test_raw_route_path_keeps_the_encoding_of_the_request() -> None:
    assert raw_route_path(scope(path="/a/b/c", raw_path=b"/a/b%2Fc")) == "/a/b%2Fc"
    assert raw_route_path(scope(path="/a", raw_path=b"/a?x=1")) == "/a"


@pytest.mark.parametrize(
    ("root_path", "raw", "expected"),
    [
        ("/app", b"/app/shop", "/shop"),
        ("/app", b"/app", "/"),
        ("/app", b"/application/shop", "/application/shop"),
        ("/app", b"/other", "/other"),
        ("", b"/app/shop", "/app/shop"),
    ],
)
def test_raw_route_path_leaves_out_root_path_at_a_segment_boundary(root_path: str, raw: bytes, expected: str) -> None:
    assert raw_route_path(scope(path=raw.decode(), raw_path=raw, root_path=root_path)) == expected


def test_without_raw_path_the_decoded_path_is_encoded_again() -> None:
    # A "%" that the server already decoded must not be decoded a second time.
    raw = raw_route_path(scope(path="/100%41/caf\u00e9/a b"))
    assert split_path(raw) == ["100%41", "café", "a b"]


def test_without_raw_path_dot_segments_are_still_refused() -> None:
    with pytest.raises(BadPath):
        split_path(raw_route_path(scope(path="/a/../b")))
