"""The clients, pinned to core 1: wrk for request rates, a streaming client, and the in-process loop.

wrk reports through a Lua `done` hook that prints one JSON line, so nothing depends on the
layout of its human-readable summary.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchsuite.servers import CLIENT_CORE, ROOT, SERVER_CORE, RunningServer, server_environment

MARK = "BENCHSUITE "
_DONE_HOOK = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "connect": %d, "read": %d, "write": %d, "status": %d, '
    .. '"timeout": %d, "p50_us": %d, "p99_us": %d}\\n',
    "MARK", summary.requests, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
""".replace("MARK", MARK)


@dataclass(frozen=True)
class WrkResult:
    requests: int
    seconds: float
    errors: int  # connect, read, write and timeout errors
    non_2xx: int  # wrk counts 4xx and 5xx responses as status errors
    p50: float  # seconds
    p99: float

    @property
    def rate(self) -> float:
        """Successful (2xx and 3xx) responses per second."""
        return max(0, self.requests - self.non_2xx) / self.seconds if self.seconds else 0.0


class Wrk:
    """wrk with one thread on the client core; `run` blocks, `start` returns a handle for background load."""

    def __init__(self, workdir: Path) -> None:
        self.hook = workdir / "done.lua"
        self.hook.write_text(_DONE_HOOK, encoding="utf-8")

    def argv(self, url: str, *, connections: int, seconds: int, timeout: float) -> list[str]:
        return [
            "taskset",
            "-c",
            str(CLIENT_CORE),
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            f"--timeout={max(1, round(timeout))}s",
            "-s",
            str(self.hook),
            url,
        ]

    def run(self, url: str, *, connections: int, seconds: int, timeout: float = 10.0) -> WrkResult:
        argv = self.argv(url, connections=connections, seconds=seconds, timeout=timeout)
        done = subprocess.run(argv, capture_output=True, text=True, timeout=seconds + timeout + 15, check=False)
        return parse_wrk(done.stdout, done.stderr)

    def start(self, url: str, *, connections: int, seconds: int, timeout: float = 30.0) -> BackgroundWrk:
        return BackgroundWrk(self.argv(url, connections=connections, seconds=seconds, timeout=timeout), seconds)


class BackgroundWrk:
    """A wrk run in the background (the load of the isolation scenario); `finish` waits for its result."""

    def __init__(self, argv: list[str], seconds: int) -> None:
        self.seconds = seconds
        self.process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def finish(self) -> WrkResult:
        try:
            stdout, stderr = self.process.communicate(timeout=self.seconds + 45)
        finally:
            self.stop()
        return parse_wrk(stdout, stderr)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def parse_wrk(stdout: str, stderr: str) -> WrkResult:
    for line in stdout.splitlines():
        if line.startswith(MARK):
            data: dict[str, int] = json.loads(line[len(MARK) :])
            return WrkResult(
                requests=data["requests"],
                seconds=data["duration_us"] / 1e6,
                errors=data["connect"] + data["read"] + data["write"] + data["timeout"],
                non_2xx=data["status"],
                p50=data["p50_us"] / 1e6,
                p99=data["p99_us"] / 1e6,
            )
    raise RuntimeError(f"wrk gave no result:\n{stdout}\n{stderr}")


# -- streaming --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Transfer:
    ok: bool
    nbytes: int
    seconds: float
    rss_growth: int  # bytes: the largest growth of one of the server's processes over its size before
    detail: str = ""

    @property
    def mib_per_s(self) -> float:
        return self.nbytes / self.seconds / 2**20 if self.ok and self.seconds else 0.0


def _status_kib(pid: int, field: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


class PeakMemory:
    """Peak RSS of each of a server's processes during a transfer, against its RSS before.

    The peak is the kernel's `VmHWM`, reset through `/proc/PID/clear_refs` before the transfer,
    and a poll of `VmRSS` every 10 ms besides (in case the reset is not allowed).
    """

    def __init__(self, server: RunningServer) -> None:
        self.pids = server.pids()
        self.before: dict[int, int] = {}
        self.peak: dict[int, int] = {}
        self._stop = threading.Event()
        self._poller = threading.Thread(target=self._poll, daemon=True)

    def __enter__(self) -> PeakMemory:
        for pid in self.pids:
            try:
                Path(f"/proc/{pid}/clear_refs").write_text("5")
            except OSError:
                pass
            self.before[pid] = _status_kib(pid, "VmRSS") or 0
            self.peak[pid] = self.before[pid]
        self._poller.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._poller.join()
        for pid in self.pids:
            self.peak[pid] = max(self.peak[pid], _status_kib(pid, "VmHWM") or 0)

    def _poll(self) -> None:
        while not self._stop.wait(0.01):
            for pid in self.pids:
                self.peak[pid] = max(self.peak[pid], _status_kib(pid, "VmRSS") or 0)

    @property
    def growth(self) -> int:
        return max((self.peak[pid] - self.before[pid] for pid in self.pids), default=0) * 1024


def transfer(server: RunningServer, direction: str, mib: int, *, deadline: float) -> Transfer:
    """Download or upload `mib` MiB through the server's legacy route, with the client on core 1."""
    argv = [
        "taskset",
        "-c",
        str(CLIENT_CORE),
        sys.executable,
        "-m",
        "benchsuite.stream_client",
        direction,
        str(server.port),
        str(mib),
        str(deadline),
    ]
    with PeakMemory(server) as memory:
        try:
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=deadline + 10, env=server_environment(), check=False
            )
        except subprocess.TimeoutExpired:
            return Transfer(False, 0, deadline, 0, "timed out")
    try:
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    except (IndexError, ValueError):
        return Transfer(False, 0, 0.0, memory.growth, (done.stderr.strip().splitlines() or ["no output"])[-1])
    return Transfer(result["ok"], result["bytes"], result["seconds"], memory.growth, result.get("detail", ""))


# -- in process -------------------------------------------------------------------------------


def in_process(paths: Sequence[str], seconds: float) -> dict[str, float]:
    """Calls per second of the Flask app with no server (`benchsuite.inprocess`, pinned to the server core)."""
    argv = ["taskset", "-c", str(SERVER_CORE), sys.executable, "-m", "benchsuite.inprocess", str(seconds), *paths]
    timeout = (seconds + 10) * len(paths) + 30
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, env=server_environment(), cwd=ROOT, check=True
    )
    rates: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return rates


def wait_until(check: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    """Call `check` until it gives `True` (then `True`) or `timeout` seconds pass (then `False`)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(interval)
    return False
