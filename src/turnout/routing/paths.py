"""Split a request's raw path into decoded segments, before any routing.

Routing uses the raw path (`scope["raw_path"]`), split at `/` first and decoded segment by
segment, so an encoded slash (`%2F`) stays inside its segment and can never move a request to
another mount. Dot segments are refused: `/a/../b` means different things to different
servers, and a legacy app behind a prefix must never see a path that climbs out of it.
"""

from __future__ import annotations

from urllib.parse import quote, unquote_to_bytes

from starlette.types import Scope


class BadPath(ValueError):
    """The request path cannot be routed; the client gets a 400."""


_DOTS = (".", "..")
# What `quote` leaves alone when a server gives no raw path: RFC 3986 `pchar` and "/".
_PATH_SAFE = "/:@!$&'()*+,;=-._~"


def _decode(raw: str) -> str:
    if "%" not in raw and raw.isascii():
        return raw
    try:
        # The raw path is bytes read as latin-1 (see `raw_route_path`): back to those bytes first.
        return unquote_to_bytes(raw.encode("latin-1")).decode("utf-8")
    except UnicodeError:
        # Not UTF-8 bytes read as latin-1: text already, or bytes that are not UTF-8 at all.
        return unquote_to_bytes(raw.encode("utf-8")).decode("utf-8", "replace")


def split_path(raw: str) -> list[str]:
    """`"/a/b%2Fc/"` gives `["a", "b/c", ""]`; dot segments and NUL bytes raise `BadPath`."""
    if not raw.startswith("/"):
        raise BadPath("the path must start with '/'")
    segments = raw[1:].split("/")
    if "%" not in raw and raw.isascii():
        # Nothing to decode: the common case, checked in one pass.
        _check(segments, raw)
        return segments
    for index, raw_segment in enumerate(segments):
        segment = segments[index] = _decode(raw_segment)
        if "/" in segment:  # an encoded slash: `%2F..%2F` climbs just as well
            _check(segment.split("/"), segment)
    _check(segments, "".join(segments))
    return segments


def _check(segments: list[str], text: str) -> None:
    if "." in text and any(segment in _DOTS for segment in segments):
        raise BadPath("dot segments ('.' and '..') are not allowed in the path")
    if "\x00" in text:
        raise BadPath("NUL bytes are not allowed in the path")


def raw_route_path(scope: Scope) -> str:
    """The request's path as sent, without the query and without the server's `root_path`."""
    raw: bytes | None = scope.get("raw_path")
    if raw is None:
        # No raw path from this server: encode the decoded one again, so that a "%" in it is not
        # decoded a second time (an encoded slash is lost, though).
        path: str = scope["path"]
        raw = quote(path, safe=_PATH_SAFE).encode("ascii")
    text = raw.split(b"?", 1)[0].decode("latin-1")
    root_path: str = scope.get("root_path", "")
    if root_path and text.startswith(root_path) and text[len(root_path) : len(root_path) + 1] in ("", "/"):
        text = text[len(root_path) :] or "/"
    return text
