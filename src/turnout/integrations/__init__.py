"""Adapters for legacy frameworks (Flask, Django, their extensions), so they can use what turnout gives both sides."""

from __future__ import annotations
