"""What turnout learns from an app it mounts: its routes, and how to reverse its URLs.

Each framework has an importer (`werkzeug_routes` for Flask, and so on); `introspection`
picks the one that fits an app. They all give the same shapes, defined here.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from turnout.routing.pattern import RoutePattern
from turnout.routing.table import RouteEntry, RouteSpec, Side


@dataclass(frozen=True, slots=True)
class ImportedRoute:
    """One route of a mounted app, its pattern with the mount prefix in front.

    `text` is the pattern in Starlette's syntax where it can be; `original` is the pattern as
    written in the app (without the prefix).
    """

    pattern: RoutePattern
    text: str
    original: str
    methods: frozenset[str] | None
    endpoint: str
    defined_at: str | None


class RouteSource(Protocol):
    """An app's routes, as one importer reads them."""

    @property
    def takes_every_method(self) -> bool:
        """Whether the path alone cannot tell which methods the app takes (host-bound rules, say):
        the mount's prefix must then take every method, even where a known route refused one."""

    def routes(self, mount_prefix: str) -> list[ImportedRoute]:
        """Every route the app serves by path, with `mount_prefix` in front."""

    def build(self, endpoint: str, params: dict[str, Any], script_name: str) -> str | None:
        """The path of `endpoint` with `params`, `script_name` in front; `None` if the app has no such endpoint."""


def defined_at(func: Callable[..., Any] | None) -> str | None:
    """`file:line` where `func` is defined, when Python knows it."""
    if func is None:
        return None
    func = inspect.unwrap(func)
    code = getattr(func, "__code__", None)
    if code is None:
        return None
    return f"{code.co_filename}:{code.co_firstlineno}"


def mount_route_specs(
    *,
    side: Side,
    name: str,
    prefix: RoutePattern,
    prefix_text: str,
    target: Any,
    defined_at: str | None,
    source: RouteSource | None,
    any_method: bool,
) -> list[RouteSpec]:
    """What a mount gives the table: its bare prefix, then every route its app's `source` lists."""
    entry = RouteEntry(prefix_text, None, side, name, name, defined_at, kind="mount")
    specs = [RouteSpec(entry, prefix, target, any_method=any_method)]
    if source is not None:
        for route in source.routes("" if prefix_text == "/" else prefix_text):
            entry = RouteEntry(
                pattern=route.text,
                methods=route.methods,
                side=side,
                owner=name,
                endpoint=route.endpoint,
                defined_at=route.defined_at,
                original=route.original,
            )
            specs.append(RouteSpec(entry, route.pattern, target))
    return specs
