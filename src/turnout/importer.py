"""`"pkg.module:attr"` -> object, and telling a WSGI app from an ASGI app.

`turnout.toml` and `turnout serve` name apps and endpoints by import string, as Uvicorn does.
Each way an import string can fail gets its own message, because "cannot import" alone sends
the user hunting: was the module missing, did it fail inside, or is the attribute misspelt?
"""

from __future__ import annotations

import difflib
import functools
import importlib
import inspect
from typing import Any, TypeGuard

from starlette.types import ASGIApp

from turnout._types import WSGIApp
from turnout.exceptions import ImportStringError

_FORMAT = '"<module>:<attribute>", for example "myproject.wsgi:app"'


def import_from_string(import_str: str) -> Any:
    """The object that `import_str` names: `"pkg.module:attr"`, or `"pkg.module:obj.attr"` for a nested attribute.

    ```python
    flask_app = import_from_string("shop.wsgi:app")
    ```
    Raises `ImportStringError` with a message for each way it can fail.
    """
    module_str, colon, attrs_str = import_str.partition(":")
    attrs = attrs_str.split(".")
    if not colon or not module_str.strip() or not all(attr.strip() for attr in attrs):
        raise ImportStringError(f"import string {import_str!r} must be in the form {_FORMAT}")
    if module_str.startswith("."):
        raise ImportStringError(
            f"import string {import_str!r}: relative module names are not supported; "
            f"name the module from a directory on sys.path, as in {module_str.lstrip('.')!r}"
        )
    module = _import_module(module_str, import_str)
    instance: Any = module
    for depth, attr in enumerate(attrs):
        try:
            instance = getattr(instance, attr)
        except AttributeError:
            owner = module_str if depth == 0 else f"{module_str}:{'.'.join(attrs[:depth])}"
            raise ImportStringError(
                f"import string {import_str!r}: {owner!r} has no attribute {attr!r}{_did_you_mean(attr, instance)}"
            ) from None
    return instance


def _import_module(module_str: str, import_str: str) -> Any:
    try:
        return importlib.import_module(module_str)
    except ModuleNotFoundError as exc:
        if exc.name is not None and (module_str == exc.name or module_str.startswith(exc.name + ".")):
            raise ImportStringError(
                f"import string {import_str!r}: no module named {exc.name!r}; "
                "check the spelling, and that its directory is on sys.path (the current directory, "
                "or the directory of turnout.toml)"
            ) from None
        # The module exists but imports something missing: that inner error is the one to fix.
        raise ImportStringError(f"import string {import_str!r}: importing {module_str!r} failed: {exc}") from exc
    except ImportError as exc:
        raise ImportStringError(f"import string {import_str!r}: importing {module_str!r} failed: {exc}") from exc
    except SyntaxError as exc:
        raise ImportStringError(
            f"import string {import_str!r}: {module_str!r} has a syntax error: "
            f"{exc.msg} ({exc.filename}, line {exc.lineno})"
        ) from exc


def _did_you_mean(name: str, owner: object) -> str:
    close = difflib.get_close_matches(name, [n for n in dir(owner) if not n.startswith("__")], n=1)
    return f"; did you mean {close[0]!r}?" if close else ""


def takes_positional(obj: object, count: int) -> bool:
    """Whether `obj` can be called with `count` positional arguments, as far as its signature tells."""
    try:
        signature = inspect.signature(obj)  # type: ignore[arg-type]
    except (TypeError, ValueError):  # builtins and C callables without a signature
        return False
    try:
        signature.bind(*range(count))
    except TypeError:
        return False
    return True


def _is_async_callable(obj: object) -> bool:
    while isinstance(obj, functools.partial):
        obj = obj.func
    if inspect.iscoroutinefunction(obj):
        return True
    # An instance (Starlette, FastAPI, middleware) is async through its `__call__`; a class never is.
    return not inspect.isclass(obj) and callable(obj) and inspect.iscoroutinefunction(type(obj).__call__)


def is_asgi_app(obj: object) -> TypeGuard[ASGIApp]:
    """Whether `obj` is an ASGI 3 app: an async callable taking `(scope, receive, send)`.

    A coroutine function, or an object whose `__call__` is one (a Starlette or FastAPI instance).
    """
    return _is_async_callable(obj) and takes_positional(obj, 3)


def is_wsgi_app(obj: object) -> TypeGuard[WSGIApp]:
    """Whether `obj` is a WSGI app: a callable taking `(environ, start_response)` that is not async.

    A function, or an object whose `__call__` takes those two (a Flask instance). A class is
    refused even though PEP 3333 allows one: naming `Flask` instead of `app` is the likelier case.
    """
    return callable(obj) and not inspect.isclass(obj) and not _is_async_callable(obj) and takes_positional(obj, 2)


__all__ = ["import_from_string", "is_asgi_app", "is_wsgi_app", "takes_positional"]
