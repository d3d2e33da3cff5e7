"""The WSGI side, on a2wsgi: per-mount thread pools, a PEP 3333 environ, request bodies and responses."""

from __future__ import annotations
