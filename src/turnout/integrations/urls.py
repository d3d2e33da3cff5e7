"""Build URLs of the shared table from legacy code: new endpoints, other mounts, the app's own routes.

During a request that turnout serves, `environ["asgi.scope"]["app"]` is the `Turnout` app, so a
legacy view reaches `Turnout.url_path_for` through the environ it was given:

```python
from turnout.integrations.urls import turnout_url

def view(environ, start_response):          # any WSGI app: Bottle, Pyramid, plain WSGI
    link = turnout_url(environ, "api:items")                # a route of a mounted ASGI app
    other = turnout_url(environ, "shop:product", id=3)      # an endpoint of another legacy mount
    new = turnout_url(environ, "product_v2", id=3)          # a native route
```
Flask and Django have their own shorthands: `turnout.integrations.flask.turnout_url_for` and
`turnout.integrations.django.turnout_url` (with a `{% turnout_url %}` template tag).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from turnout.app import Turnout
from turnout.exceptions import TurnoutError

__all__ = ["turnout_app", "turnout_url"]


def turnout_app(environ: Mapping[str, Any]) -> Turnout:
    """The `Turnout` app serving the request of `environ`; `TurnoutError` if turnout does not serve it."""
    scope = environ.get("asgi.scope")
    app = scope.get("app") if isinstance(scope, dict) else None
    if not isinstance(app, Turnout):
        raise TurnoutError(
            "this request was not served by turnout (its WSGI environ has no environ['asgi.scope']['app']), "
            "so the shared routing table cannot build a URL for it; mount the app with Turnout.mount_wsgi"
        )
    return app


def turnout_url(environ: Mapping[str, Any], name: str, /, **params: Any) -> str:
    """The path of `name` in the shared table, with the server's `root_path` in front, as the legacy app's own
    URLs have it (its `SCRIPT_NAME` starts with it too).

    `name` is what `Turnout.url_path_for` takes: `"mount:endpoint"` for a legacy endpoint (`"blog:post-detail"`
    of a Django mount named `dj` is `"dj:blog:post-detail"`), `"api:items"` for a route of a mounted ASGI app,
    a native route's name. Raises `starlette.routing.NoMatchFound` when nothing has that name and parameters.
    """
    path = turnout_app(environ).url_path_for(name, **params)
    root_path: str = environ["asgi.scope"].get("root_path", "")
    return root_path + str(path)
