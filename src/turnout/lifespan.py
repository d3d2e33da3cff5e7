"""Drive the ASGI lifespan protocol of an app from the outside.

Used for ASGI apps mounted with `mount_asgi` (Starlette never sends lifespan events to a
mounted app, so their start-up code would never run) and by `turnout.testing`.
"""

from __future__ import annotations

import asyncio
from types import TracebackType
from typing import Any

from starlette.types import ASGIApp, Message


class LifespanError(RuntimeError):
    """The app reported that its start-up or shutdown failed."""


class Lifespan:
    """`async with Lifespan(app):` runs the app's start-up on entry and its shutdown on exit.

    An app that does not support lifespan (it raises before it answers start-up) is let be, as
    the ASGI spec says a server should.
    """

    def __init__(self, app: ASGIApp, *, state: dict[str, Any] | None = None) -> None:
        self.app = app
        self.state: dict[str, Any] = {} if state is None else state
        self._to_app: asyncio.Queue[Message] = asyncio.Queue()
        self._from_app: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task[None] | None = None
        self.supported = True

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}, "state": self.state}
        try:
            await self.app(scope, self._to_app.get, self._from_app.put)
        except BaseException as exc:
            await self._from_app.put({"type": "turnout.lifespan.raised", "error": exc})
            raise

    async def _step(self, message: str, done: str) -> None:
        await self._to_app.put({"type": message})
        reply = await self._from_app.get()
        if reply["type"] == "turnout.lifespan.raised":
            if message == "lifespan.startup":
                self.supported = False
                return
            raise LifespanError(f"the app raised during shutdown: {reply['error']!r}") from reply["error"]
        if reply["type"] != done:
            raise LifespanError(f"{message} failed: {reply.get('message', '')}".rstrip())

    async def __aenter__(self) -> Lifespan:
        self._task = asyncio.create_task(self._run())
        await self._step("lifespan.startup", "lifespan.startup.complete")
        if not self.supported:
            await asyncio.gather(self._task, return_exceptions=True)
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._task is not None
        if not self.supported:
            return
        try:
            await self._step("lifespan.shutdown", "lifespan.shutdown.complete")
        finally:
            await asyncio.gather(self._task, return_exceptions=True)
