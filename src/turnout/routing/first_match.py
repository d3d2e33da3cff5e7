"""Leave out the routes that a first-match framework never reaches.

Django, Starlette and Pyramid try their routes in order and take the first that fits. Two routes
of one app with the same pattern are no conflict there, as they would be in the shared table
(`DuplicateRouteError`): the later one only gets what the earlier ones leave. The importers of
these frameworks pass their routes, in the framework's order, through `first_match_wins`.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace

from turnout.routing.imported import ImportedRoute

Identity = tuple[tuple[str, str], ...]


def first_match_wins(routes: Iterable[ImportedRoute], *, by_method: bool) -> tuple[list[ImportedRoute], bool]:
    """The routes the framework can reach, and whether some of them were left out for methods the table cannot list.

    - `by_method=False` (Django): the first route that fits the path takes every method, so a later
      route with the same pattern is never reached.
    - `by_method=True` (Starlette, Pyramid): a route that refuses a method lets the next one try, so a
      later route with the same pattern keeps the methods the earlier ones do not take. A later route
      that takes any method would then take "every method but these", which the table cannot say: it
      is left out, and the second value is `True` (its mount must take every method, and the app decides).
    """
    kept: list[ImportedRoute] = []
    taken: dict[Identity, frozenset[str] | None] = {}
    hidden = False
    for route in routes:
        identity = route.pattern.identity
        if identity not in taken:
            taken[identity] = route.methods
            kept.append(route)
            continue
        before = taken[identity]
        if not by_method or before is None:
            continue
        if route.methods is None:
            hidden = True
            taken[identity] = None
            continue
        rest = route.methods - before
        taken[identity] = before | route.methods
        if rest:
            kept.append(replace(route, methods=rest))
    return kept, hidden
