"""Compare the legacy and the new side's answers to the same request, for shadow traffic.

While a route is shadowed, the legacy side answers the user and the new side answers the same request in
the background. A migration is only safe when the two answers agree, and "agree" has to ignore what is
meant to differ: a `Date` header, a fresh request id, a timestamp in the JSON. So JSON bodies are compared
structurally (key order and whitespace do not matter, `1 == 1.0`), users can ignore fields by pattern, and a
`NoiseFilter` learns which fields differ even between two answers of the legacy side itself (Diffy's idea).

Everything here is pure and synchronous: `ResponseCapture` only collects ASGI messages, with bounded memory,
and `compare` only looks at two `Captured` responses.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

# Headers that differ between any two answers, or between two servers, without meaning anything.
DEFAULT_IGNORED_HEADERS: frozenset[str] = frozenset(
    "date server content-length transfer-encoding connection keep-alive set-cookie x-request-id x-served-by "
    "etag last-modified vary age".split()
)

_MISSING_TEXT = "<missing>"
_VALUE_LIMIT = 200
_PREVIEW_CHARS = 80
_MAX_NOISY_FIELDS = 1_000

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_QUOTED = r'\["(?:[^"\\]|\\.)*"\]'
_ANY_KEY = rf"(?:\.[A-Za-z_][A-Za-z0-9_]*|{_QUOTED})"
_ANY_INDEX = r"\[(?:\d+|\*)\]"
# One component of a concrete path or of a field: `.name`, `["odd key"]`, `[3]` or `[*]`.
_COMPONENT = re.compile(rf"{_ANY_KEY}|{_ANY_INDEX}")
_INDEX_OR_QUOTED = re.compile(rf"{_QUOTED}|\[\d+\]")
_PATTERN_COMPONENT = re.compile(
    r'\.(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)|(?P<any_key>\*))|\[(?:(?P<index>\d+)|(?P<any_index>\*)|(?P<quoted>"(?:[^"\\]|\\.)*"))\]'
)
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_PATTERN_SYNTAX = (
    "use a JSON path from the root such as '$.meta.generated_at' or '$.items[*].id' "
    "(components .name, .*, [\"odd key\"], [N] and [*]), or a bare key name such as 'updated_at' "
    "(letters, digits, '_' and '-') that matches at any depth"
)


class _Missing:
    """The value on the side where a JSON key or list element is absent."""


_MISSING = _Missing()


def _cut(text: str) -> str:
    return text if len(text) <= _VALUE_LIMIT else text[: _VALUE_LIMIT - 1] + "…"


def _key_component(key: str) -> str:
    return f".{key}" if _IDENTIFIER.fullmatch(key) else f"[{json.dumps(key, ensure_ascii=False)}]"


@dataclass(frozen=True, slots=True)
class Captured:
    """One response as the shadow saw it.

    `body` holds at most the capture limit; `length` and `digest` describe the whole body:

    ```python
    Captured(200, (("content-type", "text/plain"),), b"hi", 2, hashlib.sha256(b"hi").hexdigest())
    ```
    """

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    length: int
    digest: str

    @property
    def truncated(self) -> bool:
        """True when the body was longer than the capture limit, so only `length` and `digest` are exact."""
        return self.length > len(self.body)

    def to_dict(self, body_limit: int = 2048) -> dict[str, Any]:
        """A JSON-ready view for logs and reports, with the body cut to `body_limit` bytes."""
        shown = self.body[:body_limit]
        return {
            "status": self.status,
            "headers": [[name, value] for name, value in self.headers],
            "body": shown.decode("utf-8", errors="replace"),
            "length": self.length,
            "truncated": self.truncated or len(shown) < len(self.body),
        }


class ResponseCapture:
    """Builds a `Captured` from ASGI messages, keeping at most `limit` bytes of body (default 256 KiB)
    and hashing all of it, so memory stays bounded whatever the size of the response.

    ```python
    capture = ResponseCapture(limit=1024)
    capture.message({"type": "http.response.start", "status": 200, "headers": [(b"Content-Type", b"text/plain")]})
    capture.message({"type": "http.response.body", "body": b"hello"})
    capture.result().body  # b"hello"
    ```
    """

    def __init__(self, limit: int = 262_144) -> None:
        assert limit >= 0, "ResponseCapture(limit=...) must not be negative"
        self._limit = limit
        self._status = 0
        self._headers: tuple[tuple[str, str], ...] = ()
        self._body = bytearray()
        self._length = 0
        self._hash: Any = None  # hashed only past `limit`: a body kept whole is hashed once, at the end
        self._started = False
        self._complete = False

    def message(self, message: Mapping[str, Any]) -> None:
        """Feed one message the app sent; types other than the response start and body are ignored."""
        kind = message.get("type")
        if kind == "http.response.start":
            self._started = True
            self._status = int(message["status"])
            self._headers = tuple(
                (bytes(name).decode("latin-1").lower(), bytes(value).decode("latin-1"))
                for name, value in message.get("headers", ())
            )
        elif kind == "http.response.body":
            chunk = bytes(message.get("body", b""))
            self._length += len(chunk)
            if self._hash is None and self._length > self._limit:
                self._hash = hashlib.sha256(self._body)
            if self._hash is not None:
                self._hash.update(chunk)
            self._body += chunk[: max(self._limit - len(self._body), 0)]
            self._complete = self._complete or not message.get("more_body", False)

    @property
    def started(self) -> bool:
        return self._started

    @property
    def complete(self) -> bool:
        return self._complete

    def result(self) -> Captured:
        """The response so far; status 0 if it never started."""
        digest = (self._hash if self._hash is not None else hashlib.sha256(self._body)).hexdigest()
        return Captured(self._status, self._headers, bytes(self._body), self._length, digest)


@dataclass(frozen=True, slots=True)
class Difference:
    """One place where the two responses disagree, e.g. `Difference("$.items[0].price", "10", "12")`."""

    where: str
    legacy: str
    new: str

    @property
    def field(self) -> str:
        """`where` with every list index replaced by `[*]`: `$.items[*].price` is what noise is tracked by."""
        return _INDEX_OR_QUOTED.sub(lambda m: m[0] if m[0].startswith('["') else "[*]", self.where)

    def to_dict(self) -> dict[str, str]:
        return {"where": self.where, "field": self.field, "legacy": self.legacy, "new": self.new}


def _bad_pattern(pattern: str, why: str) -> ValueError:
    return ValueError(f"invalid ignore field pattern {pattern!r}: {why}; {_PATTERN_SYNTAX}")


def _compile_pattern(pattern: str) -> str:
    """One ignore pattern as a regex source matching the concrete paths it names (a prefix of them)."""
    if not pattern.startswith("$"):
        if _BARE_KEY.fullmatch(pattern) is None:
            raise _bad_pattern(pattern, "not a path from '$' nor a bare key name")
        return rf"\$(?:{_COMPONENT.pattern})*?{re.escape(_key_component(pattern))}"
    parts = [r"\$"]
    pos = 1
    while pos < len(pattern):
        match = _PATTERN_COMPONENT.match(pattern, pos)
        if match is None:
            raise _bad_pattern(pattern, f"cannot read {pattern[pos:]!r}")
        if match["name"] is not None:
            parts.append(re.escape("." + match["name"]))
        elif match["any_key"] is not None:
            parts.append(_ANY_KEY)
        elif match["index"] is not None:
            parts.append(re.escape(f"[{int(match['index'])}]"))
        elif match["any_index"] is not None:
            parts.append(_ANY_INDEX)
        else:
            try:
                key = json.loads(match["quoted"])
            except ValueError:
                raise ValueError(
                    f"invalid ignore field pattern {pattern!r}: bad quoted key; {_PATTERN_SYNTAX}"
                ) from None
            parts.append(re.escape(_key_component(key)))
        pos = match.end()
    return "".join(parts)


@dataclass(frozen=True, slots=True)
class CompareRules:
    """What `compare` leaves out: JSON fields by pattern, and headers by (lower-case) name.

    ```python
    rules = CompareRules.build(ignore_fields=["$.meta.generated_at", "$.items[*].id", "updated_at"],
                               ignore_headers=["X-Cache"])
    rules.ignores_field("$.items[3].id")  # True
    ```
    """

    ignore_fields: tuple[str, ...] = ()
    ignore_headers: frozenset[str] = DEFAULT_IGNORED_HEADERS
    _matcher: re.Pattern[str] | None = dataclasses.field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Patterns are compiled once, here, into one regex; compare only runs it.
        fields = tuple(self.ignore_fields)
        object.__setattr__(self, "ignore_fields", fields)
        object.__setattr__(self, "ignore_headers", frozenset(name.strip().lower() for name in self.ignore_headers))
        if fields:
            source = "|".join(_compile_pattern(pattern) for pattern in fields)
            object.__setattr__(self, "_matcher", re.compile(rf"(?:{source})(?:\Z|[.\[])"))

    @classmethod
    def build(cls, *, ignore_fields: Iterable[str] = (), ignore_headers: Iterable[str] = ()) -> CompareRules:
        """Rules from configuration: `ignore_headers` are added to `DEFAULT_IGNORED_HEADERS`.

        An invalid field pattern raises `ValueError` naming it and the syntax.
        """
        return cls(ignore_fields=tuple(ignore_fields), ignore_headers=DEFAULT_IGNORED_HEADERS | set(ignore_headers))

    def ignores_field(self, path: str) -> bool:
        """Whether a concrete JSON path such as `$.items[3].id` is ignored (itself or as part of a subtree)."""
        return self._matcher is not None and self._matcher.match(path) is not None


def compare(legacy: Captured, new: Captured, rules: CompareRules, *, limit: int = 50) -> list[Difference]:
    """The differences between two responses, at most `limit` of them, in status, headers, body order.

    ```python
    compare(legacy, new, CompareRules.build(ignore_fields=["generated_at"]))
    # [Difference(where='$.items[0].price', legacy='10', new='12')]
    ```
    """
    out: list[Difference] = []
    if legacy.status != new.status:
        out.append(Difference("status", str(legacy.status), str(new.status)))
    legacy_headers = _joined_headers(legacy, rules.ignore_headers)
    new_headers = _joined_headers(new, rules.ignore_headers)
    for name in dict.fromkeys([*legacy_headers, *new_headers]):
        a, b = legacy_headers.get(name), new_headers.get(name)
        if a != b:
            out.append(Difference(f"header:{name}", _header_text(a), _header_text(b)))
    if legacy.length == new.length and not legacy.truncated and legacy.body == new.body:
        return out[:limit]  # the same bytes: no need to parse them
    legacy_json, new_json = _json_body(legacy), _json_body(new)
    if legacy_json is not _MISSING and new_json is not _MISSING:
        _compare_json(legacy_json, new_json, rules, out, limit)
    elif not _same_bytes(legacy, new):
        # Also the case of JSON on one side only: one difference, not one per field.
        out.append(Difference("body", _preview(legacy), _preview(new)))
    return out[:limit]


def _joined_headers(response: Captured, ignored: frozenset[str]) -> dict[str, str]:
    values: dict[str, list[str]] = {}
    for name, value in response.headers:
        if name.lower() not in ignored:
            values.setdefault(name.lower(), []).append(value.strip())
    return {name: ", ".join(parts) for name, parts in values.items()}


def _header_text(value: str | None) -> str:
    return _MISSING_TEXT if value is None else _cut(repr(value))


def _json_body(response: Captured) -> object:
    """The parsed body when it is complete JSON by content type and by content, else `_MISSING`."""
    content_type = next((value for name, value in response.headers if name.lower() == "content-type"), "")
    media = content_type.split(";", 1)[0].strip().lower()
    if response.truncated or not (media == "application/json" or (media.endswith("+json") and "/" in media)):
        return _MISSING
    try:
        return json.loads(response.body)
    except (ValueError, RecursionError):  # RecursionError: nesting deeper than the parser allows
        return _MISSING


def _same_bytes(legacy: Captured, new: Captured) -> bool:
    if legacy.truncated or new.truncated:
        return (legacy.length, legacy.digest) == (new.length, new.digest)
    return legacy.body == new.body


def _preview(response: Captured) -> str:
    # 4 bytes per character at most, so this slice holds the first 80 characters.
    chunk = response.body[: _PREVIEW_CHARS * 4]
    decoded = chunk.decode("utf-8", errors="replace")
    text = decoded[:_PREVIEW_CHARS]
    if len(decoded) > _PREVIEW_CHARS or response.length > len(chunk):
        text += "…"
    return _cut(f"{text!r} ({response.length} bytes)")


def _compare_json(legacy: object, new: object, rules: CompareRules, out: list[Difference], limit: int) -> None:
    # An explicit stack rather than recursion: a deeply nested body must not hit the recursion limit.
    stack: list[tuple[str, object, object]] = [("$", legacy, new)]
    while stack and len(out) < limit:
        path, a, b = stack.pop()
        if rules.ignores_field(path):
            continue
        if isinstance(a, dict) and isinstance(b, dict):
            keys = list(dict.fromkeys([*a, *b]))
            stack.extend((path + _key_component(k), a.get(k, _MISSING), b.get(k, _MISSING)) for k in reversed(keys))
        elif isinstance(a, list) and isinstance(b, list):
            stack.extend(
                (f"{path}[{i}]", a[i] if i < len(a) else _MISSING, b[i] if i < len(b) else _MISSING)
                for i in reversed(range(max(len(a), len(b))))
            )
        elif not _same_value(a, b):
            out.append(Difference(path, _json_text(a), _json_text(b)))


def _same_value(a: object, b: object) -> bool:
    """Equality of two JSON leaves (or of values of different types): numbers by value, bools only to bools."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b or (a != a and b != b)  # NaN (which Python's json accepts) equals NaN here
    return type(a) is type(b) and a == b


def _json_text(value: object) -> str:
    return _MISSING_TEXT if value is _MISSING else _cut(json.dumps(value, ensure_ascii=False))


class NoiseFilter:
    """Diffy's idea: send some requests to the legacy side twice; fields where legacy differs from
    itself are noise (timestamps, random ids), and differences against the new side in those fields
    are not reported.

    ```python
    noise = NoiseFilter()
    noise.learn(compare(legacy_first, legacy_second, rules))
    real = noise.filter(compare(legacy_first, new, rules))
    ```

    Not thread-safe: it lives on the event loop.
    """

    def __init__(self) -> None:
        self._fields: set[str] = set()
        self._samples = 0

    def learn(self, differences: Iterable[Difference]) -> None:
        """Count one legacy-vs-legacy sample and remember the fields it differed in (up to 1,000 fields)."""
        self._samples += 1
        for difference in differences:
            if len(self._fields) >= _MAX_NOISY_FIELDS:
                break
            self._fields.add(difference.field)

    def is_noise(self, difference: Difference) -> bool:
        """True when the difference's field, or a JSON subtree containing it, was seen to be noisy."""
        field = difference.field
        if field in self._fields:
            return True
        if not field.startswith("$"):
            return False
        # Every proper prefix that ends at a component boundary: `$`, `$.items`, `$.items[*]`, ...
        return any(field[: match.start()] in self._fields for match in _COMPONENT.finditer(field, 1))

    def filter(self, differences: Iterable[Difference]) -> list[Difference]:
        return [difference for difference in differences if not self.is_noise(difference)]

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self._fields)

    @property
    def samples(self) -> int:
        return self._samples
