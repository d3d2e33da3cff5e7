from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import NoMatchFound

from tests.routing.apps import hybrid
from tests.routing.apps.django_site import SETTINGS_MODULE, configure_django, django_project
from turnout import ConfigError, Turnout, TurnoutError
from turnout.integrations.urls import turnout_app, turnout_url
from turnout.testing import client


@pytest.fixture
def app() -> Iterator[Turnout]:
    with django_project() as handler:
        yield hybrid(handler)


@pytest.mark.anyio
async def test_flask_views_build_urls_of_other_mounts_and_of_new_apps(app: Turnout) -> None:
    async with client(app) as http:
        item = (await http.get("/flask/items/5")).json()
        post = (await http.get("/dj/blog/5/")).json()
    assert item["self"] == app.url_path_for("flask:items.item", item_id=5) == "/flask/items/5"  # flask.url_for
    flask_item = next(e for e in app.table if e.owner == "flask" and e.endpoint == "items.item")
    assert (flask_item.pattern, flask_item.original) == ("/flask/items/{item_id:int}", "/items/<int:item_id>")
    assert item["django"] == app.url_path_for("dj:blog:post-detail", pk=5) == post["self"]  # Django's reverse
    assert item["api"] == app.url_path_for("api:user", uid=5) == "/api/v1/users/5"


def test_urls_from_the_environ_have_the_server_s_root_path_in_front(app: Turnout) -> None:
    environ = {"asgi.scope": {"app": app, "root_path": "/behind/proxy"}}
    assert turnout_url(environ, "api:user", uid=3) == "/behind/proxy/api/v1/users/3"
    assert turnout_url({"asgi.scope": {"app": app}}, "flask:items.item", item_id=3) == "/flask/items/3"
    with pytest.raises(NoMatchFound):
        turnout_url(environ, "api:nothing")


@pytest.mark.parametrize(
    "environ",
    [
        {},  # served without turnout: no ASGI scope
        {"asgi.scope": {"type": "http"}},
        {"asgi.scope": {"app": Starlette()}},  # some other ASGI server or app
    ],
)
def test_a_request_turnout_does_not_serve_cannot_build_urls(environ: dict[str, Any]) -> None:
    with pytest.raises(TurnoutError, match="not served by turnout"):
        turnout_app(environ)


@pytest.mark.anyio
async def test_the_django_template_tag_builds_urls_of_the_shared_table(app: Turnout) -> None:
    async with client(app) as http:
        page = (await http.get("/dj/linked/")).text
    assert page == '<a href="/api/v1/users/7">user</a> <a href="/dj/blog/2/">post</a>'


def test_the_django_template_tag_needs_the_request_in_the_context(app: Turnout) -> None:
    from turnout.integrations.django_app.templatetags.turnout import turnout_url as tag

    with pytest.raises(TurnoutError, match="context_processors.request"):
        tag({}, "api:user", uid=1)


def test_django_app_sets_a_project_up_from_its_settings_module() -> None:
    from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    from django.core.handlers.wsgi import WSGIHandler  # type: ignore[import-untyped,unused-ignore]
    from django.utils.functional import empty  # type: ignore[import-untyped,unused-ignore]

    from turnout.integrations.django import django_app

    configure_django()
    # Django's settings are set once per process: this test sets them as if for the first time, then puts
    # back those of the process.
    saved = settings._wrapped
    settings._wrapped = empty
    try:
        handler = django_app(SETTINGS_MODULE)
        assert isinstance(handler, WSGIHandler)
        assert os.environ["DJANGO_SETTINGS_MODULE"] == SETTINGS_MODULE
        assert settings.ROOT_URLCONF == "tests.routing.apps.django_site.urls"
        assert isinstance(django_app(SETTINGS_MODULE), WSGIHandler)  # the same project again
        with pytest.raises(ConfigError, match="one Django project per process"):
            django_app("another.project.settings")
    finally:
        settings._wrapped = saved
