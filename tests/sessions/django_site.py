"""A small Django site for the session tests, and its settings.

Django's settings are configured once per process. Another test module may configure them
first, so `configure_django()` configures only if nobody has, and `django_settings()` overrides
what these tests need (`ROOT_URLCONF`, `MIDDLEWARE`, `SESSION_ENGINE`...) for the duration of a test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import django  # type: ignore[import-untyped,unused-ignore]
from django.conf import settings  # type: ignore[import-untyped,unused-ignore]
from django.http import HttpRequest, HttpResponse, JsonResponse  # type: ignore[import-untyped,unused-ignore]
from django.middleware.csrf import get_token  # type: ignore[import-untyped,unused-ignore]
from django.shortcuts import redirect  # type: ignore[import-untyped,unused-ignore]
from django.test.utils import override_settings  # type: ignore[import-untyped,unused-ignore]
from django.urls import path  # type: ignore[import-untyped,unused-ignore]
from django.views.decorators.csrf import csrf_exempt  # type: ignore[import-untyped,unused-ignore]

from tests.sessions.apps import SECRET

SETTINGS: dict[str, Any] = {
    "SECRET_KEY": SECRET,
    "ALLOWED_HOSTS": ["*"],
    "ROOT_URLCONF": __name__,
    "MIDDLEWARE": [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.middleware.csrf.CsrfViewMiddleware",
    ],
    "SESSION_ENGINE": "turnout.integrations.django_session",
    "SESSION_COOKIE_NAME": "session",
    "CSRF_USE_SESSIONS": True,
}


def configure_django() -> None:
    """Configure Django's settings, unless another test module has: only Django's defaults, so that
    nothing of these tests leaks into another module's; `django_settings()` adds the rest."""
    if not settings.configured:
        settings.configure(DEBUG=False, INSTALLED_APPS=[], DATABASES={}, USE_TZ=True, SECRET_KEY=SECRET)
    django.setup()


@contextlib.contextmanager
def django_settings() -> Iterator[None]:
    configure_django()
    with override_settings(**SETTINGS):
        yield


def _done(request: HttpRequest) -> HttpResponse:
    next_url = request.GET.get("next")
    return redirect(next_url) if next_url else HttpResponse(status=204)


def read(request: HttpRequest, key: str) -> HttpResponse:
    return JsonResponse({"value": request.session.get(key)})


@csrf_exempt  # type: ignore[untyped-decorator,unused-ignore]
def write(request: HttpRequest, key: str, value: str) -> HttpResponse:
    request.session[key] = value
    return _done(request)


@csrf_exempt  # type: ignore[untyped-decorator,unused-ignore]
def delete(request: HttpRequest, key: str) -> HttpResponse:
    request.session.pop(key, None)
    return _done(request)


@csrf_exempt  # type: ignore[untyped-decorator,unused-ignore]
def flush(request: HttpRequest) -> HttpResponse:
    """What `django.contrib.auth.logout()` does to the session."""
    request.session.flush()
    return _done(request)


@csrf_exempt  # type: ignore[untyped-decorator,unused-ignore]
def cycle(request: HttpRequest) -> HttpResponse:
    """What `django.contrib.auth.login()` does to the session."""
    request.session.cycle_key()
    return JsonResponse({"session_key": request.session.session_key})


def whoami(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"remote_user": request.META.get("REMOTE_USER")})


def csrf_form(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"token": get_token(request)})


def csrf_protected(request: HttpRequest) -> HttpResponse:
    return HttpResponse("accepted")


urlpatterns = [
    path("read/<str:key>", read),
    path("write/<str:key>/<str:value>", write),
    path("delete/<str:key>", delete),
    path("flush", flush),
    path("cycle", cycle),
    path("whoami", whoami),
    path("csrf", csrf_form),
    path("protected", csrf_protected),
]
