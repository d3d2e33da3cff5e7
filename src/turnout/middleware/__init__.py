"""Pure-ASGI middleware shared by both sides: request ids first; access logs, metrics and sessions later."""

from __future__ import annotations
