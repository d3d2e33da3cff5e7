# mypy: disallow-subclassing-any=False, disallow-untyped-decorators=False
from __future__ import annotations

import functools
import inspect
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from django.conf.urls.i18n import i18n_patterns  # type: ignore[import-untyped,unused-ignore]
from django.http import HttpRequest, HttpResponse  # type: ignore[import-untyped,unused-ignore]
from django.urls import URLPattern, include, path, re_path, register_converter, reverse  # type: ignore[import-untyped,unused-ignore]
from django.utils.decorators import method_decorator  # type: ignore[import-untyped,unused-ignore]
from django.utils.translation import gettext_lazy  # type: ignore[import-untyped,unused-ignore]
from django.views import View  # type: ignore[import-untyped,unused-ignore]
from django.views.decorators.cache import never_cache  # type: ignore[import-untyped,unused-ignore]
from django.views.decorators.http import require_GET, require_POST  # type: ignore[import-untyped,unused-ignore]

from tests.routing.apps import hybrid
from tests.routing.apps.django_site import django_project
from turnout import Turnout
from turnout.routing.django_routes import DjangoRoutes, depends_on_language, from_django, import_routes, view_methods
from turnout.routing.imported import ImportedRoute
from turnout.routing.paths import split_path
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable
from turnout.testing import client

pytestmark = pytest.mark.usefixtures("django_handler")


@pytest.fixture
def django_handler() -> Iterator[Any]:
    with django_project() as handler:
        yield handler


@pytest.fixture
def app(django_handler: Any) -> Turnout:
    return hybrid(django_handler)


def served(app: Turnout, method: str, path: str) -> RouteEntry | tuple[str, ...] | None:
    """The table entry that serves the request, the `Allow` of a 405, or `None` for a 404."""
    result = app.table.match(method, split_path(path))
    if isinstance(result, Found):
        return result.route.entry
    if isinstance(result, NotAllowed):
        return result.allow
    return None


def view(request: HttpRequest, **kwargs: Any) -> HttpResponse:
    return HttpResponse("view")


def imported(patterns: list[Any], prefix: str = "/dj") -> dict[str, ImportedRoute]:
    return {route.endpoint: route for route in import_routes(patterns, prefix)}


# -- the imported table -------------------------------------------------------------------------


def test_the_django_project_is_recognised_by_its_handler(django_handler: Any) -> None:
    assert isinstance(DjangoRoutes.find(django_handler), DjangoRoutes)
    assert DjangoRoutes.find(object()) is None


def test_an_app_is_not_django_while_django_s_handler_is_not_imported(
    django_handler: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delitem(sys.modules, "django.core.handlers.wsgi")
    assert DjangoRoutes.find(django_handler) is None


def test_routes_keep_django_s_names_namespaces_and_pattern_text(app: Turnout) -> None:
    entries = {e.endpoint: e for e in app.table if e.owner == "dj" and e.kind == "route"}
    detail = entries["blog:post-detail"]
    assert (detail.pattern, detail.original, detail.methods) == ("/dj/blog/{pk:int}/", "blog/<int:pk>/", None)
    assert detail.defined_at is not None and detail.defined_at.endswith("django_site/views.py:30")
    assert entries["blog:comments:list"].pattern == "/dj/blog/{pk:int}/comments/"
    assert entries["archive:archived"].pattern == "/dj/archive/{year:int}/<slug:slug>/"
    assert entries["home"].pattern == "/dj/"
    assert entries["item"].pattern == "/dj/items/{item_id:uuid}/"
    assert entries["docs"].pattern == "/dj/docs/{page:path}"
    year = entries["year-archive"]
    assert (year.pattern, year.original) == ("/dj/articles/(?P<year>[0-9]{4})/", "^articles/(?P<year>[0-9]{4})/$")
    assert entries["about"].pattern == "/dj/about/.*"
    assert entries["old-or-new"].pattern == "/dj/^(?:old|new)/$"
    # An unnamed view is known by its dotted path, as Django's ResolverMatch.view_name has it.
    assert entries["tests.routing.apps.django_site.views.narrowed"].methods == frozenset({"GET"})


def test_methods_come_from_views_classes_decorators_and_drf(app: Turnout) -> None:
    methods = {e.endpoint: e.methods for e in app.table if e.owner == "dj" and e.kind == "route"}
    assert methods["contact"] == frozenset({"GET", "HEAD", "OPTIONS", "POST"})  # a View with get() and post()
    assert methods["post-only"] == frozenset({"POST", "OPTIONS"})  # as_view(http_method_names=...)
    assert methods["read-only"] == frozenset({"GET"})  # method_decorator(require_GET, name="dispatch")
    assert methods["form"] == frozenset({"GET", "POST"})  # require_http_methods
    assert methods["stats"] == frozenset({"GET", "POST", "OPTIONS"})  # DRF's @api_view
    assert methods["article-list"] == frozenset({"GET", "HEAD", "POST", "OPTIONS"})  # a DRF ViewSet's actions
    assert methods["article-detail"] == frozenset({"GET", "HEAD", "DELETE", "OPTIONS"})
    assert methods["home"] is None


def test_a_later_pattern_django_never_reaches_is_left_out(app: Turnout) -> None:
    endpoints = {e.endpoint for e in app.table if e.owner == "dj"}
    assert "first" in endpoints and "second" not in endpoints


# -- matching as Django does --------------------------------------------------------------------


def test_the_table_matches_paths_as_django_resolves_them(app: Turnout) -> None:
    from django.urls import Resolver404, resolve  # type: ignore[import-untyped,unused-ignore]

    resolved = [
        "/",
        "/blog/3/",
        "/blog/3/comments/",
        "/archive/2024/my-post/",
        "/articles/2024/",
        "/files/a/b.txt",
        "/old/",
        "/new/",
        "/search",
        "/search/",
        "/about/",
        "/about/anything/below",
        f"/items/{uuid.UUID(int=1)}/",
        "/docs/a/b/c",
        "/api/articles/",
        "/api/articles.json",
        "/api/articles/7/",
        "/api/articles/7.json/",
    ]
    for request_path in resolved:
        entry = served(app, "GET", "/dj" + request_path)
        assert isinstance(entry, RouteEntry), request_path
        assert entry.endpoint == resolve(request_path).view_name, request_path
    for request_path in ("/blog/x/", "/articles/24/", "/other/", "/files/a.txt/", "/docs/", "/old"):
        entry = served(app, "GET", "/dj" + request_path)
        assert isinstance(entry, RouteEntry) and entry.kind == "mount", request_path  # the prefix: Django's 404
        with pytest.raises(Resolver404):
            resolve(request_path)


def test_a_method_the_view_refuses_gets_a_405_naming_the_view_s_methods(app: Turnout) -> None:
    assert served(app, "GET", "/dj/post-only/") == ("OPTIONS", "POST")
    assert served(app, "DELETE", "/dj/form/") == ("GET", "HEAD", "POST")


@pytest.mark.anyio
async def test_requests_reach_django_with_what_django_gives_the_view(app: Turnout) -> None:
    async with client(app) as http:
        detail = await http.get("/dj/blog/3/")
        year = await http.get("/dj/articles/2024/")
        drf = await http.get("/dj/api/articles.json")
        refused = await http.get("/dj/post-only/")
        contact = await http.post("/dj/contact/")
        unknown = await http.get("/dj/nowhere/")
    assert detail.headers["x-served-by"] == "wsgi:dj"
    assert detail.json()["view"] == "post_detail" and detail.json()["pk"] == 3
    assert year.json() == {"view": "year_archive", "kwargs": {"year": "2024"}}
    assert drf.json() == {"view": "article-list", "format": "json"}
    assert refused.status_code == 405 and set(refused.headers["allow"].split(", ")) == frozenset({"OPTIONS", "POST"})
    assert contact.json()["view"] == "contact sent"
    assert unknown.status_code == 404 and unknown.headers["x-served-by"] == "wsgi:dj"  # Django's own 404


@pytest.mark.anyio
async def test_a_405_is_the_one_django_gives_alone_with_head_where_get_is(django_handler: Any, app: Turnout) -> None:
    with httpx.Client(transport=httpx.WSGITransport(app=django_handler), base_url="http://testserver") as alone:
        direct = alone.put("/form/")
    async with client(app) as http:
        through = await http.put("/dj/form/")
    assert direct.status_code == through.status_code == 405
    assert direct.headers["allow"] == "GET, POST"
    assert through.headers["allow"] == "GET, HEAD, POST"


# -- URLs in both directions --------------------------------------------------------------------


@pytest.mark.anyio
async def test_url_path_for_reverses_django_names_with_namespaces_as_django_does(app: Turnout) -> None:
    assert app.url_path_for("dj:blog:post-detail", pk=3) == "/dj/blog/3/"
    assert app.url_path_for("dj:blog:comments:list", pk=3) == "/dj/blog/3/comments/"
    assert app.url_path_for("dj:archive:archived", year=2024, slug="a-b") == "/dj/archive/2024/a-b/"
    assert app.url_path_for("dj:year-archive", year="2024") == "/dj/articles/2024/"
    assert app.url_path_for("dj:home") == "/dj/"
    async with client(app) as http:
        detail = (await http.get("/dj/blog/3/")).json()
    assert detail["self"] == app.url_path_for("dj:blog:post-detail", pk=3)  # Django's reverse in the request


def test_reversing_leaves_django_s_script_prefix_as_it_was(django_handler: Any) -> None:
    from django.urls import get_script_prefix, set_script_prefix  # type: ignore[import-untyped,unused-ignore]

    source = DjangoRoutes(django_handler)
    set_script_prefix("/somewhere/")
    try:
        assert source.build("blog:post-detail", {"pk": 1}, "/dj") == "/dj/blog/1/"
        assert source.build("blog:nothing", {}, "/dj") is None
        assert get_script_prefix() == "/somewhere/"
        assert reverse("blog:post-detail", kwargs={"pk": 1}) == "/somewhere/blog/1/"
    finally:
        set_script_prefix("/")


@pytest.mark.anyio
async def test_django_views_and_templates_build_urls_of_the_other_sides(app: Turnout) -> None:
    async with client(app) as http:
        detail = (await http.get("/dj/blog/4/")).json()
        page = (await http.get("/dj/linked/")).text
    assert detail["api"] == app.url_path_for("api:user", uid=4) == "/api/v1/users/4"
    assert detail["flask"] == app.url_path_for("flask:items.item", item_id=4) == "/flask/items/4"
    assert page == '<a href="/api/v1/users/7">user</a> <a href="/dj/blog/2/">post</a>'


# -- patterns, one at a time ----------------------------------------------------------------------


class Year:
    regex = "[0-9]{4}"

    def to_python(self, value: str) -> int:
        if value == "0000":
            raise ValueError("no year zero")
        if value == "9999":
            raise LookupError("needs a database")
        return int(value)

    def to_url(self, value: int) -> str:
        return f"{value:04d}"


register_converter(Year, "yyyy")


def test_converters_keep_django_s_regex_and_to_python() -> None:
    routes = imported(
        [
            path("s/<name>/<str:other>/", view, name="str"),
            path("y/<yyyy:year>/", view, name="custom"),
        ]
    )
    assert routes["str"].text == "/dj/s/{name}/{other}/"
    assert routes["custom"].text == "/dj/y/<yyyy:year>/"
    pattern = routes["custom"].pattern
    assert pattern.convert(["2024"]) == {"year": 2024}
    with pytest.raises(ValueError):
        pattern.convert(["0000"])  # to_python refused it: Django does not match
    assert pattern.convert(["9999"]) == {"year": "9999"}  # it needs more than the path: Django decides
    from django.urls.converters import PathConverter  # type: ignore[import-untyped,unused-ignore]

    django_path = from_django(PathConverter(), name="path")
    assert (django_path.label, django_path.regex, django_path.spans_segments) == ("path", "(?-s:.+)", True)


def django_resolves(patterns: list[Any], request_path: str) -> bool:
    """Whether Django's resolver, with `patterns` as its URLconf, resolves `request_path`."""
    from django.urls import Resolver404, URLResolver  # type: ignore[import-untyped,unused-ignore]
    from django.urls.resolvers import RegexPattern  # type: ignore[import-untyped,unused-ignore]

    try:
        URLResolver(RegexPattern(r"^/"), patterns).resolve(request_path)
    except Resolver404:
        return False
    return True


def table_matches(route: ImportedRoute, request_path: str) -> bool:
    entry = RouteEntry(route.text, route.methods, "wsgi", "dj", route.endpoint)
    return RouteTable([RouteSpec(entry, route.pattern, None)]).match("GET", split_path(request_path)) is not None


def test_a_path_converter_in_an_include_is_matched_by_django_itself() -> None:
    inner = [path("edit/", view, name="edit")]
    patterns = [path("<path:page>/", include(inner)), path("n<int:a>", include(inner))]
    routes = import_routes(patterns, "")
    assert [r.text for r in routes] == ["/<path:page>/edit/", "/n<int:a>edit/"]
    # Django matches `<path:page>/` with the longest page, and never tries a shorter one for "edit/".
    for request_path in ("/a/b/edit/", "/a/edit/edit/", "/n1edit/", "/n1x/edit/", "/nedit/"):
        matched = any(table_matches(route, request_path) for route in routes)
        assert matched == django_resolves(patterns, request_path), request_path


@pytest.mark.parametrize(
    ("regex", "text", "paths"),
    [
        (r"^p/(?P<slug>[^/]+)/$", "/p/(?P<slug>[^/]+)/", ["/p/x/", "/p/x/y/", "/p//"]),
        (r"^v(?P<n>(?:1|2))\.json$", r"/v(?P<n>(?:1|2))\.json", ["/v1.json", "/v3.json", "/v1json"]),
        (r"^cost\$$", r"/cost\$", ["/cost$", "/cost"]),
        (r"^cost\$", r"/cost\$", ["/cost$", "/cost$x"]),
        (r"^exact\Z", "/exact", ["/exact", "/exactly"]),
        (r"^w/(?P<w>\w+)/$", r"/w/(?P<w>\w+)/", ["/w/abc/", "/w/a-b/"]),
        (r"^f/(?P<name>.+)\.txt$", r"/f/(?P<name>.+)\.txt", ["/f/a/b.txt", "/f/.txt", "/f/a.txt/"]),
        (r"^open", "/open.*", ["/open", "/opened/x", "/ope"]),
        (r"^(?:old|new)/$", "/^(?:old|new)/$", ["/old/", "/new/", "/odd/"]),
        (r"search/$", "/search/$", ["/search/", "/a/search/", "/search/x"]),
    ],
)
def test_re_path_regexes_match_what_django_resolves(regex: str, text: str, paths: list[str]) -> None:
    patterns = [re_path(regex, view, name="r")]
    (route,) = imported(patterns, "").values()
    assert (route.text, route.original) == (text, regex)
    for request_path in paths:
        assert table_matches(route, request_path) == django_resolves(patterns, request_path), request_path


@pytest.mark.parametrize(
    "regex",
    [
        r"search/$",  # no "^": Django searches the whole rest of the path
        r"^a\d/$",  # a class outside a group
        r"^(a)/$",  # an unnamed group
        r"^(?P<x>a)+/$",  # a quantified group
        r"^a|b$",  # alternation
        r"^(?P<x>(?=a)a)/$",  # a lookahead inside a group
        r"^(?P<x>[])]x)/$",  # a group whose end is hard to read
        r"^(?P<x>ab",  # a group that never ends (Django compiles a regex only when it first matches)
        "^tail\\",  # an escape with nothing after it
    ],
)
def test_other_regexes_are_matched_by_django_s_own_match(regex: str) -> None:
    (route,) = imported([re_path(regex, view, name="r")]).values()
    assert route.pattern.tail is not None
    assert route.pattern.tail.label.startswith("{django:")


def test_opaque_patterns_ask_django_at_each_level() -> None:
    inner = [re_path(r"^(?:x|y)/$", view, name="xy")]
    routes = imported([re_path(r"^(?:a|b)/", include(inner))])
    (route,) = routes.values()
    assert route.pattern.convert(["a/x/"]) == {"rest": "a/x/"}
    for refused in ("c/x/", "a/z/"):
        with pytest.raises(ValueError):
            route.pattern.convert([refused])


def test_includes_whose_regex_cannot_be_split_are_matched_by_django() -> None:
    inner = [path("x/", view, name="x")]
    patterns = [
        re_path(r"^a/$", include(inner)),  # "$" in an include(): Django warns (urls.W001)
        re_path(r"^b\Z", include(inner)),
        re_path(r"^c(?P<n>[0-9]+)", include(inner)),  # a group not followed by "/"
        re_path(r"^d/(?P<n>[0-9]+)/", include(inner)),
    ]
    routes = import_routes(patterns, "/dj")
    texts = sorted(route.text for route in routes)
    for request_path in ("/a/x/", "/bx/", "/c12x/", "/c1/x/", "/d/12/x/", "/d/x/x/"):
        matched = any(table_matches(route, "/dj" + request_path) for route in routes)
        assert matched == django_resolves(patterns, request_path), request_path
    assert texts == ["/dj/^a/$x/", r"/dj/^b\Zx/", "/dj/^c(?P<n>[0-9]+)x/", "/dj/d/(?P<n>[0-9]+)/x/"]


def test_patterns_of_the_active_language_are_left_to_the_mount_prefix() -> None:
    patterns = [
        path("kept/", view, name="kept"),
        path(gettext_lazy("translated/"), view, name="lazy-path"),
        re_path(gettext_lazy("^translated-re/$"), view, name="lazy-re"),
        *i18n_patterns(path("hello/", view, name="hello")),
    ]
    assert [r.endpoint for r in import_routes(patterns, "/dj")] == ["kept"]
    assert depends_on_language(patterns)  # the mount takes every method
    assert not depends_on_language([path("kept/", view), URLPattern(FirstLetter("q"), view)])


class FirstLetter:
    """A pattern class of one's own: Django only calls its `match`."""

    def __init__(self, letter: str) -> None:
        self.letter = letter

    def match(self, path: str) -> tuple[str, tuple[()], dict[str, str]] | None:
        return (path[1:], (), {}) if path.startswith(self.letter) else None

    def __str__(self) -> str:
        return f"<starts with {self.letter}>"


class NeedsARequest(FirstLetter):
    def match(self, path: str) -> tuple[str, tuple[()], dict[str, str]] | None:
        raise LookupError("this pattern reads the database")


def test_a_pattern_class_of_one_s_own_is_matched_by_its_match() -> None:
    (route,) = imported([URLPattern(FirstLetter("q"), view, name="q")]).values()
    assert route.text == "/dj/<starts with q>"
    assert route.pattern.convert(["question"]) == {"rest": "question"}
    with pytest.raises(ValueError):
        route.pattern.convert(["answer"])
    # One that fails otherwise than by not matching takes the path: Django itself decides.
    (needy,) = imported([URLPattern(NeedsARequest("q"), view, name="q")]).values()
    assert needy.pattern.convert(["anything"]) == {"rest": "anything"}


# -- methods and names, one view at a time --------------------------------------------------------


class Plain(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("")


@method_decorator([never_cache, require_POST], name="dispatch")
class Decorated(View):
    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("")

    def post(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("")


class NoHead(View):
    http_method_names = ["get", "options"]

    def get(self, request: HttpRequest) -> HttpResponse:
        return HttpResponse("")


def test_view_methods() -> None:
    assert view_methods(view) is None
    assert view_methods(Plain.as_view()) == frozenset({"GET", "HEAD", "OPTIONS"})
    assert view_methods(Decorated.as_view()) == frozenset({"POST"})
    assert view_methods(NoHead.as_view()) == frozenset({"GET", "OPTIONS"})
    assert view_methods(require_POST(Plain.as_view())) == frozenset()  # Django refuses every method
    assert view_methods(never_cache(require_GET(view))) == frozenset({"GET"})


def test_unnamed_views_are_known_by_their_dotted_path() -> None:
    partial = functools.partial(view)
    routes = imported([path("a/", view), path("b/", Plain.as_view()), path("c/", partial)])
    assert set(routes) == {
        "tests.routing.test_django_routes.view",
        "tests.routing.test_django_routes.Plain",
        "functools.partial",
    }


def test_where_views_are_defined() -> None:
    dynamic: Any = type("Dynamic", (View,), {"__module__": __name__})
    routes = imported([path("a/", Plain.as_view(), name="a"), path("b/", dynamic.as_view(), name="b")])
    assert routes["a"].defined_at == f"{__file__}:{inspect.getsourcelines(Plain)[1]}"
    assert routes["b"].defined_at is None  # made at run time, with no function of its own
