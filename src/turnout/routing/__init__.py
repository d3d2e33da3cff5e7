"""The shared routing table: patterns, converters, the tree matcher and the legacy-route importers."""

from __future__ import annotations
