"""What is measured, in interleaved rounds: round 1 runs every server once, round 2 again, and so on.

A slow moment of the shared machine then hits one round of every server rather than all the
rounds of one, and the ratios are taken within each round before their median is.
"""

from __future__ import annotations

import functools
import json
import math
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchsuite import apps, servers
from benchsuite.load import Transfer, Wrk, WrkResult, in_process, transfer, wait_until
from benchsuite.servers import ROOT, SERVER_CORE, RunningServer, ServerSpec

SCENARIOS = ("legacy", "new", "stream", "isolation", "shadow", "routing")
IN_PROCESS = "in-process"
IN_PROCESS_LABEL = "Flask called in-process, no server (the ceiling)"
# Hypercorn's WSGI wrapper reads the whole body into memory first, and refuses one over 16 MiB.
NO_UPLOAD = {"flask-hypercorn": "not run: Hypercorn reads a WSGI body into memory, up to 16 MiB (413 beyond)"}


@dataclass(frozen=True)
class Settings:
    quick: bool
    rounds: int  # of the request-rate scenarios
    seconds: int  # per wrk run
    connections: int
    stream_mib: int
    stream_rounds: int
    stream_deadline: float
    isolation_rounds: int
    isolation_seconds: int
    isolation_connections: int  # of the wrk that measures the native and the second legacy route
    load_connections: int  # of the wrk that saturates the busy legacy mount
    warm_up: int  # seconds of wrk per (server, path) before the first round; 0 for none
    in_process_seconds: float
    load_lead: float  # seconds of load on the busy mount before the measurements start
    shadow_rounds: int
    shadow_seconds: int  # per wrk run, on each of the shadow's three servers


FULL = Settings(
    quick=False,
    # Seven rounds of 2 s rather than five of 3 s, in the same time: a turnout run and a peer's
    # are then closer in time (the shared machine's load drifts over seconds), and the median
    # is of seven per-round ratios. Five of 3 s gave medians that moved by up to 0.15x between
    # two runs of the same code.
    rounds=7,
    seconds=2,
    connections=32,
    stream_mib=512,
    stream_rounds=3,
    stream_deadline=60.0,
    isolation_rounds=3,
    isolation_seconds=4,
    isolation_connections=32,
    load_connections=64,
    warm_up=1,
    in_process_seconds=2.0,
    load_lead=1.0,
    shadow_rounds=8,
    shadow_seconds=3,
)
QUICK = Settings(
    quick=True,
    rounds=2,
    seconds=1,
    connections=32,
    stream_mib=64,
    stream_rounds=1,
    stream_deadline=20.0,
    isolation_rounds=1,
    isolation_seconds=2,
    isolation_connections=32,
    load_connections=64,
    warm_up=0,
    in_process_seconds=0.5,
    load_lead=0.5,
    shadow_rounds=2,
    shadow_seconds=2,
)


@dataclass(frozen=True)
class Sample:
    """One measurement of one route on one server in one round."""

    rate: float  # successful responses per second
    p99: float | None  # seconds
    errors: int = 0
    non_2xx: int = 0
    p50: float | None = None  # seconds
    requests: int = 0  # every response, whatever its status

    @classmethod
    def of(cls, result: WrkResult) -> Sample:
        return cls(result.rate, result.p99, result.errors, result.non_2xx, result.p50, result.requests)


@dataclass(frozen=True)
class RateScenario:
    key: str
    title: str
    path: str
    specs: tuple[ServerSpec, ...]
    in_process: bool = False


RATE_SCENARIOS = {
    "legacy": (
        RateScenario("legacy-hello", 'legacy hello (Flask returns "Hello, world!")', "/hello", servers.LEGACY, True),
        RateScenario("legacy-json", "legacy JSON (Flask `jsonify` of a small dict)", "/json", servers.LEGACY, True),
    ),
    "new": (
        RateScenario("new-hello", "new hello (Starlette `PlainTextResponse`)", "/new/hello", servers.NEW),
        RateScenario("new-json", "new JSON (Starlette `JSONResponse`)", "/new/json", servers.NEW),
    ),
}


@dataclass
class Results:
    settings: Settings
    only: tuple[str, ...]
    labels: dict[str, str] = field(default_factory=dict)
    # scenario key -> server key -> one sample per round (None when that round failed)
    rates: dict[str, dict[str, list[Sample | None]]] = field(default_factory=dict)
    rate_titles: dict[str, str] = field(default_factory=dict)
    # "download" | "upload" -> server key -> one transfer per round
    streams: dict[str, dict[str, list[Transfer]]] = field(default_factory=dict)
    skipped_streams: dict[str, str] = field(default_factory=dict)
    # server key -> (condition, route) -> one sample per round
    isolation: dict[str, dict[tuple[str, str], list[Sample]]] = field(default_factory=dict)
    isolation_load: dict[str, dict[str, list[Sample]]] = field(default_factory=dict)
    # shadow server key -> one sample per round of `/pair/json` (None when that round failed)
    shadow: dict[str, list[Sample | None]] = field(default_factory=dict)
    # shadow server key -> what its switch counted over the measured rounds ("sent", "matched", ...)
    shadow_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    shadow_states: dict[str, str] = field(default_factory=dict)  # the switch's state after the last round
    # shadow server key -> the server's CPU time per response, in seconds, one per round
    shadow_cpu: dict[str, list[float]] = field(default_factory=dict)
    routing_table: str | None = None
    routing_summary: str | None = None
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0
    load_at_end: tuple[float, float, float] | None = None


_STARTED = time.monotonic()


def progress(message: str) -> None:
    print(f"bench: [{time.monotonic() - _STARTED:5.0f} s] {message}", file=sys.stderr, flush=True)


def rotated(items: Sequence[ServerSpec], turn: int) -> list[ServerSpec]:
    """`items` starting at `turn`: no server always runs first, or right after another."""
    shift = turn % len(items)
    return [*items[shift:], *items[:shift]]


# -- request rates ------------------------------------------------------------------------------


def run_rates(results: Results, wrk: Wrk, running: dict[str, RunningServer], selected: Sequence[str]) -> None:
    settings = results.settings
    scenarios = [s for name in selected for s in RATE_SCENARIOS[name]]
    for scenario in scenarios:
        results.rate_titles[scenario.key] = scenario.title
        results.rates[scenario.key] = {spec.key: [] for spec in scenario.specs}
        if scenario.in_process:
            results.rates[scenario.key][IN_PROCESS] = []
            results.labels[IN_PROCESS] = IN_PROCESS_LABEL
    if settings.warm_up:
        progress("warming up every server")
        for scenario in scenarios:
            for spec in scenario.specs:
                server = running[spec.key]
                wrk.run(server.url(scenario.path), connections=settings.connections, seconds=settings.warm_up)
    for turn in range(settings.rounds):
        progress(f"request rates: round {turn + 1}/{settings.rounds}")
        for scenario in scenarios:
            for spec in rotated(scenario.specs, turn):
                server = running[spec.key]
                try:
                    result = wrk.run(
                        server.url(scenario.path), connections=settings.connections, seconds=settings.seconds
                    )
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    results.failures.append(f"{scenario.key} on {spec.label}, round {turn + 1}: {exc}")
                    results.rates[scenario.key][spec.key].append(None)
                    continue
                results.rates[scenario.key][spec.key].append(Sample.of(result))
        ceiling = [scenario for scenario in scenarios if scenario.in_process]
        if ceiling:
            found = in_process([scenario.path for scenario in ceiling], settings.in_process_seconds)
            for scenario in ceiling:
                results.rates[scenario.key][IN_PROCESS].append(Sample(found[scenario.path], None))


# -- streaming ----------------------------------------------------------------------------------


def run_streams(results: Results, running: dict[str, RunningServer]) -> None:
    settings = results.settings
    specs = servers.LEGACY
    for direction in ("download", "upload"):
        results.streams[direction] = {spec.key: [] for spec in specs}
    results.skipped_streams = dict(NO_UPLOAD)
    for turn in range(settings.stream_rounds):
        progress(f"streaming {settings.stream_mib} MiB: round {turn + 1}/{settings.stream_rounds}")
        for spec in rotated(specs, turn):
            for direction in ("download", "upload"):
                if direction == "upload" and spec.key in NO_UPLOAD:
                    continue
                done = transfer(running[spec.key], direction, settings.stream_mib, deadline=settings.stream_deadline)
                if not done.ok:
                    results.failures.append(f"{direction} on {spec.label}, round {turn + 1}: {done.detail}")
                results.streams[direction][spec.key].append(done)


# -- isolation ----------------------------------------------------------------------------------

CONDITIONS = ("unloaded", "cpu", "sleep")
ROUTES = ("/native", "/other/fast")
LOAD_PATHS = {"cpu": "/busy/spin", "sleep": "/busy/sleep"}
DRAIN_TIMEOUT = 30.0


def answers_fast(server: RunningServer, path: str, within: float = 0.05) -> bool:
    started = time.perf_counter()
    try:
        with urllib.request.urlopen(server.url(path), timeout=5) as response:
            response.read()
            return response.status == 200 and time.perf_counter() - started < within
    except (OSError, urllib.error.URLError):
        return False


def drained(server: RunningServer) -> bool:
    """The busy mount is through its backlog: its pool answers a trivial request at once, twice."""
    return answers_fast(server, "/busy/ping") and answers_fast(server, "/busy/ping")


def run_isolation(results: Results, wrk: Wrk, logs: Path) -> None:
    settings = results.settings
    seconds = settings.isolation_seconds
    specs = servers.ISOLATION
    for spec in specs:
        results.labels[f"isolation:{spec.key}"] = spec.label
        results.isolation[spec.key] = {(c, r): [] for c in CONDITIONS for r in ROUTES}
        results.isolation_load[spec.key] = {c: [] for c in LOAD_PATHS}
    with servers.running(specs, logs) as running:
        if settings.warm_up:
            for spec in specs:
                for route in ROUTES:
                    wrk.run(running[spec.key].url(route), connections=settings.isolation_connections, seconds=1)
        for turn in range(settings.isolation_rounds):
            progress(f"isolation: round {turn + 1}/{settings.isolation_rounds}")
            for spec in rotated(specs, turn):
                server = running[spec.key]
                table = results.isolation[spec.key]
                for route in ROUTES:
                    measured = wrk.run(server.url(route), connections=settings.isolation_connections, seconds=seconds)
                    table["unloaded", route].append(Sample.of(measured))
                for condition, load_path in LOAD_PATHS.items():
                    # The load starts first, so that the mount is saturated, and outlasts both measurements.
                    load_seconds = math.ceil(settings.load_lead + 2 * seconds + 0.5)
                    load = wrk.start(server.url(load_path), connections=settings.load_connections, seconds=load_seconds)
                    try:
                        time.sleep(settings.load_lead)
                        for route in ROUTES:
                            measured = wrk.run(
                                server.url(route), connections=settings.isolation_connections, seconds=seconds
                            )
                            table[condition, route].append(Sample.of(measured))
                        results.isolation_load[spec.key][condition].append(Sample.of(load.finish()))
                    finally:
                        load.stop()
                    waited = time.monotonic()
                    if not wait_until(functools.partial(drained, server), DRAIN_TIMEOUT):
                        results.failures.append(f"isolation: {spec.label} still busy {DRAIN_TIMEOUT:.0f} s after load")
                    progress(f"  {spec.key}, {condition} load: backlog drained in {time.monotonic() - waited:.1f} s")


# -- shadow -------------------------------------------------------------------------------------

SHADOW_PATH = "/pair/json"
SHADOW_STATES = {
    servers.SHADOW_OFF.key: "legacy",
    servers.SHADOW_SLOW.key: "shadow",
    servers.SHADOW_CRASH.key: "shadow",
}
SHADOW_SETTLE = 0.5  # seconds for the last shadow calls (200 ms asleep) to end before they are counted


def switch_figures(results: Results, spec: ServerSpec, server: RunningServer) -> tuple[str, dict[str, int]] | None:
    """The shadow switch as the admin API shows it: its state, and its counts ("sent", "matched", ...)."""
    request = urllib.request.Request(
        server.url(f"{apps.ADMIN_PATH}/switches/{apps.SHADOW_SWITCH}"),
        headers={"Authorization": f"Bearer {apps.ADMIN_TOKEN}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            figures: dict[str, Any] = json.load(response)
        found: dict[str, int] = dict(figures["shadow"])
        found["served by legacy"] = figures["served"]["legacy"]
        found["served by new"] = figures["served"]["new"]
        return str(figures["state"]), found
    except (OSError, urllib.error.URLError, ValueError, KeyError, TypeError) as exc:
        results.failures.append(f"shadow: {spec.label}: the admin API gave no figures: {exc}")
        return None


def primary_problem(server: RunningServer) -> str | None:
    """Why the primary's answer on `SHADOW_PATH` is not the legacy side's 200, or `None`."""
    try:
        with urllib.request.urlopen(server.url(SHADOW_PATH), timeout=5) as response:
            body = json.load(response)
            served_by = response.headers.get("x-served-by")
            status = response.status
    except (OSError, urllib.error.URLError, ValueError) as exc:
        return f"GET {SHADOW_PATH} failed: {exc}"
    if status != 200 or body != apps.PAYLOAD or served_by != "wsgi:legacy":
        return f"GET {SHADOW_PATH} gave {status}, X-Served-By {served_by!r}, {body!r}: not the legacy side's answer"
    return None


def run_shadow(results: Results, wrk: Wrk, logs: Path) -> None:
    settings = results.settings
    specs = servers.SHADOW
    for spec in specs:
        results.labels[spec.key] = spec.label
        results.shadow[spec.key] = []
        results.shadow_cpu[spec.key] = []
    with servers.running(specs, logs) as running:
        for spec in specs:
            problem = primary_problem(running[spec.key])
            if problem is not None:
                results.failures.append(f"shadow: {spec.label}: {problem}")
        if settings.warm_up:
            for spec in specs:
                wrk.run(running[spec.key].url(SHADOW_PATH), connections=settings.connections, seconds=settings.warm_up)
        time.sleep(SHADOW_SETTLE)
        before = {spec.key: switch_figures(results, spec, running[spec.key]) for spec in specs}
        for turn in range(settings.shadow_rounds):
            progress(f"shadow: round {turn + 1}/{settings.shadow_rounds}")
            for spec in rotated(specs, turn):
                server = running[spec.key]
                cpu = server.cpu_seconds()
                try:
                    result = wrk.run(
                        server.url(SHADOW_PATH), connections=settings.connections, seconds=settings.shadow_seconds
                    )
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    results.failures.append(f"shadow on {spec.label}, round {turn + 1}: {exc}")
                    results.shadow[spec.key].append(None)
                    continue
                results.shadow[spec.key].append(Sample.of(result))
                # Shadow calls still running when wrk stops are left out: at most 16, a millisecond of CPU or two.
                if result.requests:
                    results.shadow_cpu[spec.key].append((server.cpu_seconds() - cpu) / result.requests)
        time.sleep(SHADOW_SETTLE)
        for spec in specs:
            first, last = before[spec.key], switch_figures(results, spec, running[spec.key])
            if first is None or last is None:
                continue
            state, after = last
            results.shadow_counts[spec.key] = {k: n - first[1].get(k, 0) for k, n in after.items()}
            results.shadow_states[spec.key] = state
            if state != SHADOW_STATES[spec.key]:
                results.failures.append(
                    f"shadow: {spec.label}: the switch ended at {state!r}, not {SHADOW_STATES[spec.key]!r}"
                )


# -- routing ------------------------------------------------------------------------------------


def run_routing(results: Results, workdir: Path) -> None:
    """`scripts/bench_routing.py`, pinned to the server core; its table and summary go in the report."""
    progress("routing: scripts/bench_routing.py")
    output = workdir / "routing.md"
    argv = ["taskset", "-c", str(SERVER_CORE), sys.executable, str(ROOT / "scripts" / "bench_routing.py")]
    if results.settings.quick:
        argv.append("--quick")
    argv += ["--markdown", str(output)]
    done = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0 or not output.exists():
        results.failures.append(f"routing: bench_routing.py failed ({done.returncode}): {done.stderr[-500:]}")
        return
    text = output.read_text(encoding="utf-8")
    table, _, summary = text.partition("\n\n")
    results.routing_table = table.strip() + "\n"
    results.routing_summary = summary.split("\n\n")[0].strip()


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None
