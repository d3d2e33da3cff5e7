"""A Django project: namespaced includes, class-based views, `require_http_methods`, a DRF router, `re_path`.

Django's settings are global, and other test modules use Django too: `django_project()`
configures Django only if nobody has (once per process), then overrides, for the duration of a
test, the settings this project needs (those of its `settings` module).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

SETTINGS_MODULE = "tests.routing.apps.django_site.settings"


def _project_settings() -> dict[str, Any]:
    from tests.routing.apps.django_site import settings

    return {name: value for name, value in vars(settings).items() if name.isupper()}


def configure_django() -> None:
    """Configure Django's settings, unless another test module has (they are configured once per process)."""
    import django  # type: ignore[import-untyped,unused-ignore]
    from django.conf import settings  # type: ignore[import-untyped,unused-ignore]

    if not settings.configured:
        settings.configure(DEBUG=False, INSTALLED_APPS=[], DATABASES={}, USE_TZ=True, SECRET_KEY="turnout-tests-only")
    django.setup()


@contextlib.contextmanager
def django_project() -> Iterator[Any]:
    """This project's settings for the duration of the block; gives its WSGI handler."""
    from django.core.wsgi import get_wsgi_application  # type: ignore[import-untyped,unused-ignore]
    from django.test.utils import override_settings  # type: ignore[import-untyped,unused-ignore]

    configure_django()
    with override_settings(**_project_settings()):
        yield get_wsgi_application()
