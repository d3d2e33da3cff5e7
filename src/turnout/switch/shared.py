"""One set of switch states for every worker of `turnout serve --workers N`, through a file.

Each worker is its own process with its own switchboard, and an admin request reaches only one
of them. So `turnout serve` gives the workers a file (`$TURNOUT_SWITCH_STATES`): a worker writes
each change of state it makes (by a person, or a rollback it decided) there, and every worker
reads the file every `INTERVAL` seconds and takes the changes it has not seen yet.

Each route's entry carries the time of its change, and a write merges one route into what the
file holds, under an exclusive lock (`fcntl.flock`): two workers changing two routes at once
both land, and for one route the newer change wins. The file lives as long as the server: a
restart starts again from the states in `turnout.toml`. The figures (requests, mismatches) stay
per worker; only the states are shared.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import time
from pathlib import Path
from typing import Any

from turnout.switch.board import Change, Outcome, Switch, Switchboard
from turnout.switch.state import Setting

logger = logging.getLogger("turnout.switch")

STATES_ENV = "TURNOUT_SWITCH_STATES"
INTERVAL = 0.5


class SharedStates:
    """Keeps `board` in step with the other workers through the file at `path`. Run with `async with`."""

    def __init__(self, board: Switchboard, path: str | os.PathLike[str], *, interval: float = INTERVAL) -> None:
        self.board = board
        self.path = Path(path)
        self.interval = interval
        self._seen: dict[str, int] = {}  # route -> time (ns) of the newest change taken or written
        self._mtime = -1
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> SharedStates:
        self.poll()
        self.board.observers.append(self)
        self._task = asyncio.get_running_loop().create_task(self._run())
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.board.observers.remove(self)
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                self.poll()
            except Exception:  # pragma: no cover - a bad file must not stop the worker, only be logged
                logger.exception("could not read the shared switch states in %s", self.path)

    # -- the board tells us --------------------------------------------------------------------

    def changed(self, switch: Switch, change: Change) -> None:
        if change.remote:
            return  # it came from the file
        at = time.time_ns()
        self._seen[switch.name] = at
        entry = {
            "at": at,
            "setting": str(switch.setting),
            "who": change.who,
            "why": change.why,
            "automatic": change.automatic,
            "rolled_back": switch.rolled_back is not None,
        }
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self._read()
            data[switch.name] = entry
            temporary = self.path.with_suffix(f".{os.getpid()}.tmp")
            temporary.write_text(json.dumps(data))
            os.replace(temporary, self.path)

    def outcome(self, switch: Switch, outcome: Outcome) -> None:
        return None

    # -- we read the others' ------------------------------------------------------------------

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except ValueError:
            logger.warning("the shared switch states in %s are not JSON; starting them afresh", self.path)
            return {}
        return data if isinstance(data, dict) else {}

    def poll(self) -> None:
        """Take the changes other workers made since the last look."""
        try:
            mtime = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            return
        if mtime == self._mtime:
            return
        self._mtime = mtime
        for name, entry in self._read().items():
            with contextlib.suppress(KeyError, TypeError, ValueError):
                at = int(entry["at"])
                if at <= self._seen.get(name, 0):
                    continue
                self._seen[name] = at
                self.board.adopt(
                    name,
                    Setting.parse(entry["setting"]),
                    who=f"{entry['who']} (another worker)",
                    why=str(entry["why"]),
                    rolled_back=bool(entry["rolled_back"]),
                )
