"""Adapters that let legacy frameworks use what turnout shares: Flask's and Django's sessions, Flask-WTF's CSRF."""

from __future__ import annotations
