"""Import the routes of a Django project from its URL resolver.

Django matches what is left of the path, without its leading slash, against each pattern in
turn, through `include()`s, and the first that fits takes the request whatever its method (the
view answers 405 itself). Each route keeps Django's own regexes and converters:

- a `path()` pattern becomes static segments and parameters, with the converter's regex and
  `to_python` (`int`, `str`, `slug`, `uuid`, `path` and registered ones);
- a `re_path()` regex made of text and named groups (`^articles/(?P<year>[0-9]{4})/$`) becomes
  segments too, each group keeping its own regex;
- any other pattern (a regex with alternation, optional text or no `^`, a converter that may
  match `/` in an `include()`, a custom pattern class) is matched, from there on, by Django's
  own `match` of each pattern on the way down, so the table takes exactly what Django would;
- a pattern that depends on the active language (`i18n_patterns`, lazily translated routes)
  cannot be matched outside a request: its routes are left to the mount's prefix, which then
  takes every method.

Methods come from the view: a class-based view's handlers (`http_method_names`), Django REST
framework's `actions`, and `require_http_methods` (directly, or through `method_decorator` on
`dispatch`). A view that declares none takes any method. Endpoints are Django's view names,
namespaces included (`"blog:post-detail"`).
"""

from __future__ import annotations

import functools
import inspect
import re
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from types import CodeType
from typing import Any

from turnout.routing.converters import CUSTOM_ORDER, Converter, Rank, guarded, may_match_slash, ranked
from turnout.routing.first_match import first_match_wins
from turnout.routing.imported import ImportedRoute, defined_at
from turnout.routing.pattern import Param, Token, build_pattern

__all__ = ["DjangoRoutes", "depends_on_language", "from_django", "import_routes", "view_methods"]

# Django's own syntax of a parameter in a `path()` route (`_PATH_PARAMETER_COMPONENT_RE`).
_ROUTE_PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<parameter>[^>]+)>")
_GROUP_NAME = re.compile(r"\(\?P<([a-zA-Z_][a-zA-Z0-9_]*)>")
_REGEX_SYNTAX = frozenset(".^$*+?{}[]|()")
_DJANGO_LABELS = {
    "IntConverter": "int",
    "StringConverter": "str",
    "SlugConverter": "slug",
    "UUIDConverter": "uuid",
    "PathConverter": "path",
}
_STARLETTE_LABELS = frozenset({"int", "uuid", "path"})


def _without_dotall(regex: str) -> str:
    # Django compiles without re.DOTALL, the table's matchers with it: "." must not match "\n" here.
    return f"(?-s:{regex})" if "." in regex else regex


def from_django(converter: Any, *, name: str) -> Converter:
    """Translate one Django path converter instance (`pattern.converters[...]`), registered as `name`."""
    builtin = type(converter).__module__ == "django.urls.converters"
    label = _DJANGO_LABELS.get(type(converter).__name__, name) if builtin else name
    regex: str = converter.regex
    spans = label == "path" or may_match_slash(regex)
    rank, order = ranked(label, label, spans)
    convert = converter.to_python if builtin else guarded(converter.to_python)
    return Converter(label, _without_dotall(regex), convert, spans, rank, order)


def _group_converter(regex: str) -> Converter:
    """A named group of a `re_path()` regex: a string, matched by the group's own regex."""
    if regex == "[^/]+":
        return Converter("str", regex, str, False, Rank.UNTYPED, 0)
    spans = may_match_slash(regex)
    rank = Rank.TAIL if spans else Rank.TYPED
    return Converter(f"re:{regex}", _without_dotall(regex), str, spans, rank, CUSTOM_ORDER)


# What follows a `re_path()` regex without `$`: Django's `search` ignores the rest of the path.
_ANY_REST = Converter("rest", ".*", str, True, Rank.TAIL, CUSTOM_ORDER)


@dataclass(frozen=True, slots=True)
class _Piece:
    """One pattern on the way down to a view, as tokens the table matches and text it shows."""

    tokens: list[Token]
    text: str


def _route_piece(pattern: Any, *, endpoint: bool) -> _Piece | None:
    """A `path()` pattern; `None` where its tokens would match more than Django does."""
    route: str = pattern._route
    tokens: list[Token] = []
    text: list[str] = []
    pos = 0
    for match in _ROUTE_PARAM.finditer(route):
        name = match.group("parameter")
        converter = from_django(pattern.converters[name], name=match.group("converter") or "str")
        if converter.spans_segments and not endpoint:
            return None  # Django takes the longest match for an include() and never backtracks into it
        tokens += [route[pos : match.start()], Param(name, converter)]
        if converter.label == "str":
            shown = "{" + name + "}"
        elif converter.label in _STARLETTE_LABELS:
            shown = "{" + name + ":" + converter.label + "}"
        else:
            shown = match.group(0)
        text += [route[pos : match.start()], shown]
        pos = match.end()
    tokens.append(route[pos:])
    text.append(route[pos:])
    if not endpoint and len(tokens) > 1 and not route.endswith("/"):
        return None  # parameters that do not end at a "/" could be split otherwise than Django does
    return _Piece(tokens, "".join(text))


def _group_end(regex: str, start: int) -> int:
    """The index of the ")" that closes the group opened at `regex[start]`, or -1."""
    depth = 0
    index = start
    in_class = False
    while index < len(regex):
        char = regex[index]
        if char == "\\":
            index += 1  # the escaped character is skipped below
        elif in_class:
            in_class = char != "]"
        elif char == "[":
            in_class = True
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                return index
        index += 1
    return -1


# What makes a group match differently alone than inside the whole regex, or not compile in the
# table's regex: lookarounds, inline flags, conditionals, backreferences, anchors. Erring on the
# side of yes ("[a^]" too): such a regex is then matched by Django's own `match`.
_NOT_ALONE = re.compile(r"\\[0-9AZbB]|\(\?(?!:)|(?<!\[)\^|\$")


def _plain_group(inner: str) -> bool:
    """Whether a group's regex matches on its own as it does inside the whole regex."""
    if _NOT_ALONE.search(inner):
        return False
    try:
        re.compile(f"(?:{inner})")
    except re.error:
        return False  # the group's end was misread ("[)]"): Django's own match decides
    return True


def _regex_tokens(body: str) -> list[Token] | None:
    """Text and named groups, in order; `None` for any other regex."""
    tokens: list[Token] = []
    text: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if char == "\\":
            escaped = body[index + 1 : index + 2]
            if not escaped or escaped.isalnum():
                return None  # a class such as \d, or an anchor
            text.append(escaped)
            index += 2
        elif char == "(":
            name = _GROUP_NAME.match(body, index)
            end = _group_end(body, index)
            if name is None or end < 0 or not _plain_group(inner := body[name.end() : end]):
                return None
            tokens += ["".join(text), Param(name.group(1), _group_converter(inner))]
            text = []
            index = end + 1
        elif char in _REGEX_SYNTAX:
            return None
        else:
            text.append(char)
            index += 1
        if body[index : index + 1] in ("*", "+", "?", "{"):
            return None  # a quantifier on the text or group just read
    tokens.append("".join(text))
    return tokens


def _escaped(regex: str, index: int) -> bool:
    backslashes = len(regex[:index]) - len(regex[:index].rstrip("\\"))
    return backslashes % 2 == 1


def _regex_piece(pattern: Any, *, endpoint: bool) -> _Piece | None:
    """A `re_path()` pattern; `None` unless it is text and named groups anchored with `^`."""
    regex: str = pattern._regex
    if not regex.startswith("^"):
        return None  # searched anywhere in the rest of the path
    body = regex[1:]
    closed = False
    if body.endswith("$"):
        # Django matches an endpoint whose regex ends with "$" (even "\$") against the whole rest.
        closed = endpoint
        if not _escaped(body, len(body) - 1):
            body = body[:-1]
            closed = True
    elif body.endswith(r"\Z") and not _escaped(body, len(body) - 2):
        body, closed = body[:-2], True
    if closed and not endpoint:
        return None  # an include() ending with "$" (Django warns, urls.W001)
    tokens = _regex_tokens(body)
    if tokens is None:
        return None
    if not endpoint and len(tokens) > 1 and not body.endswith("/"):
        return None
    if endpoint and not closed:
        return _Piece([*tokens, Param("rest", _ANY_REST)], body + ".*")
    return _Piece(tokens, body)


def _piece(pattern: Any, *, endpoint: bool) -> _Piece | None:
    from django.urls.resolvers import RegexPattern, RoutePattern  # type: ignore[import-untyped,unused-ignore]

    if type(pattern) is RoutePattern:
        return _route_piece(pattern, endpoint=endpoint)
    if type(pattern) is RegexPattern:
        return _regex_piece(pattern, endpoint=endpoint)
    return None


def _speaks_a_language(pattern: Any) -> bool:
    """Whether `pattern` matches differently for each active language."""
    from django.urls.resolvers import LocalePrefixPattern, RegexPattern, RoutePattern  # type: ignore[import-untyped,unused-ignore]

    if isinstance(pattern, LocalePrefixPattern):
        return True
    if isinstance(pattern, RoutePattern):
        return not isinstance(pattern._route, str)
    if isinstance(pattern, RegexPattern):
        return not isinstance(pattern._regex, str)
    return False


def _resolves(patterns: Sequence[Any]) -> Callable[[str], str]:
    """A converter that takes the rest of the path only if Django's own patterns, in turn, match it."""

    def resolves(rest: str) -> bool:
        path = rest
        for pattern in patterns[:-1]:
            found = pattern.match(path)
            if found is None:
                return False
            path = found[0]
        return patterns[-1].match(path) is not None

    def convert(rest: str) -> str:
        try:
            matched = resolves(rest)
        except Exception:
            return rest  # a converter that needs more than the path: Django decides
        if not matched:
            raise ValueError(f"Django does not resolve {rest!r} here")
        return rest

    return convert


@dataclass(frozen=True, slots=True)
class _Found:
    patterns: tuple[Any, ...]  # the pattern of each include() on the way down, then the view's
    view: Any  # the URLPattern
    namespaces: tuple[str, ...]


def _walk(url_patterns: Sequence[Any], patterns: tuple[Any, ...], namespaces: tuple[str, ...]) -> Iterator[_Found]:
    from django.urls import URLResolver  # type: ignore[import-untyped,unused-ignore]

    for entry in url_patterns:
        if isinstance(entry, URLResolver):
            inner = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry.url_patterns, (*patterns, entry.pattern), inner)
        else:
            yield _Found((*patterns, entry.pattern), entry, namespaces)


# -- methods ----------------------------------------------------------------------------------


def _nested_codes(code: CodeType) -> frozenset[CodeType]:
    found: set[CodeType] = set()
    stack = [code]
    while stack:
        for const in stack.pop().co_consts:
            if isinstance(const, CodeType):
                found.add(const)
                stack.append(const)
    return frozenset(found)


@functools.cache
def _decorator_codes() -> tuple[frozenset[CodeType], frozenset[CodeType]]:
    """The code of `require_http_methods`' decorator and wrappers, and of `method_decorator`'s wrapper.

    `functools.wraps` gives a wrapper the name of the view it wraps; its code stays its own.
    """
    from django.utils import decorators  # type: ignore[import-untyped,unused-ignore]
    from django.views.decorators import http  # type: ignore[import-untyped,unused-ignore]

    return _nested_codes(http.require_http_methods.__code__), _nested_codes(decorators._multi_decorate.__code__)


def _cell(func: Any, name: str) -> Any:
    return func.__closure__[func.__code__.co_freevars.index(name)].cell_contents


def _required_methods(func: Any) -> frozenset[str] | None:
    """The methods `require_http_methods` lets through to `func`, through every decorator that wraps it."""
    require, method_decorator = _decorator_codes()
    chain: list[Any] = []

    def visit(wrapper: Any) -> bool:
        chain.append(wrapper)
        return False

    chain.append(inspect.unwrap(func, stop=visit))
    allowed: frozenset[str] | None = None
    for wrapper in chain:
        code = getattr(wrapper, "__code__", None)
        lists: list[Any] = []
        if code in require:
            lists.append(_cell(wrapper, "request_method_list"))
        elif code in method_decorator:
            decorators = _cell(wrapper, "decorators")
            lists += [_cell(d, "request_method_list") for d in decorators if getattr(d, "__code__", None) in require]
        for methods in lists:
            allowed = frozenset(methods) if allowed is None else allowed & frozenset(methods)
    return allowed


def _narrow(methods: frozenset[str] | None, allowed: frozenset[str] | None) -> frozenset[str] | None:
    if allowed is None:
        return methods
    return allowed if methods is None else methods & allowed


def _view_class(callback: Any) -> Any | None:
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    return view_class if isinstance(view_class, type) and hasattr(view_class, "http_method_names") else None


def view_methods(callback: Any) -> frozenset[str] | None:
    """The methods a Django view takes, or `None` for any: see the module's docstring."""
    methods: frozenset[str] | None = None
    view_class = _view_class(callback)
    if view_class is not None:
        initkwargs = getattr(callback, "view_initkwargs", None) or getattr(callback, "initkwargs", None) or {}
        names = initkwargs.get("http_method_names", view_class.http_method_names)
        actions = getattr(callback, "actions", None) or {}  # Django REST framework's ViewSets
        handlers = {name for name in names if name in actions or hasattr(view_class, name)}
        if "head" in names and "get" in handlers:
            handlers.add("head")  # View.setup serves HEAD with get()
        methods = _narrow(frozenset(name.upper() for name in handlers), _required_methods(view_class.dispatch))
    return _narrow(methods, _required_methods(callback))


def _view_name(found: _Found) -> str:
    """Django's `ResolverMatch.view_name`: the URL name, or the view's dotted path, after the namespaces."""
    name = found.view.name
    if not name:
        func = _view_class(found.view.callback) or found.view.callback
        if hasattr(func, "__name__"):
            name = f"{func.__module__}.{func.__name__}"
        else:
            name = f"{type(func).__module__}.{type(func).__name__}"
    return ":".join((*found.namespaces, name))


def _view_location(callback: Any) -> str | None:
    view_class = _view_class(callback)
    if view_class is None:
        return defined_at(callback)
    try:
        return f"{inspect.getsourcefile(view_class)}:{inspect.getsourcelines(view_class)[1]}"
    except (OSError, TypeError):
        pass
    # A class made at run time (`@api_view`): its handlers call the function it was made from.
    cells = (cell.cell_contents for h in vars(view_class).values() for cell in getattr(h, "__closure__", None) or ())
    return defined_at(next((c for c in cells if inspect.isfunction(c)), None))


# -- routes -----------------------------------------------------------------------------------


def _route(found: _Found, mount_prefix: str) -> ImportedRoute:
    # Django's root resolver matches the leading "/", every pattern below it the rest.
    tokens: list[Token] = [mount_prefix.rstrip("/") + "/"]
    text = [mount_prefix.rstrip("/") + "/"]
    last = len(found.patterns) - 1
    for index, pattern in enumerate(found.patterns):
        piece = _piece(pattern, endpoint=index == last)
        if piece is None:
            rest = found.patterns[index:]
            shown = "".join(str(p) for p in rest)
            tokens.append(
                Param("rest", Converter(f"django:{shown}", ".*", _resolves(rest), True, Rank.TAIL, CUSTOM_ORDER))
            )
            text.append(shown)
            break
        tokens += piece.tokens
        text.append(piece.text)
    callback = found.view.callback
    return ImportedRoute(
        pattern=build_pattern("".join(text), tokens),
        text="".join(text),
        original="".join(str(p) for p in found.patterns),
        methods=view_methods(callback),
        endpoint=_view_name(found),
        defined_at=_view_location(callback),
    )


def import_routes(url_patterns: Sequence[Any], mount_prefix: str) -> list[ImportedRoute]:
    """Every route Django can reach in `url_patterns`, with `mount_prefix` in front; not those whose
    patterns depend on the active language (see `depends_on_language`)."""
    routes = [
        _route(found, mount_prefix)
        for found in _walk(url_patterns, (), ())
        if not any(_speaks_a_language(p) for p in found.patterns)
    ]
    return first_match_wins(routes, by_method=False)[0]


def depends_on_language(url_patterns: Sequence[Any]) -> bool:
    """Whether some routes match differently for each active language: they stay with the mount's
    prefix, which must then take every method."""
    return any(_speaks_a_language(p) for found in _walk(url_patterns, (), ()) for p in found.patterns)


class DjangoRoutes:
    """The `RouteSource` of a Django project: its `WSGIHandler` (what `get_wsgi_application()` returns)."""

    def __init__(self, handler: Any) -> None:
        self.handler = handler

    @classmethod
    def find(cls, app: Any) -> DjangoRoutes | None:
        # An app can only be a WSGIHandler once Django's handler module is imported: no import here.
        module = sys.modules.get("django.core.handlers.wsgi")
        if module is None or not isinstance(app, module.WSGIHandler):
            return None
        return cls(app)

    def _url_patterns(self) -> Sequence[Any]:
        from django.urls import get_resolver  # type: ignore[import-untyped,unused-ignore]

        patterns: Sequence[Any] = get_resolver().url_patterns
        return patterns

    @property
    def takes_every_method(self) -> bool:
        return depends_on_language(self._url_patterns())

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        return import_routes(self._url_patterns(), mount_prefix)

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        """Reverse with `django.urls.reverse`, namespaces included, under the mount's prefix."""
        from django.urls import NoReverseMatch, get_script_prefix, reverse, set_script_prefix  # type: ignore[import-untyped,unused-ignore]

        # reverse() puts the script prefix of this thread (or task) in front: "/" while it runs, then back.
        saved = get_script_prefix()
        set_script_prefix("/")
        try:
            path: str = reverse(endpoint, kwargs=params)
        except NoReverseMatch:
            return None
        finally:
            set_script_prefix(saved)
        return script_name + path
