"""Settings of the test Django project."""

from __future__ import annotations

SECRET_KEY = "turnout-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.routing.apps.django_site.urls"
INSTALLED_APPS = ["rest_framework", "turnout.integrations.django_app"]
MIDDLEWARE: list[str] = []
USE_TZ = True
USE_I18N = True
LANGUAGE_CODE = "en"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": False,
        "OPTIONS": {"context_processors": ["django.template.context_processors.request"]},
    }
]
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
}
