"""Django in turnout: a project from its settings module, and URLs of the shared table from Django code.

```python
from turnout.integrations.django import django_app

app = Turnout()
app.mount_wsgi("/dj", django_app("mysite.settings"), name="dj")
```
Django views build URLs of the shared table with `turnout_url(request, name, **params)`;
templates with `{% load turnout %}{% turnout_url "api:items" %}`, once
`"turnout.integrations.django_app"` is in `INSTALLED_APPS` and the request is in the template's
context (the `django.template.context_processors.request` context processor, or `render(request, ...)`
with it).
"""

from __future__ import annotations

import os
from typing import Any

from turnout.exceptions import ConfigError
from turnout.integrations.urls import turnout_url as url_from_environ

__all__ = ["django_app", "turnout_url"]


def django_app(settings_module: str) -> Any:
    """The WSGI app of the Django project whose settings are `settings_module` (`"mysite.settings"`).

    Sets `DJANGO_SETTINGS_MODULE`, sets Django up and gives `get_wsgi_application()`. Django's
    settings are global: a process serves one Django project, and asking for another raises `ConfigError`.
    """
    from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
    from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped,unused-ignore]

    if settings.configured:
        current = settings.SETTINGS_MODULE
        if current != settings_module:
            raise ConfigError(
                f"Django is already set up with the settings {current!r}, not {settings_module!r}",
                fix="serve one Django project per process: mount it once, and use its own settings module",
            )
    else:
        os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    return get_wsgi_application()


def turnout_url(request: Any, name: str, /, **params: Any) -> str:
    """The path of `name` in the shared table (see `turnout.integrations.urls.turnout_url`), from a Django view.

    ```python
    def cart(request):
        return redirect(turnout_url(request, "checkout_v2"))
    ```
    """
    return url_from_environ(request.META, name, **params)
