"""Find out what a mounted app is, and read its routes with the importer that fits it.

Importers are tried in order; the first that recognises the app wins. An app none of them
recognises is served as an opaque prefix, which takes every path and method under it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from turnout.routing.imported import RouteSource
from turnout.routing.werkzeug_routes import WerkzeugRoutes

Finder = Callable[[Any], RouteSource | None]

FINDERS: list[Finder] = [WerkzeugRoutes.find]


def introspect(app: Any) -> RouteSource | None:
    """The route source of `app`, or `None` if no importer recognises it."""
    for find in FINDERS:
        source = find(app)
        if source is not None:
            return source
    return None
