"""Per-route switches between the legacy and the new side: switch, shadow and compare, canary, rollback."""

from __future__ import annotations
