"""A legacy WSGI app mounted under a prefix: its pool, its routes and how a request reaches it."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.types import Receive, Scope, Send

from turnout._types import WSGIApp
from turnout.bridge.options import DEFAULT_THREADS, LegacyLimits
from turnout.bridge.responder import Exchange, Headers, LegacyGateway
from turnout.routing.imported import mount_route_specs
from turnout.routing.introspection import introspect
from turnout.routing.pattern import parse_prefix
from turnout.routing.table import RouteSpec

logger = logging.getLogger("turnout.bridge")

__all__ = ["DEFAULT_THREADS", "LegacyLimits", "WSGIMount"]


class WSGIMount:
    """A legacy WSGI app under `prefix`, served by its own pool of threads within its `limits`.

    Created by `Turnout.mount_wsgi`.
    """

    def __init__(
        self,
        prefix: str,
        app: WSGIApp,
        *,
        name: str,
        limits: LegacyLimits | None = None,
        defined_at: str | None = None,
        served_by_header: bool = True,
    ) -> None:
        assert callable(app), "a WSGI app must be callable"
        self.pattern = parse_prefix(prefix)
        self.prefix = "/" + "/".join(s for s in self.pattern.segments if isinstance(s, str))
        self.depth = len(self.pattern.segments)
        self.app = app
        self.name = name
        self.limits = limits or LegacyLimits()
        self.defined_at = defined_at
        self.gateway = LegacyGateway(
            app, name=name, limits=self.limits, served_by=f"wsgi:{name}" if served_by_header else None
        )
        self.pool = self.gateway.pool
        self.budget = self.gateway.budget
        self.source = introspect(app)

    @property
    def script_name(self) -> str:
        return "" if self.prefix == "/" else self.prefix

    def route_specs(self) -> list[RouteSpec]:
        """The mount's prefix, and every route imported from its app."""
        # An app whose routes are unknown, or depend on the host, takes every method under its prefix.
        return mount_route_specs(
            side="wsgi",
            name=self.name,
            prefix=self.pattern,
            prefix_text=self.prefix,
            target=self,
            defined_at=self.defined_at,
            source=self.source,
            any_method=self.source is None or self.source.takes_every_method,
        )

    def url_path_for(self, endpoint: str, params: dict[str, Any]) -> str | None:
        """The path of a legacy `endpoint`, prefix included, or `None` if the app has no such endpoint."""
        if self.source is None:
            return None
        return self.source.build(endpoint, params, self.script_name)

    async def handle(self, scope: Scope, receive: Receive, send: Send, raw_path: str) -> None:
        """Serve one request whose raw path (without `root_path`) is under this mount."""
        if scope["type"] != "http":
            await send({"type": "websocket.close", "code": 1000})
            return
        await self.exchange(scope, receive, send, raw_path).run()

    def exchange(self, scope: Scope, receive: Receive, send: Send, raw_path: str, headers: Headers = ()) -> Exchange:
        """The exchange that serves one HTTP request under this mount, once it is run.

        `headers` go on every response it sends (the edge's, when it calls the mount directly).
        """
        if self.depth:
            cut = 0
            for _ in range(self.depth):
                cut = raw_path.find("/", cut + 1)
                if cut == -1:
                    cut = len(raw_path)
                    break
            script_name, path_info = raw_path[:cut], raw_path[cut:]
        else:
            script_name, path_info = "", raw_path
        return Exchange(self.gateway, scope, receive, send, script_name, path_info, headers)

    async def shutdown(self, grace: float) -> None:
        """Stop the pool's threads, waiting up to `grace` seconds for requests still running."""
        stuck = await asyncio.to_thread(self.pool.shutdown, grace)
        if stuck:
            logger.warning("mount %r: %d legacy thread(s) still running at shutdown: %s", self.name, len(stuck), stuck)
