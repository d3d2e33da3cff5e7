"""Real apps of each framework whose routes turnout imports, and a `Turnout` app that mounts them all."""

from __future__ import annotations

from typing import Any

from turnout import Turnout


def hybrid(django_handler: Any | None = None) -> Turnout:
    """Every kind of app, each under its own prefix; the Django project only if its handler is given
    (its settings must then stay active: `django_project()`)."""
    from tests.routing.apps.asgi_apps import fastapi_app, starlette_app
    from tests.routing.apps.bottle_app import bottle_app
    from tests.routing.apps.flask_app import flask_app
    from tests.routing.apps.pyramid_app import pyramid_app

    app = Turnout()
    if django_handler is not None:
        app.mount_wsgi("/dj", django_handler, name="dj")
    app.mount_wsgi("/flask", flask_app(), name="flask")
    app.mount_wsgi("/bottle", bottle_app(), name="bottle")
    app.mount_wsgi("/pyr", pyramid_app(), name="pyr")
    app.mount_asgi("/api", fastapi_app(), name="api")
    app.mount_asgi("/st", starlette_app(), name="st")
    return app
