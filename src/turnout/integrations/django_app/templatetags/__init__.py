"""Template tag libraries of `turnout.integrations.django_app`."""

from __future__ import annotations
