"""`python -m benchsuite [--quick] [--only SCENARIO] [--output PATH]`: run the suite (see `scripts/bench`).

The full run writes docs/benchmarks.md (or `--output PATH`). `--quick` prints the page to
stdout and writes nothing unless `--output` is given; so does a run with `--only`, which
would otherwise replace the whole page with a part of it.
"""

from __future__ import annotations

import argparse
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
from pathlib import Path
from types import FrameType

from benchsuite import scenarios, servers
from benchsuite.load import Wrk
from benchsuite.report import Machine, markdown, targets
from benchsuite.scenarios import FULL, QUICK, SCENARIOS, Results, progress
from benchsuite.servers import CLIENT_CORE, ROOT, SERVER_CORE

DEFAULT_OUTPUT = ROOT / "docs" / "benchmarks.md"


def _interrupt(signum: int, frame: FrameType | None) -> None:
    # SIGTERM and SIGHUP unwind like Ctrl-C, so that every `finally` stops its servers.
    raise KeyboardInterrupt(f"signal {signum}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="scripts/bench", description="Benchmark turnout against its peers.")
    parser.add_argument("--quick", action="store_true", help="fewer, shorter rounds; print the tables (under 2 min)")
    parser.add_argument(
        "--only", action="append", choices=SCENARIOS, metavar="SCENARIO", help=f"run only SCENARIO: {SCENARIOS}"
    )
    parser.add_argument(
        "--output", type=Path, metavar="PATH", help=f"write the page to PATH (default: {DEFAULT_OUTPUT})"
    )
    return parser.parse_args(argv)


def check_machine() -> str | None:
    if shutil.which("wrk") is None:
        return "wrk is not installed (scripts/bench installs it: apt-get install -y wrk)"
    if shutil.which("taskset") is None:
        return "taskset is not installed (it is in util-linux)"
    cores = os.sched_getaffinity(0)
    if not {SERVER_CORE, CLIENT_CORE} <= cores:
        return f"the suite needs cores {SERVER_CORE} and {CLIENT_CORE}; this process may use {sorted(cores)}"
    return None


def run(args: argparse.Namespace, workdir: Path) -> Results:
    settings = QUICK if args.quick else FULL
    selected = tuple(args.only or SCENARIOS)
    results = Results(settings=settings, only=selected)
    for spec in (*servers.LEGACY, *servers.NEW):
        results.labels[spec.key] = spec.label
    wrk = Wrk(workdir)
    started = time.monotonic()
    if "routing" in selected:
        scenarios.run_routing(results, workdir)
    with_servers = [s for s in ("legacy", "new", "stream") if s in selected]
    if with_servers:
        specs: list[servers.ServerSpec] = []
        if "legacy" in selected or "stream" in selected:
            specs += servers.LEGACY
        if "new" in selected:
            specs += servers.NEW
        progress("starting " + ", ".join(dict.fromkeys(spec.key for spec in specs)))
        with servers.running(specs, workdir) as running:
            scenarios.run_rates(results, wrk, running, [s for s in ("legacy", "new") if s in selected])
            if "stream" in selected:
                scenarios.run_streams(results, running)
    if "isolation" in selected:
        scenarios.run_isolation(results, wrk, workdir)
    if "shadow" in selected:
        scenarios.run_shadow(results, wrk, workdir)
    results.seconds = time.monotonic() - started
    results.load_at_end = os.getloadavg()
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    problem = check_machine()
    if problem:
        print(f"bench: {problem}", file=sys.stderr)
        return 2
    # Ctrl-C too, even where SIGINT was ignored at start (a job started with `&` by a script).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    machine = Machine.now()  # before the pinning below, which `nproc` would count
    # This process, and the clients it starts, stay off the servers' core.
    os.sched_setaffinity(0, {CLIENT_CORE})
    command = shlex.join(["./scripts/bench", *(argv if argv is not None else sys.argv[1:])])
    workdir = Path(tempfile.mkdtemp(prefix="turnout-bench-"))
    try:
        results = run(args, workdir)
    except KeyboardInterrupt:
        print(f"bench: interrupted; every server was stopped; their logs are in {workdir}", file=sys.stderr)
        return 130
    except BaseException:
        print(f"bench: failed; the servers' logs are in {workdir}", file=sys.stderr)
        raise
    page = markdown(results, machine, command)
    output: Path | None = args.output
    if output is None and not args.quick and not args.only:
        output = DEFAULT_OUTPUT
    if output is None:
        print(page)
    else:
        output.write_text(page, encoding="utf-8")
        progress(f"wrote {output}")
    missed = [t for t in targets(results) if t.met is False]
    if results.failures:
        kept = f"; the servers' logs are in {workdir}"
    else:
        shutil.rmtree(workdir, ignore_errors=True)
        kept = ""
    progress(f"done in {results.seconds:.0f} s; {len(missed)} target(s) not met{kept}")
    for target in missed:
        progress(f"  not met: {target.what}: {target.measured:.2f}{target.unit} (goal {target.goal})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
