"""A Pyramid app with URL dispatch: regex placeholders, a star, request methods on routes and on views."""

from __future__ import annotations

import warnings
from typing import Any

from turnout.integrations.urls import turnout_url

with warnings.catch_warnings():
    # WebOb, under Pyramid, imports the standard library's `cgi`, deprecated since Python 3.11.
    warnings.filterwarnings("ignore", "'cgi' is deprecated", DeprecationWarning)
    from pyramid.config import Configurator as Configurator  # type: ignore[import-untyped,unused-ignore]
    from pyramid.config import not_  # type: ignore[import-untyped,unused-ignore]


def user(request: Any) -> dict[str, Any]:
    return {
        "view": "user",
        "id": request.matchdict["id"],
        "self": request.route_path("user", id=request.matchdict["id"]),
        "api": turnout_url(request.environ, "api:user", uid=9),
    }


def update_user(request: Any) -> dict[str, Any]:
    return {"view": "update_user", "id": request.matchdict["id"]}


def files(request: Any) -> dict[str, Any]:
    return {"view": "files", "subpath": list(request.matchdict["subpath"])}


def named(request: Any) -> dict[str, Any]:
    return {"view": "named", "matchdict": dict(request.matchdict)}


class Things:
    def __init__(self, request: Any) -> None:
        self.request = request

    def get(self) -> dict[str, Any]:
        return {"view": "things.get"}


def pyramid_app() -> Any:
    with Configurator() as config:
        config.add_route("home", "/")
        config.add_view(named, route_name="home", renderer="json")
        config.add_route("user", r"/users/{id:\d+}", request_method="GET")
        config.add_view(user, route_name="user", renderer="json")
        config.add_route("update_user", r"/users/{id:\d+}", request_method="POST")
        config.add_view(update_user, route_name="update_user", renderer="json")
        config.add_route("files", "/files/*subpath")
        config.add_view(files, route_name="files", renderer="json")
        config.add_route("old", "/old/:name")
        config.add_view(named, route_name="old", renderer="json")
        config.add_route("by_view", "/by-view/{name}")
        config.add_view(named, route_name="by_view", request_method=("PUT", "DELETE"), renderer="json")
        config.add_view(named, route_name="by_view", request_method="PATCH", renderer="json")
        config.add_route("all_but_post", "/all-but-post")
        config.add_view(named, route_name="all_but_post", request_method=not_("POST"), renderer="json")
        config.add_route("no_view", "/no-view")
        config.add_route("things", "/things")
        config.add_view(Things, attr="get", route_name="things", request_method="GET", renderer="json")
        config.add_route("tail", "/tail*rest")
        config.add_view(named, route_name="tail", renderer="json")
        config.add_route("shadow", "/shadow", request_method="GET")
        config.add_view(named, route_name="shadow", renderer="json")
        config.add_route("shadow_any", "/shadow")
        config.add_view(named, route_name="shadow_any", renderer="json")
        return config.make_wsgi_app()
