"""Types shared across turnout: PEP 3333 (WSGI) callables, after a2wsgi's `wsgi_typing`.

a2wsgi types the environ as a closed `TypedDict`; turnout builds environs with `HTTP_*` keys
of its own, so the environ here is a plain mapping.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import TracebackType
from typing import Any, Protocol, TypeAlias

Environ: TypeAlias = dict[str, Any]
ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
OptExcInfo: TypeAlias = ExcInfo | tuple[None, None, None]
WriteCallable: TypeAlias = Callable[[bytes], object]


class StartResponse(Protocol):
    """PEP 3333: `start_response(status, response_headers, exc_info=None)` returns `write(body_data)`."""

    def __call__(
        self, status: str, headers: list[tuple[str, str]], exc_info: OptExcInfo | None = None, /
    ) -> WriteCallable: ...


WSGIApp: TypeAlias = Callable[[Environ, StartResponse], Iterable[bytes]]
