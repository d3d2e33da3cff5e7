"""The servers under test: how each is started, pinned to core 0, waited for, and always stopped.

Every server runs one worker process, started through `taskset -c 0` in a session of its own,
so that stopping it is one signal to its process group (a master and its worker alike), and a
Ctrl-C in the terminal reaches the suite, which stops them, rather than the servers directly.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SERVER_CORE = 0
CLIENT_CORE = 1
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

_UVICORN = ("--loop", "uvloop", "--no-access-log", "--log-level", "warning", "--host", "127.0.0.1", "--port", "{port}")
_GRANIAN = ("--workers", "1", "--log-level", "warning", "--host", "127.0.0.1", "--port", "{port}")
_GUNICORN = ("--workers", "1", "--bind", "127.0.0.1:{port}", "--log-level", "warning")


@dataclass(frozen=True)
class ServerSpec:
    """A server under test: `argv` (`{port}` is filled in) and a path that answers 200 once it is up."""

    key: str
    label: str
    argv: tuple[str, ...]
    health: str
    env: dict[str, str] = field(default_factory=dict)


def _bin(name: str) -> str:
    return str(Path(sys.executable).parent / name)


def _uvicorn(app: str, *extra: str) -> tuple[str, ...]:
    return (_bin("uvicorn"), f"benchsuite.apps:{app}", *extra, *_UVICORN)


TURNOUT = ServerSpec(
    "turnout",
    "turnout (Uvicorn, httptools, uvloop)",
    # As `turnout serve` runs it: turnout's protocol (a header-read deadline), proxy headers left to the app.
    _uvicorn("turnout_app", "--http", "turnout.server:HttpToolsProtocol", "--no-proxy-headers"),
    "/hello",
)
STARLETTE_UVICORN = ServerSpec(
    "starlette-uvicorn",
    "Starlette on Uvicorn (httptools, uvloop)",
    _uvicorn("starlette_app", "--http", "httptools"),
    "/new/hello",
)
STARLETTE_GRANIAN = ServerSpec(
    "starlette-granian",
    "Starlette on Granian ASGI",
    (_bin("granian"), "--interface", "asgi", *_GRANIAN, "benchsuite.apps:starlette_app"),
    "/new/hello",
)
FLASK_GRANIAN = ServerSpec(
    "flask-granian",
    "Flask on Granian WSGI",
    (_bin("granian"), "--interface", "wsgi", *_GRANIAN, "benchsuite.apps:flask_app"),
    "/hello",
)
FLASK_GTHREAD = ServerSpec(
    "flask-gthread",
    "Flask on gunicorn gthread (8 threads)",
    (_bin("gunicorn"), "--worker-class", "gthread", "--threads", "8", *_GUNICORN, "benchsuite.apps:flask_app"),
    "/hello",
)
FLASK_SYNC = ServerSpec(
    "flask-sync",
    "Flask on gunicorn sync",
    (_bin("gunicorn"), "--worker-class", "sync", *_GUNICORN, "benchsuite.apps:flask_app"),
    "/hello",
)
FLASK_A2WSGI = ServerSpec(
    "flask-a2wsgi",
    "Flask in plain a2wsgi on Uvicorn",
    _uvicorn("a2wsgi_app", "--http", "httptools"),
    "/hello",
)
FLASK_UVICORN_WSGI = ServerSpec(
    "flask-uvicorn-wsgi",
    "Flask on `uvicorn --interface wsgi`",
    _uvicorn("flask_app", "--interface", "wsgi", "--http", "httptools"),
    "/hello",
)
FLASK_HYPERCORN = ServerSpec(
    "flask-hypercorn",
    "Flask on Hypercorn WSGI",
    (_bin("hypercorn"), "--workers", "1", "--bind", "127.0.0.1:{port}", "benchsuite.apps:flask_app"),
    "/hello",
)
TURNOUT_ISOLATION = ServerSpec(
    "turnout",
    "turnout",
    _uvicorn("turnout_isolation", "--http", "turnout.server:HttpToolsProtocol", "--no-proxy-headers"),
    "/native",
)
A2WSGI_ISOLATION = ServerSpec(
    "a2wsgi",
    "plain a2wsgi",
    _uvicorn("a2wsgi_isolation", "--http", "httptools"),
    "/native",
)

_TURNOUT_HTTP = ("--http", "turnout.server:HttpToolsProtocol", "--no-proxy-headers")
SHADOW_OFF = ServerSpec(
    "shadow-off", "shadow off (switch at `legacy`)", _uvicorn("turnout_shadow_off", *_TURNOUT_HTTP), "/hello"
)
SHADOW_SLOW = ServerSpec(
    "shadow-slow",
    "shadow on, slow new side (200 ms)",
    _uvicorn("turnout_shadow_slow", *_TURNOUT_HTTP),
    "/hello",
)
SHADOW_CRASH = ServerSpec(
    "shadow-crash",
    "shadow on, crashing new side",
    _uvicorn("turnout_shadow_crash", *_TURNOUT_HTTP),
    "/hello",
)

LEGACY = (TURNOUT, FLASK_A2WSGI, FLASK_GTHREAD, FLASK_GRANIAN, FLASK_SYNC, FLASK_UVICORN_WSGI, FLASK_HYPERCORN)
NEW = (TURNOUT, STARLETTE_UVICORN, STARLETTE_GRANIAN)
ISOLATION = (TURNOUT_ISOLATION, A2WSGI_ISOLATION)
SHADOW = (SHADOW_OFF, SHADOW_SLOW, SHADOW_CRASH)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_environment() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SCRIPT_NAME", None)  # a2wsgi would take it for every mount's prefix
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT / "scripts"), env.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class ServerFailed(RuntimeError):
    """A server did not come up; the message has the end of its log."""


class RunningServer:
    """One started server: its port, its process group (its own session), and its log."""

    def __init__(self, spec: ServerSpec, logs: Path) -> None:
        self.spec = spec
        self.port = free_port()
        self.log_path = logs / f"{spec.key}.log"
        argv = [arg.replace("{port}", str(self.port)) for arg in spec.argv]
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                ["taskset", "-c", str(SERVER_CORE), *argv],
                cwd=ROOT,
                env={**server_environment(), **spec.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def wait_ready(self, timeout: float = START_TIMEOUT) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ServerFailed(
                    f"{self.spec.label} exited with status {self.process.returncode}:\n{self.log_tail()}"
                )
            try:
                with urllib.request.urlopen(self.url(self.spec.health), timeout=2) as response:
                    if response.status == 200:
                        return
            except (OSError, urllib.error.URLError):
                pass
            time.sleep(0.1)
        raise ServerFailed(
            f"{self.spec.label} did not answer {self.spec.health} within {timeout:.0f} s:\n{self.log_tail()}"
        )

    def pids(self) -> list[int]:
        """The processes of the server's session: the leader (taskset became the server) and its children."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == self.process.pid:  # the session id is the 6th field, the 4th after ")"
                found.append(int(entry.name))
        return sorted(found)

    def cpu_seconds(self) -> float:
        """User and system CPU time used so far by the server's processes (those alive now)."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime and stime, the 14th and 15th fields
        return total / CLOCK_TICKS

    def signal(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)

    def stopped(self) -> bool:
        return self.process.poll() is not None and not self.pids()


def stop_all(started: Sequence[RunningServer]) -> None:
    """SIGTERM to every server's process group, then SIGKILL to what is left after `STOP_TIMEOUT`."""
    for server in started:
        server.signal(signal.SIGTERM)
    for sig in (signal.SIGKILL, None):
        deadline = time.monotonic() + STOP_TIMEOUT
        for server in started:
            with contextlib.suppress(subprocess.TimeoutExpired):
                server.process.wait(max(0.0, deadline - time.monotonic()))
        left = [server for server in started if not server.stopped()]
        if not left or sig is None:
            return
        for server in left:  # a master that is gone may leave its workers in the group
            server.signal(sig)


@contextlib.contextmanager
def running(specs: Sequence[ServerSpec], logs: Path) -> Iterator[dict[str, RunningServer]]:
    """Start `specs` together, wait for each, and stop them all on the way out, whatever happened."""
    started: dict[str, RunningServer] = {}
    try:
        for spec in specs:
            if spec.key not in started:
                started[spec.key] = RunningServer(spec, logs)
        for server in started.values():
            server.wait_ready()
        yield started
    finally:
        stop_all(list(started.values()))
