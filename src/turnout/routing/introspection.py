"""Find out what a mounted app is, and read its routes with the importer that fits it.

Importers are tried in order; the first that recognises the app wins. A legacy app none of them
recognises is served as an opaque prefix, which takes every path and method under it; so is a
new ASGI app, whose routes (`introspect_asgi`) only place it in the table.

| framework | importer | recognised by |
|---|---|---|
| Flask, Werkzeug | `werkzeug_routes` | a Werkzeug `url_map` |
| Django | `django_routes` | its `WSGIHandler` (`get_wsgi_application()`) |
| Bottle | `bottle_routes` | a `bottle.Bottle` |
| Pyramid | `pyramid_routes` | its `Router` (`config.make_wsgi_app()`), with URL dispatch |
| Starlette, FastAPI | `starlette_routes` | a `Starlette` app or a `Router` (ASGI mounts) |
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from turnout.routing.bottle_routes import BottleRoutes
from turnout.routing.django_routes import DjangoRoutes
from turnout.routing.imported import RouteSource
from turnout.routing.pyramid_routes import PyramidRoutes
from turnout.routing.starlette_routes import StarletteRoutes
from turnout.routing.werkzeug_routes import WerkzeugRoutes

Finder = Callable[[Any], RouteSource | None]

FINDERS: list[Finder] = [WerkzeugRoutes.find, DjangoRoutes.find, BottleRoutes.find, PyramidRoutes.find]
"""Importers of legacy WSGI apps (`mount_wsgi`)."""

ASGI_FINDERS: list[Finder] = [StarletteRoutes.find]
"""Importers of new ASGI apps (`mount_asgi`)."""


def _first(finders: list[Finder], app: Any) -> RouteSource | None:
    for find in finders:
        source = find(app)
        if source is not None:
            return source
    return None


def introspect(app: Any) -> RouteSource | None:
    """The route source of the WSGI app `app`, or `None` if no importer recognises it."""
    return _first(FINDERS, app)


def introspect_asgi(app: Any) -> RouteSource | None:
    """The route source of the ASGI app `app`, or `None` if no importer recognises it."""
    return _first(ASGI_FINDERS, app)
