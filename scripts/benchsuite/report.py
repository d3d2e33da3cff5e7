"""Medians, per-round ratios, targets, and the Markdown of docs/benchmarks.md."""

from __future__ import annotations

import dataclasses
import importlib.metadata
import os
import platform
import re
import statistics
import subprocess
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

from benchsuite import apps, servers
from benchsuite.load import Transfer
from benchsuite.scenarios import CONDITIONS, IN_PROCESS, ROUTES, SCENARIOS, Results, Sample
from benchsuite.servers import ROOT
from turnout.bridge.options import LegacyLimits

PACKAGES = (
    "turnout",
    "starlette",
    "uvicorn",
    "httptools",
    "uvloop",
    "h11",
    "a2wsgi",
    "flask",
    "werkzeug",
    "granian",
    "gunicorn",
    "hypercorn",
)
MiB = 2**20
RSS_LIMIT = 16 * MiB
ROUTING_TARGET = 2.0
SHADOW_TARGET = 1.1
WIDTH = 96


# -- the machine --------------------------------------------------------------------------------


def _first_line(argv: Sequence[str]) -> str:
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (done.stdout or done.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def _cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo", encoding="utf-8"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


@dataclass(frozen=True)
class Machine:
    cpus: str
    cpu_model: str
    kernel: str
    arch: str
    load: tuple[float, float, float]
    python: str
    packages: dict[str, str]
    wrk: str
    commit: str

    @classmethod
    def now(cls) -> Machine:
        packages = {}
        for name in PACKAGES:
            try:
                packages[name] = importlib.metadata.version(name)
            except importlib.metadata.PackageNotFoundError:
                packages[name] = "not installed"
        wrk = _first_line(["wrk", "-v"]).split(" Copyright")[0].removeprefix("wrk ").strip()
        commit = _first_line(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"])
        dirty = _first_line(["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"])
        if dirty not in ("", "unknown"):
            commit += " (with uncommitted changes in src/)"
        return cls(
            cpus=_first_line(["nproc"]),
            cpu_model=_cpu_model(),
            kernel=platform.release(),
            arch=platform.machine(),
            load=os.getloadavg(),
            python=f"{platform.python_implementation()} {platform.python_version()}",
            packages=packages,
            wrk=wrk,
            commit=commit,
        )


# -- figures ------------------------------------------------------------------------------------


def median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def rates(samples: Sequence[Sample | None]) -> list[float]:
    return [s.rate for s in samples if s is not None]


def round_ratios(ours: Sequence[Sample | None], theirs: Sequence[Sample | None]) -> list[float]:
    """`ours / theirs` in each round where both were measured."""
    return [a.rate / b.rate for a, b in zip(ours, theirs, strict=False) if a is not None and b is not None and b.rate]


def p99_ratios(ours: Sequence[Sample | None], theirs: Sequence[Sample | None]) -> list[float]:
    """`ours / theirs` of the p99 latency in each round where both were measured (lower is better)."""
    return [
        a.p99 / b.p99
        for a, b in zip(ours, theirs, strict=False)
        if a is not None and b is not None and a.p99 is not None and b.p99
    ]


def transfer_ratios(ours: Sequence[Transfer], theirs: Sequence[Transfer]) -> list[float]:
    return [a.mib_per_s / b.mib_per_s for a, b in zip(ours, theirs, strict=False) if a.ok and b.ok and b.mib_per_s]


def para(text: str) -> str:
    """A paragraph of Markdown, wrapped as the hand-written parts of docs/ are."""
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False) + "\n"


def default_limits() -> str:
    limits = LegacyLimits()
    return ", ".join(f"`{f.name}={getattr(limits, f.name)!r}`" for f in dataclasses.fields(limits))


def fmt_rate(value: float | None) -> str:
    return "—" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}x"


def fmt_spread(values: Sequence[float]) -> str:
    """The median of per-round ratios, with their range when there are several rounds."""
    if not values:
        return "—"
    middle = fmt_ratio(median(values))
    if len(values) < 2 or min(values) == max(values):
        return middle
    return f"{middle} ({min(values):.2f}–{max(values):.2f})"


def bullet(text: str) -> str:
    return textwrap.fill(
        text, WIDTH, initial_indent="- ", subsequent_indent="  ", break_long_words=False, break_on_hyphens=False
    )


def fmt_latency(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    ms = seconds * 1000
    return f"{ms:,.1f} ms" if ms >= 10 else f"{ms:.2f} ms"


def fmt_mib(nbytes: float | None) -> str:
    return "—" if nbytes is None else f"{nbytes / MiB:+,.1f} MiB"


@dataclass(frozen=True)
class Target:
    what: str
    measured: float | None
    goal: str
    met: bool | None
    unit: str = "x"
    rounds: tuple[float, ...] = ()  # the per-round ratios behind a ratio
    decimals: int = 2

    def row(self) -> str:
        value = "—" if self.measured is None else f"{self.measured:,.{self.decimals}f}{self.unit}"
        if self.rounds:
            value = fmt_spread(self.rounds)
        verdict = "not measured" if self.met is None else ("met" if self.met else "**not met**")
        return f"| {self.what} | {value} | {self.goal} | {verdict} |"


def _ratio_at_least(what: str, ratios: Sequence[float], goal: float) -> Target:
    value = median(ratios)
    return Target(what, value, f">= {goal:g}x", None if value is None else value >= goal, "x", tuple(ratios))


def _ratio_at_most(what: str, ratios: Sequence[float], goal: float) -> Target:
    value = median(ratios)
    return Target(what, value, f"<= {goal:.2f}x", None if value is None else value <= goal, "x", tuple(ratios))


def _at_most(what: str, value: float | None, goal: float, unit: str) -> Target:
    return Target(what, value, f"<= {goal:g}{unit}", None if value is None else value <= goal, unit)


def targets(results: Results) -> list[Target]:
    found: list[Target] = []
    legacy_peers = (
        (servers.FLASK_A2WSGI, 2.0),
        (servers.FLASK_GTHREAD, 1.6),
        (servers.FLASK_GRANIAN, 0.6),
    )
    for key, title in (("legacy-hello", "legacy hello"), ("legacy-json", "legacy JSON")):
        table = results.rates.get(key)
        if table is None:
            continue
        for spec, goal in legacy_peers:
            ratios = round_ratios(table["turnout"], table[spec.key])
            found.append(_ratio_at_least(f"{title}: turnout ÷ {spec.label}", ratios, goal))
    for key, title in (("new-hello", "new hello"), ("new-json", "new JSON")):
        table = results.rates.get(key)
        if table is None:
            continue
        ratios = round_ratios(table["turnout"], table[servers.STARLETTE_UVICORN.key])
        found.append(_ratio_at_least(f"{title}: turnout ÷ {servers.STARLETTE_UVICORN.label}", ratios, 0.9))
    mib = results.settings.stream_mib
    for direction in ("download", "upload"):
        table_t = results.streams.get(direction)
        if table_t is None:
            continue
        ours = table_t["turnout"]
        growth = max((t.rss_growth for t in ours), default=None)
        found.append(
            _at_most(
                f"{direction} {mib} MiB: turnout's RSS growth (largest of the rounds)",
                None if growth is None else growth / MiB,
                RSS_LIMIT / MiB,
                " MiB",
            )
        )
        ratios = transfer_ratios(ours, table_t[servers.FLASK_GTHREAD.key])
        found.append(_ratio_at_least(f"{direction} {mib} MiB: turnout's MiB/s ÷ gunicorn gthread's", ratios, 0.8))
    if "turnout" in results.isolation:
        ratios = isolation_ratios(results, "turnout", "cpu", "/native")
        found.append(
            _ratio_at_least("native route under 64 CPU-bound legacy connections: loaded ÷ unloaded", ratios, 0.5)
        )
    if results.shadow:
        off = results.shadow[servers.SHADOW_OFF.key]
        for spec in (servers.SHADOW_SLOW, servers.SHADOW_CRASH):
            ratios = p99_ratios(results.shadow[spec.key], off)
            found.append(_ratio_at_most(f"{spec.label}: primary's p99 ÷ shadow off's", ratios, SHADOW_TARGET))
            failed = _failed_responses(results.shadow[spec.key])
            found.append(
                Target(
                    f"{spec.label}: primary's non-2xx responses and socket errors, all rounds",
                    failed,
                    "none",
                    None if failed is None else failed == 0,
                    "",
                    decimals=0,
                )
            )
    if results.routing_summary is not None:
        match = re.search(r"([\d.]+)x the figure", results.routing_summary)
        value = float(match.group(1)) if match else None
        found.append(_at_most("routing: last route or 404 at 10,000 routes ÷ at 10 routes", value, ROUTING_TARGET, "x"))
    return found


def _failed_responses(samples: Sequence[Sample | None]) -> int | None:
    measured = [s for s in samples if s is not None]
    return sum(s.non_2xx + s.errors for s in measured) if measured else None


def isolation_ratios(results: Results, key: str, condition: str, route: str) -> list[float]:
    table = results.isolation[key]
    return round_ratios(table[condition, route], table["unloaded", route])


# -- Markdown -----------------------------------------------------------------------------------

INTRO = """\
# Benchmarks

Each section says what is measured, gives the figures of one run with the machine it ran on,
and the exact command that reproduces it. The machines are shared and noisy: every figure is a
median, and ratios measured in one run mean more than absolute times compared across runs.

Everything on this page comes from one run of `{command}`, which took {minutes}.
"""

HOW_TO_READ = """\
## How to read this

- **Setup.** Every server runs one worker process, pinned with `taskset` to core 0. The load
  generator, wrk (one thread), and every other client are pinned to core 1. Everything uses
  127.0.0.1. The servers run side by side in the same run, each on its own free port.
- **Rounds.** The rounds are interleaved: round 1 measures every server once, round 2 every
  server again, and so on, with the order rotated each round. A slow moment of the shared
  machine then costs one round of every server, not all the rounds of one.
- **Medians.** A req/s or p99 figure is the median over the rounds. A ratio is computed within
  each round (turnout's figure over the other server's, from the same round) and the median of
  those per-round ratios is given, with their range in brackets. A ratio above 1.00x means
  turnout did better. The median of the ratios need not be the ratio of the medians: where the
  two disagree, or the range is wide, the machine was noisy during those rounds.
- **req/s** counts successful responses only (wrk counts non-2xx/3xx responses separately; they
  are reported where there were any). **p99** comes from wrk's latency histogram; under
  saturation it measures queueing as much as service.
- **The in-process row** calls the Flask app in a tight loop with no server and no socket. No
  WSGI server can go faster; the gap between a server and that row is what the server costs.
- **gunicorn sync** closes the connection after each response (no keep-alive), so its figure
  includes a TCP connect per request, as it does in production.
- **Targets** are checked against this run's figures only, and marked met or not met.
"""


def _rate_tables(results: Results) -> list[str]:
    settings = results.settings
    out: list[str] = []
    for section, keys, intro in (
        (
            "Legacy routes (Flask)",
            ("legacy-hello", "legacy-json"),
            "The same Flask app behind each WSGI server, and behind turnout: mounted with `mount_wsgi` at "
            f"`/` with the default limits ({default_limits()}), beside the new routes added with `add_route`, "
            "served by Uvicorn with turnout's `HttpToolsProtocol` and uvloop, turnout's middleware on. The "
            "in-process row runs the same number of seconds in each round, on core 0.",
        ),
        (
            "New routes (Starlette)",
            ("new-hello", "new-json"),
            "The same Starlette endpoints added to turnout with `add_route`, against a plain Starlette app "
            "on Uvicorn (httptools, uvloop) and on Granian ASGI.",
        ),
    ):
        present = [k for k in keys if k in results.rates]
        if not present:
            continue
        out.append(f"## {section}\n")
        out.append(
            para(
                f"{intro} wrk: one thread, {settings.connections} connections, {settings.rounds} rounds of "
                f"{settings.seconds} s per server and path."
            )
        )
        for key in present:
            table = results.rates[key]
            out.append(f"### {results.rate_titles[key]}\n")
            out.append(
                "| server | req/s (median) | p99 (median) | turnout ÷ server: median of per-round ratios (range) |"
            )
            out.append("|---|---:|---:|---:|")
            notes: list[str] = []
            for server_key, samples in table.items():
                label = results.labels.get(server_key, server_key)
                p99s = [s.p99 for s in samples if s is not None and s.p99 is not None]
                ratios = round_ratios(table["turnout"], samples)
                unit = " calls/s" if server_key == IN_PROCESS else ""
                out.append(
                    f"| {label} | {fmt_rate(median(rates(samples)))}{unit} | {fmt_latency(median(p99s))} "
                    f"| {fmt_ratio(1.0) if server_key == 'turnout' else fmt_spread(ratios)} |"
                )
                non_2xx = sum(s.non_2xx for s in samples if s is not None)
                errors = sum(s.errors for s in samples if s is not None)
                if non_2xx or errors:
                    notes.append(f"{label}: {non_2xx:,} non-2xx responses, {errors:,} socket errors or timeouts")
            out.append("")
            if notes:
                out.append("Over all rounds: " + "; ".join(notes) + ".\n")
    return out


def _stream_table(results: Results) -> list[str]:
    if not results.streams:
        return []
    settings = results.settings
    mib = settings.stream_mib
    out = [
        f"## Streaming {mib} MiB\n",
        para(
            f"A download of {mib} MiB from a Flask generator of 64 KiB chunks (with a `Content-Length`), and "
            f"an upload of {mib} MiB (with a `Content-Length`) that Flask reads from `request.stream` in 64 KiB "
            "chunks, through each WSGI server and through turnout's legacy mount. The client is a small Python "
            "client on core 1 (`scripts/benchsuite/stream_client.py`, 1 MiB reads and writes; each transfer "
            f"gives up after {settings.stream_deadline:.0f} s). RSS growth is the peak RSS of the server's "
            "processes during the transfer (the kernel's `VmHWM`, reset through `/proc/PID/clear_refs` first, "
            "and `VmRSS` polled every 10 ms) less their RSS before it: the largest of "
            f"{settings.stream_rounds} rounds, the worst case. Throughput (MiB/s) is the median of the rounds."
        ),
        "| server | download MiB/s | download RSS growth | turnout ÷ server, download "
        "| upload MiB/s | upload RSS growth | turnout ÷ server, upload |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    down, up = results.streams["download"], results.streams["upload"]
    for spec in servers.LEGACY:
        cells = []
        for table in (down, up):
            transfers = table[spec.key]
            if not transfers:
                cells += ["not run", "—", "—"]
                continue
            speeds = [t.mib_per_s for t in transfers if t.ok]
            growth = max(t.rss_growth for t in transfers)
            ratios = transfer_ratios(table["turnout"], transfers)
            failed = sum(1 for t in transfers if not t.ok)
            speed = fmt_rate(median(speeds)) + (f" ({failed} failed)" if failed else "")
            cells += [speed, fmt_mib(growth), fmt_ratio(1.0) if spec.key == "turnout" else fmt_spread(ratios)]
        out.append(f"| {spec.label} | " + " | ".join(cells) + " |")
    out.append("")
    for key, why in results.skipped_streams.items():
        out.append(bullet(f"{results.labels.get(key, key)}, upload: {why}."))
    out.append("")
    return out


ISOLATION_INTRO = """\
One server serves two legacy Flask apps and a native route: `/busy` (with `/busy/sleep`,
which sleeps 1 s, and `/busy/spin`, which spins in pure Python for 20 ms), `/other` (a second
legacy app with a fast `/other/fast`), and the native `/native` (a `PlainTextResponse`).
turnout mounts both apps with `mount_wsgi` and the default limits and adds `/native` with
`add_route`; plain a2wsgi is one Starlette app with the `/native` route and two `Mount`s of
`a2wsgi.WSGIMiddleware`, each with its own pool of 10 threads.

A first wrk saturates `/busy` with {load} connections, on `/busy/spin` (CPU-bound) or on
`/busy/sleep` (slow); a second wrk measures `/native`, then `/other/fast`, with {conns}
connections for {seconds} s each, after {lead:g} s of load. The same routes are measured unloaded
in the same round. "÷ unloaded" is the loaded figure over the unloaded one in the same round
(median of {rounds} round(s), with their range). The CPU-bound case is the hard one: the legacy threads hold the
GIL, and the event loop waits for it.
"""


def _isolation_tables(results: Results) -> list[str]:
    if not results.isolation:
        return []
    settings = results.settings
    intro = ISOLATION_INTRO.format(
        load=settings.load_connections,
        conns=settings.isolation_connections,
        seconds=settings.isolation_seconds,
        rounds=settings.isolation_rounds,
        lead=settings.load_lead,
    )
    out = [
        "## Isolation under legacy saturation\n",
        *(para(" ".join(paragraph.split())) for paragraph in intro.strip().split("\n\n")),
        "| server | route | load on `/busy` | req/s (median) | p99 (median) | ÷ unloaded |",
        "|---|---|---|---:|---:|---:|",
    ]
    names = {"unloaded": "none", "cpu": "64 × 20 ms CPU", "sleep": "64 × 1 s sleep"}
    notes = []
    for key, table in results.isolation.items():
        label = results.labels.get(f"isolation:{key}", key)
        for route in ROUTES:
            for condition in CONDITIONS:
                samples = table[condition, route]
                p99s = [s.p99 for s in samples if s.p99 is not None]
                ratio = "" if condition == "unloaded" else fmt_spread(isolation_ratios(results, key, condition, route))
                out.append(
                    f"| {label} | `{route}` | {names[condition]} | {fmt_rate(median(rates(samples)))} "
                    f"| {fmt_latency(median(p99s))} | {ratio} |"
                )
                non_2xx = sum(s.non_2xx for s in samples)
                if non_2xx:
                    notes.append(f"{label} `{route}` under {names[condition]}: {non_2xx:,} non-2xx responses")
        for condition, samples in results.isolation_load[key].items():
            refused = sum(s.non_2xx for s in samples)
            notes.append(
                f"{label}, the load itself ({names[condition]}): {fmt_rate(median(rates(samples)))} "
                f"successful req/s on `/busy`, {refused:,} non-2xx responses over all rounds"
            )
    out.append("")
    out.extend(bullet(f"{note}.") for note in notes)
    out.append("")
    summary = []
    for key in results.isolation:
        label = results.labels.get(f"isolation:{key}", key)
        summary.append(f"{label}: {fmt_spread(isolation_ratios(results, key, 'cpu', '/native'))}")
    out.append(
        para(
            "The native route's throughput under 64 CPU-bound legacy connections, as a share of its unloaded "
            "throughput: " + "; ".join(summary) + " (target for turnout: >= 0.5x)."
        )
    )
    return out


SHADOW_INTRO = """\
One turnout app serves `/pair/json` on both sides: the legacy side is Flask's `jsonify` of the
small dict of the legacy JSON route (mounted at `/` with `mount_wsgi` and the default limits),
the new side a Starlette endpoint added with `add_route` on the same pattern, so the pair has a
switch. Three servers run it: the switch at `legacy` (the shadow off), and the switch at `shadow`
with a new side that is slow ({sleep:g} ms asleep, then a JSON that differs in one field) or that
raises. The legacy side answers the user in all three; under `shadow`, the request goes to the new
side in the background once the answer is sent, at most {in_flight} at once, each for at most
{timeout:g} s (`Turnout(shadow_max_in_flight={in_flight}, shadow_timeout={timeout:g})`). The
switch's automatic rollback is off (`Thresholds(error_rate=None, p99_ratio=None, mismatch_rate=None)`),
so that the shadow stays on for the whole run; the switch's state and counts are read through the admin API
before the first round and after the last.

wrk: one thread, {conns} connections, {rounds} interleaved rounds of {seconds} s per server, on
`/pair/json`. "÷ shadow off" is the figure with the shadow on over the figure with it off in the
same round (median of the per-round ratios, with their range): for p99, lower is better, and the
target is at most {target:.2f}x. The load saturates the server's one core, so p99 is mostly
queueing: whatever CPU the shadow takes, for each request or for each call it sends, shows up as fewer
req/s and a higher p99.
"""


def _shadow_section(results: Results) -> list[str]:
    if not results.shadow:
        return []
    settings = results.settings
    intro = SHADOW_INTRO.format(
        sleep=apps.SHADOW_SLEEP * 1000,
        in_flight=apps.SHADOW_MAX_IN_FLIGHT,
        timeout=apps.SHADOW_TIMEOUT,
        conns=settings.connections,
        rounds=settings.shadow_rounds,
        seconds=settings.shadow_seconds,
        target=SHADOW_TARGET,
    )
    off = results.shadow[servers.SHADOW_OFF.key]
    out = [
        "## Shadow: primary latency with the shadow on and off\n",
        *(para(" ".join(paragraph.split())) for paragraph in intro.strip().split("\n\n")),
        "| server | req/s (median) | p50 (median) | p99 (median) | server CPU per response (median) "
        "| req/s ÷ shadow off | p99 ÷ shadow off | non-2xx responses, socket errors (all rounds) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, samples in results.shadow.items():
        label = results.labels.get(key, key)
        p50s = [s.p50 for s in samples if s is not None and s.p50 is not None]
        p99s = [s.p99 for s in samples if s is not None and s.p99 is not None]
        cpu = median(results.shadow_cpu.get(key, []))
        measured = [s for s in samples if s is not None]
        failed = f"{sum(s.non_2xx for s in measured):,}, {sum(s.errors for s in measured):,}" if measured else "—"
        if key == servers.SHADOW_OFF.key:
            rate_ratio = p99_ratio = fmt_ratio(1.0)
        else:
            rate_ratio = fmt_spread(round_ratios(samples, off))
            p99_ratio = fmt_spread(p99_ratios(samples, off))
        out.append(
            f"| {label} | {fmt_rate(median(rates(samples)))} | {fmt_latency(median(p50s))} "
            f"| {fmt_latency(median(p99s))} | {'—' if cpu is None else f'{cpu * 1e6:,.0f} µs'} "
            f"| {rate_ratio} | {p99_ratio} | {failed} |"
        )
    out.append("")
    out.append(
        para(
            "Server CPU per response is the user and system CPU time of the server's process over a round (the "
            "event loop and the legacy threads alike, from `/proc/PID/stat`), divided by the responses of that "
            "round: what the shadow costs the one core, and less at the mercy of the shared machine than p99."
        )
    )
    if results.shadow_counts:
        out += [
            para(
                "What each switch counted over the measured rounds: requests the legacy side served, shadow calls "
                "sent to the new side, their outcomes (a crash or a timeout is compared as a 500 or a 504, so it "
                "counts as mismatched), and the shadow calls not made: dropped (16 already in flight, or the "
                "event loop lagging by more than 5 ms) or skipped (a body that could not be replayed)."
            ),
            "| server | state after the last round | served by legacy | sent | matched | mismatched | dropped "
            "| skipped |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for key, found in results.shadow_counts.items():
            cells = [found.get(name, 0) for name in ("served by legacy", "sent", "matched", "mismatched", "dropped")]
            cells.append(found.get("skipped", 0))
            out.append(
                f"| {results.labels.get(key, key)} | `{results.shadow_states.get(key, '?')}` | "
                + " | ".join(f"{n:,}" for n in cells)
                + " |"
            )
        out.append("")
    return out


ROUTING_INTRO = """\
## Routing

turnout matches a request against one table that holds the routes of both sides. The table is
a tree keyed by path segment, so the cost of a match should not grow with the number of routes.
The target: matching the last of 10,000 routes, or a 404 among them, costs no more than 2x the
same at 10 routes.

### What is measured

`scripts/bench_routing.py` builds, for 10, 100, 1,000 and 10,000 routes, turnout's `RouteTable`
and Starlette's list of `Route`s from the same patterns. The patterns have an app's usual shapes
(`/s{i}/items/{item_id:int}`, `/s{i}/users/{name}`, `/s{i}/about`, `/s{i}/files/{rest:path}`,
`/s{i}/orders/{order_id:uuid}/lines`); the first and the last are `/s{i}/items/{item_id:int}`.
Three paths are timed at each size:

- **first**: `/s0/items/42`, served by the first route;
- **last**: `/s{N-1}/items/42`, served by the last route;
- **404**: `/s{N-1}/items/none`, served by no route (it goes as deep as the last route before
  the `int` converter refuses it).

turnout's figure is `split_path` plus `RouteTable.match`, its whole routing cost for a request.
Starlette's figure is the loop of `Router.app`: `route.matches(scope)` on each route until one
gives `Match.FULL`. Each figure is the median of {rounds} rounds of about {budget} ms of calls; the
rounds go over every (size, path, router) in turn, so a slow moment of the machine hits all of
them alike. `scripts/bench` runs it pinned to core 0.

### Results
"""

_TIME = re.compile(r"([\d,.]+) (µs|ms)")


def _seconds(text: str) -> float:
    match = _TIME.search(text)
    assert match is not None, text
    value = float(match.group(1).replace(",", ""))
    return value / 1e6 if match.group(2) == "µs" else value / 1e3


def _routing_rows(table: str) -> dict[tuple[int, str], tuple[float, float]]:
    """(routes, path) -> (turnout, Starlette) seconds, read back from bench_routing's table."""
    rows = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 6 and cells[0].replace(",", "").isdigit():
            rows[int(cells[0].replace(",", "")), cells[1]] = (_seconds(cells[2]), _seconds(cells[4]))
    return rows


def _fmt_time(seconds: float) -> str:
    micro = seconds * 1e6
    return f"{micro:,.2f} µs" if micro < 1000 else f"{micro / 1000:,.2f} ms"


def _routing_section(results: Results) -> list[str]:
    if results.routing_table is None:
        return []
    quick = results.settings.quick
    out = [ROUTING_INTRO.replace("{rounds}", "3" if quick else "9").replace("{budget}", "5" if quick else "20")]
    out.append(results.routing_table)
    if results.routing_summary:
        out.append(results.routing_summary.split("\n")[0] + "\n")
    rows = _routing_rows(results.routing_table)
    if (10, "last") in rows and (10_000, "last") in rows and (10_000, "first") in rows:
        small_t, small_s = rows[10, "last"]
        big_t, big_s = rows[10_000, "last"]
        first_t, first_s = rows[10_000, "first"]
        per_route = (big_s - small_s) / (10_000 - 10)
        drift = max(rows[10_000, case][0] / rows[10, case][0] for case in ("last", "404") if (10, case) in rows)
        shape = "stays flat" if drift <= 1.5 else f"grows by {drift:.2f}x"
        faster = "faster" if first_s < first_t else "not faster"
        out.append("What the figures say:\n")
        out.append(
            bullet(
                f"turnout's cost {shape} from 10 to 10,000 routes, for the last route and for a 404 alike "
                f"({_fmt_time(small_t)} and {_fmt_time(big_t)} for the last route)."
            )
        )
        out.append(
            bullet(
                f"Starlette's grows with the number of routes: about {per_route * 1e6:.2f} µs per route tried, "
                f"so {_fmt_time(big_s)} for the last of 10,000 routes."
            )
        )
        out.append(
            bullet(
                f"When the first route matches, Starlette is {faster} ({_fmt_time(first_s)} against "
                f"{_fmt_time(first_t)} for turnout's split and walk): turnout has a fixed cost per request, "
                "Starlette a cost per route tried. With 10 routes, turnout is already "
                f"{small_s / small_t:.1f}x faster for the last route."
            )
            + "\n"
        )
    out.append(
        para(
            "Alone, `.venv/bin/python scripts/bench_routing.py --markdown routing.md` reproduces this section's "
            "table in under a minute (`--check` exits with status 1 when the 2x target is missed)."
        )
    )
    return out


def _machine_section(machine: Machine, load_at_end: tuple[float, float, float] | None) -> list[str]:
    load = ", ".join(f"{x:.2f}" for x in machine.load)
    if load_at_end is not None:
        load += "; at the end: " + ", ".join(f"{x:.2f}" for x in load_at_end)
    packages = ", ".join(f"{name} {version}" for name, version in machine.packages.items())
    items = [
        f"CPU: {machine.cpu_model}, {machine.cpus} CPUs (`nproc`), {machine.arch};",
        f"kernel: Linux {machine.kernel};",
        f"load average (1, 5, 15 min) at the start of the run: {load}; the machine is shared with other jobs;",
        f"Python: {machine.python};",
        f"packages: {packages};",
        f"wrk: {machine.wrk};",
        f"turnout: commit {machine.commit}.",
    ]
    return ["## Machine and versions\n", *(bullet(item) for item in items), ""]


def _reproduce(command: str, quick: bool) -> list[str]:
    return [
        "## Reproduce\n",
        para("From a fresh clone (it installs the `bench` extra into `.venv`, and wrk with apt-get if it is missing):"),
        "```console",
        f"$ {command}",
        "```\n",
        bullet(
            "`./scripts/bench` is the full run (under 15 minutes); it writes this page (`--output PATH` "
            "writes elsewhere)."
        ),
        bullet(
            "`./scripts/bench --quick` is a smoke test in under 2 minutes: fewer and shorter rounds, a 64 MiB "
            "stream; it prints the page and writes nothing (unless `--output PATH` is given)."
        ),
        bullet(
            "`--only SCENARIO` (repeatable) runs one part and prints it: "
            + ", ".join(f"`{s}`" for s in SCENARIOS)
            + "."
        ),
        bullet("When something fails, the servers' logs are kept in a temporary directory that the run names."),
        "" if not quick else "\nThese figures come from `--quick`: a smoke test, not a result.",
    ]


LEARNED = """## What we learned, and what did not work

`docs/performance.md` holds the whole account, each change with its measurement. In short:

- The bridge hands a small legacy request to a thread once and back once; beyond that, its
  cost is the Python steps on its way, and a Flask call that runs about a quarter slower in a
  pool thread under load than in a loop of calls. With timings on this
  shared machine moving by 10% to 30% from one second to the next, changes were judged by what
  does not move: bytecodes per function per request, callgrind's instructions per request, and
  two servers sharing one core at once.
- What helped: one hand-off each way; a small response's status, headers and body in one
  system call, and a download's chunks in one `writev` per batch; no Python `Condition`,
  `Semaphore` or `asyncio.Event` per request; header names and the environ's fixed keys worked
  out once; the short way past Starlette's middleware to the bridge for legacy routes seen before.
- What did not: fewer threads, a shorter or longer switch interval, merging a download's
  chunks into one buffer, a leaner `send` for Uvicorn's cycle (Uvicorn's own loop over the
  headers is already about as short).
"""


def markdown(results: Results, machine: Machine, command: str) -> str:
    minutes = f"{results.seconds / 60:.1f} minutes" if results.seconds >= 60 else f"{results.seconds:.0f} s"
    out = [INTRO.format(command=command, minutes=minutes), HOW_TO_READ]
    found = targets(results)
    if found:
        out += [
            "## Targets\n",
            para(
                "Each ratio is the median of the per-round ratios, with their range in brackets; the verdict "
                "goes by the median."
            ),
            "| target | measured | goal | verdict |",
            "|---|---:|---|---|",
        ]
        out += [t.row() for t in found]
        out.append("")
    if results.failures:
        out.append("## Failures in this run\n")
        out += [bullet(failure) for failure in results.failures]
        out.append("")
    out += _rate_tables(results)
    out += _stream_table(results)
    out += _isolation_tables(results)
    out += _shadow_section(results)
    out += _routing_section(results)
    out += _machine_section(machine, results.load_at_end)
    out += _reproduce(command, results.settings.quick)
    out.append("")
    out.append(LEARNED)
    return "\n".join(out).rstrip() + "\n"
