"""Types shared across turnout: PEP 3333 (WSGI) callables, as the standard library's `wsgiref.types` has them.

a2wsgi types the environ as a closed `TypedDict`; turnout builds environs with `HTTP_*` keys
of its own, so it uses the standard library's types, which `wsgiref.validate` takes too.
"""

from __future__ import annotations

from collections.abc import Callable
from types import TracebackType
from typing import TypeAlias
from wsgiref.types import StartResponse, WSGIApplication, WSGIEnvironment

Environ: TypeAlias = WSGIEnvironment
ExcInfo: TypeAlias = tuple[type[BaseException], BaseException, TracebackType | None]
OptExcInfo: TypeAlias = ExcInfo | tuple[None, None, None]
WriteCallable: TypeAlias = Callable[[bytes], object]
WSGIApp: TypeAlias = WSGIApplication

__all__ = ["Environ", "ExcInfo", "OptExcInfo", "StartResponse", "WSGIApp", "WriteCallable"]
