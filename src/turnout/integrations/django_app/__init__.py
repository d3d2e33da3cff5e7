"""A Django app to add to `INSTALLED_APPS` for the `{% turnout_url %}` template tag (`{% load turnout %}`)."""

from __future__ import annotations
