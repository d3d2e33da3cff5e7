"""Benchmark turnout's routing table against Starlette's `Router`, from 10 to 10,000 routes.

For each size, both match the same routes (turnout's `RouteTable` built from Starlette patterns,
Starlette's `Route` objects built from the same patterns) and three paths are timed:

- `first`: a path that the first route serves;
- `last`: a path that the last route serves;
- `404`: a path that no route serves (it starts like the last route's, and fails at its `int`).

turnout's figure is `split_path` plus `RouteTable.match`, its whole routing cost for a request.
Starlette's figure is the loop of `Router.app`: `route.matches(scope)` on each route until one
gives `Match.FULL`. Each figure is the median of several repeats (the machine is noisy).

The target: matching the last of 10,000 routes, or a 404 among them, costs no more than 2x the
same at 10 routes.

    .venv/bin/python scripts/bench_routing.py [--quick] [--markdown PATH] [--check]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import statistics
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Match, Route

from turnout.routing.paths import split_path
from turnout.routing.pattern import parse_starlette
from turnout.routing.table import Found, RouteEntry, RouteSpec, RouteTable

SIZES = (10, 100, 1_000, 10_000)
CASES = ("first", "last", "404")
TARGET_RATIO = 2.0


async def endpoint(request: Request) -> Response:
    return PlainTextResponse("")  # pragma: no cover - never called: only matching is timed


def patterns(count: int) -> list[str]:
    """`count` patterns of an app's usual shapes; the first and the last have the same shape."""
    shapes = (
        "/s{i}/items/{{item_id:int}}",
        "/s{i}/users/{{name}}",
        "/s{i}/about",
        "/s{i}/files/{{rest:path}}",
        "/s{i}/orders/{{order_id:uuid}}/lines",
    )
    result = [shapes[i % len(shapes)].format(i=i) for i in range(count)]
    result[0], result[-1] = shapes[0].format(i=0), shapes[0].format(i=count - 1)
    return result


def paths(count: int) -> dict[str, str]:
    # The 404 shares the last route's first two segments, so the walk goes deep before it fails.
    return {"first": "/s0/items/42", "last": f"/s{count - 1}/items/42", "404": f"/s{count - 1}/items/none"}


def turnout_table(texts: list[str]) -> RouteTable:
    specs = []
    for text in texts:
        entry = RouteEntry(text, frozenset({"GET", "HEAD"}), "asgi", None, text)
        specs.append(RouteSpec(entry, parse_starlette(text), text))
    return RouteTable(specs)


def starlette_routes(texts: list[str]) -> list[Route]:
    return [Route(text, endpoint, methods=["GET"], name=text) for text in texts]


def starlette_match(routes: list[Route], scope: dict[str, Any]) -> Route | None:
    """What `Router.app` does to find a route (the partial match kept for a 405 included)."""
    partial = None
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
        if match is Match.PARTIAL and partial is None:
            partial = route
    return partial


def http_scope(path: str) -> dict[str, Any]:
    return {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}


@dataclass
class Measure:
    size: int
    case: str
    turnout: float  # seconds per match, median
    starlette: float


def calls_per_round(func: Callable[[], object], budget: float) -> int:
    """How many calls of `func` take about `budget` seconds."""
    func()  # warm up
    start = time.perf_counter()
    func()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(budget / once))


def with_turnout(table: RouteTable, path: str) -> Callable[[], object]:
    return lambda: table.match("GET", split_path(path))


def with_starlette(routes: list[Route], scope: dict[str, Any]) -> Callable[[], object]:
    return lambda: starlette_match(routes, scope)


def run(*, quick: bool) -> list[Measure]:
    """Time every (size, path, router); rounds go over all of them in turn, so drift hits all alike."""
    rounds, budget = (3, 0.005) if quick else (9, 0.02)
    timers: dict[tuple[int, str, str], tuple[timeit.Timer, int]] = {}
    for size in SIZES:
        texts = patterns(size)
        table = turnout_table(texts)
        routes = starlette_routes(texts)
        for case, path in paths(size).items():
            expected = {"first": texts[0], "last": texts[-1], "404": None}[case]
            found = table.match("GET", split_path(path))
            assert (found.route.target if isinstance(found, Found) else None) == expected, (size, case, found)
            scope = http_scope(path)
            route = starlette_match(routes, scope)
            assert (route.path if route is not None else None) == expected, (size, case)
            for name, func in (("turnout", with_turnout(table, path)), ("starlette", with_starlette(routes, scope))):
                timers[size, case, name] = (timeit.Timer(func), calls_per_round(func, budget))
        print(f"  {size:>6} routes: built", file=sys.stderr)
    samples: dict[tuple[int, str, str], list[float]] = {key: [] for key in timers}
    for done in range(rounds):
        for key, (timer, number) in timers.items():
            samples[key].append(timer.timeit(number) / number)
        print(f"  round {done + 1}/{rounds}", file=sys.stderr)
    return [
        Measure(
            size,
            case,
            statistics.median(samples[size, case, "turnout"]),
            statistics.median(samples[size, case, "starlette"]),
        )
        for size in SIZES
        for case in CASES
    ]


def fmt_time(seconds: float) -> str:
    micro = seconds * 1e6
    return f"{micro:,.2f} µs" if micro < 1000 else f"{micro / 1000:,.2f} ms"


def markdown(measures: list[Measure]) -> str:
    base = {m.case: m.turnout for m in measures if m.size == SIZES[0]}
    lines = [
        "| routes | path | turnout (median) | turnout vs 10 routes | Starlette (median) | speed-up over Starlette |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for m in measures:
        lines.append(
            f"| {m.size:,} | {m.case} | {fmt_time(m.turnout)} | {m.turnout / base[m.case]:.2f}x "
            f"| {fmt_time(m.starlette)} | {m.starlette / m.turnout:,.1f}x |"
        )
    return "\n".join(lines) + "\n"


def worst_ratio(measures: list[Measure]) -> float:
    base = {m.case: m.turnout for m in measures if m.size == SIZES[0]}
    return max(m.turnout / base[m.case] for m in measures if m.size == SIZES[-1] and m.case in ("last", "404"))


def machine() -> str:
    versions = ", ".join(f"{name} {importlib.metadata.version(name)}" for name in ("turnout", "starlette", "werkzeug"))
    return (
        f"{platform.machine()}, {os.cpu_count()} CPUs (nproc), {platform.python_implementation()} "
        f"{platform.python_version()}, {versions}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer, shorter repeats (a smoke test, not a result)")
    parser.add_argument("--markdown", type=Path, metavar="PATH", help="also write the table to PATH")
    parser.add_argument("--check", action="store_true", help="exit with 1 if the 2x target is missed")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    measures = run(quick=args.quick)
    table = markdown(measures)
    ratio = worst_ratio(measures)
    verdict = "met" if ratio <= TARGET_RATIO else "MISSED"
    summary = (
        f"Worst of `last` and `404` at {SIZES[-1]:,} routes: {ratio:.2f}x the figure at {SIZES[0]} routes "
        f"(target <= {TARGET_RATIO:.1f}x: {verdict}).\n\nMachine: {machine()}.\n"
    )
    print(table)
    print(summary)
    print(f"({time.perf_counter() - started:.1f} s)", file=sys.stderr)
    if args.markdown is not None:
        args.markdown.write_text(table + "\n" + summary, encoding="utf-8")
    return 1 if args.check and ratio > TARGET_RATIO else 0


if __name__ == "__main__":
    sys.exit(main())
