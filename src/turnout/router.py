"""The router: matches a request through the shared `RouteTable` and hands it to the side that serves it.

Starlette's `Router` tries its routes one by one; `TableRouter` keeps its lifespan and
`url_path_for`, and replaces matching with one walk of the table's tree. A route that both sides
serve has a switch (`turnout.switch`): its state, read once per request, picks the side, and
under `shadow` the new side gets a copy of the request once the legacy side has answered.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.routing import Route, Router
from starlette.types import ASGIApp, Lifespan, Message, Receive, Scope, Send

from turnout._gc import freeze_startup
from turnout.bridge.governor import TARGET_LAG, Governor
from turnout.bridge.mount import WSGIMount
from turnout.lifespan import Lifespan as LifespanDriver
from turnout.middleware.edge import SERVED_BY
from turnout.middleware.record import ROUTE
from turnout.routing.imported import defined_at, mount_route_specs
from turnout.routing.introspection import introspect_asgi
from turnout.routing.paths import BadPath, raw_route_path, split_path
from turnout.routing.pattern import parse_prefix, parse_starlette
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable, TableRoute
from turnout.routing.warnings import log_table_warnings
from turnout.switch.board import Switch, Switchboard
from turnout.switch.canary import cookie_header, in_canary
from turnout.switch.compare import ResponseCapture
from turnout.switch.shadow import RequestCopy, Shadows, snapshot
from turnout.switch.shared import STATES_ENV, SharedStates

logger = logging.getLogger("turnout")

POOL_DRAIN = 1.0
SEEN_PATHS = 10_000


class NativeRoute:
    """A new endpoint registered with `Turnout.route`, served through Starlette's `Route`."""

    def __init__(self, route: Route, served_by_header: bool, *, own: bool = False) -> None:
        self.route = route
        self.own = own  # one of turnout's own endpoints (metrics, admin API): it never pairs with a legacy route
        self.app = route.app
        self.header = (b"x-served-by", f"asgi:{route.name}".encode("latin-1")) if served_by_header else None


class ASGIMount:
    """A new ASGI app mounted under a prefix with `Turnout.mount_asgi`.

    The routes of a Starlette or FastAPI app are imported into the table, so they take their
    place by precedence, and the methods they serve are theirs on a pattern both sides have. They
    all dispatch to the app. Its prefix still takes every method: a method its route refuses, a
    path none of its routes takes, reach the app, which answers as it would alone (its own 405 and
    `Allow`, or a middleware's answer, such as `CORSMiddleware`'s to a preflight `OPTIONS`).
    """

    def __init__(self, prefix: str, app: ASGIApp, *, name: str, defined_at: str | None, served_by_header: bool):
        self.pattern = parse_prefix(prefix)
        self.prefix = "/" + "/".join(s for s in self.pattern.segments if isinstance(s, str))
        self.app = app
        self.name = name
        self.defined_at = defined_at
        self.header = (b"x-served-by", f"asgi:{name}".encode("latin-1")) if served_by_header else None
        # A Turnout app's routes are not all in its `routes` (its WSGI mounts are not): it stays opaque.
        self.source = None if isinstance(getattr(app, "router", None), TableRouter) else introspect_asgi(app)

    def route_specs(self) -> list[RouteSpec]:
        """The mount's prefix, and every route imported from its app.

        The prefix takes every method: a method the app refuses still reaches the app, so its 405
        is the app's own (and CORS preflights keep working).
        """
        return mount_route_specs(
            side="asgi",
            name=self.name,
            prefix=self.pattern,
            prefix_text=self.prefix,
            target=self,
            defined_at=self.defined_at,
            source=self.source,
            any_method=True,
        )


class TableRouter(Router):
    """Starlette's `Router`, matching through the shared `RouteTable` instead of trying routes in turn."""

    def __init__(
        self,
        *,
        lifespan: Lifespan[Any] | None,
        served_by_header: bool,
        shutdown_grace: float,
        gc_freeze: bool = True,
    ) -> None:
        super().__init__(routes=[], redirect_slashes=False, lifespan=None)
        self.gc_freeze = gc_freeze
        self._user_lifespan = lifespan
        self.lifespan_context = self._lifespan  # type: ignore[assignment]
        self.served_by_header = served_by_header
        self.shutdown_grace = shutdown_grace
        self.wsgi_mounts: list[WSGIMount] = []
        self.asgi_mounts: list[ASGIMount] = []
        self.native: list[NativeRoute] = []
        self._table: RouteTable | None = None
        # Requests served by the new side: the governor throttles a mount only to make room for
        # others (these, and other mounts' requests, which their gates count).
        self.served = 0
        # Paths seen before, by method and raw path: most traffic repeats a small set of paths.
        self._seen: dict[tuple[str, str], tuple[Found, list[str]]] = {}
        # Whether a seen path may take the edge's short way, by method and raw path bytes.
        self._direct: dict[tuple[str, bytes], _Direct | Literal[False]] = {}
        self.switches = Switchboard()
        self._governor: Governor | None = None
        self.shadows = Shadows(self.switches, lagging=self._lagging)

    def _lagging(self) -> bool:
        governor = self._governor
        return governor is not None and governor.lag > TARGET_LAG

    # -- the table --------------------------------------------------------------------------

    @property
    def table(self) -> RouteTable:
        if self._table is None:
            specs: list[RouteSpec] = []
            for mount in self.wsgi_mounts:
                specs.extend(mount.route_specs())
            for asgi_mount in self.asgi_mounts:
                specs.extend(asgi_mount.route_specs())
            for native in self.native:
                route = native.route
                entry = RouteEntry(
                    pattern=route.path,
                    methods=frozenset(route.methods) if route.methods else None,
                    side="asgi",
                    owner=None,
                    endpoint=route.name,
                    defined_at=defined_at(route.endpoint),
                )
                specs.append(RouteSpec(entry, parse_starlette(route.path), native, pairs=not native.own))
            table = RouteTable(specs)
            self.switches.bind(table)  # a switch declared for a route that is not a pair fails here
            self._table = table
        return self._table

    def invalidate(self) -> None:
        self._table = None
        self._seen = {}
        self._direct = {}

    # -- lifespan ---------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def _lifespan(self, app: Any) -> AsyncIterator[Mapping[str, Any] | None]:
        self.invalidate()
        table = self.table  # a duplicate route fails start-up here
        log_table_warnings(table)  # routes that take legacy URLs, probably by mistake: logger turnout.routing
        logger.debug("routing table:\n%s", table.format())
        async with contextlib.AsyncExitStack() as stack:
            for asgi_mount in self.asgi_mounts:
                await stack.enter_async_context(LifespanDriver(asgi_mount.app))
            gates = [mount.gateway.gate for mount in self.wsgi_mounts]
            self._governor = await stack.enter_async_context(Governor(gates, served=lambda: self.served))
            stack.push_async_callback(self.shadows.aclose)
            shared = os.environ.get(STATES_ENV)
            if shared and len(self.switches):
                await stack.enter_async_context(SharedStates(self.switches, shared))
            for mount in self.wsgi_mounts:
                # The server has already given in-flight requests the grace period before the
                # lifespan ends: what still runs now is stuck, and its threads are daemons.
                stack.push_async_callback(mount.shutdown, min(self.shutdown_grace, POOL_DRAIN))
            state = None
            if self._user_lifespan is not None:
                state = await stack.enter_async_context(self._user_lifespan(app))
            if self.gc_freeze:
                freeze_startup()  # everything start-up made, the user's lifespan included
            yield state

    # -- dispatch ---------------------------------------------------------------------------

    def direct(self, scope: Scope) -> tuple[WSGIMount, str] | None:
        """The mount and raw path of an HTTP request to a legacy-only route seen before, else `None`.

        For the edge's short way to the bridge (see `EdgeMiddleware`): only paths the router has
        matched before qualify, and the answer for each is remembered by the raw bytes of the
        path, so that this costs every request, of either side, one dictionary look-up. A
        request it turns down goes the whole way, through `app`, which matches (and remembers) it.
        """
        raw_bytes = scope.get("raw_path")
        if raw_bytes is None or scope.get("root_path"):
            return None
        key = (scope["method"], raw_bytes)
        known = self._direct.get(key)
        if known is None:
            known = self._decide_direct(scope, key)
        if known is False:
            return None
        mount, raw, entry = known
        scope["router"] = self
        scope[ROUTE] = entry
        return mount, raw

    def _decide_direct(self, scope: Scope, key: tuple[str, bytes]) -> _Direct | Literal[False]:
        raw = raw_route_path(scope)
        seen = self._seen.get((key[0], raw))
        if seen is None:
            return False  # not matched yet: not remembered, so that it qualifies once it is
        route = seen[0].route
        target = route.target
        decision: _Direct | Literal[False] = False
        if type(target) is WSGIMount and route.switch is None:
            decision = (target, raw, route.entry)
        if len(self._direct) >= SEEN_PATHS:
            self._direct = {}
        self._direct[key] = decision
        return decision

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        raw = raw_route_path(scope)
        method = scope["method"] if kind == "http" else "GET"
        result: Found | NotAllowed | None
        seen = self._seen.get((method, raw))
        if seen is not None:
            result, segments = seen
        else:
            try:
                segments = split_path(raw)
            except BadPath as exc:
                if kind == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                raise HTTPException(400, str(exc)) from None
            result = self.table.match(method, segments)
            if type(result) is Found:
                if len(self._seen) >= SEEN_PATHS:
                    self._seen = {}  # bounded: a client sending endless new paths only empties it
                self._seen[method, raw] = (result, segments)
        if type(result) is Found:
            route = result.route
            if route.switch is not None and kind == "http":
                partner = route.partner(method)
                if partner is not None:
                    await self._switched(route.switch, result, partner, scope, receive, send, raw, segments)
                    return
            await self._serve(route, result.params, scope, receive, send, raw, segments)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        if result is None:
            raise HTTPException(404)
        assert type(result) is NotAllowed
        raise HTTPException(405, headers={"Allow": ", ".join(result.allow)})

    async def _serve(
        self,
        route: TableRoute,
        params: dict[str, Any],
        scope: Scope,
        receive: Receive,
        send: Send,
        raw: str,
        segments: list[str],
        *,
        counted: bool = True,
    ) -> None:
        scope[ROUTE] = route.entry
        target = route.target
        if type(target) is WSGIMount:
            await target.handle(scope, receive, send, raw)
            return
        if counted:
            self.served += 1
        if type(target) is NativeRoute:
            if scope["type"] == "websocket":  # native routes are HTTP only; websockets go to ASGI mounts
                await send({"type": "websocket.close", "code": 1000})
                return
            scope["path_params"] = dict(params)
            scope["endpoint"] = target.route.endpoint
            scope["route"] = target.route
            if target.header is not None:
                scope[SERVED_BY] = target.header
            await target.app(scope, receive, send)
        else:
            await self._to_asgi_mount(target, scope, receive, send, segments)

    async def _switched(
        self,
        switch: Switch,
        found: Found,
        partner: TableRoute,
        scope: Scope,
        receive: Receive,
        send: Send,
        raw: str,
        segments: list[str],
    ) -> None:
        """Serve a request on a route both sides have, from the side its switch picks."""
        setting = switch.setting  # read once: the request stays on this side whatever changes meanwhile
        state = setting.state
        new_side = state == "new"
        if state == "canary":
            user, fresh = switch.options.sticky.user(scope)
            new_side = in_canary(user, setting.percent)
            if fresh is not None:
                send = _adding_header(send, cookie_header(fresh, scope))
        capture: ResponseCapture | None = None
        request: RequestCopy | None = None
        before: Scope = scope
        shadows = self.shadows
        if state == "shadow" and shadows.wanted(switch, scope["method"]) and shadows.admit(switch):
            capture = ResponseCapture(shadows.capture_limit)
            request = RequestCopy(scope, shadows.body_limit)
            receive = request.tee(receive)
            before = snapshot(scope)  # the session and state as the request brought them
        status = 500  # what the client gets if the side fails before it answers

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            if capture is not None:
                capture.message(message)
            await send(message)

        side: Side = "new" if new_side else "legacy"
        switch.served[side] += 1
        route = found.route if new_side else partner
        params = found.params if new_side else {}
        started = time.perf_counter()
        try:
            await self._serve(route, params, scope, receive, observed, raw, segments)
        except BaseException:
            if capture is not None:
                shadows.release(switch)  # the place `admit` took
            raise
        finally:
            self.switches.record(switch, side, status, time.perf_counter() - started)
        if capture is not None and request is not None:
            if not capture.complete:
                shadows.release(switch)
                return
            shadows.submit(
                switch,
                before,
                request,
                capture.result(),
                new=self._server_of(found.route, found.params, raw, segments),
                legacy=self._server_of(partner, {}, raw, segments) if _has_free_thread(partner) else None,
            )

    def _server_of(self, route: TableRoute, params: dict[str, Any], raw: str, segments: list[str]) -> ASGIApp:
        async def serve(scope: Scope, receive: Receive, send: Send) -> None:
            # A shadow call is background work: the governor must not make room for it.
            await self._serve(route, params, scope, receive, send, raw, segments, counted=False)

        return serve

    async def _to_asgi_mount(
        self, mount: ASGIMount, scope: Scope, receive: Receive, send: Send, segments: list[str]
    ) -> None:
        root_path: str = scope.get("root_path", "")
        depth = len(mount.pattern.segments)
        matched = "/" + "/".join(segments[:depth]) if depth else ""
        child = dict(scope)
        child["app_root_path"] = scope.get("app_root_path", root_path)
        child["root_path"] = root_path + matched
        if not scope["path"].startswith(root_path):  # a server that leaves root_path out of path
            child["path"] = root_path + scope["path"]
        if mount.header is not None:
            scope[SERVED_BY] = mount.header
        await mount.app(child, receive, send)

    # -- reversing --------------------------------------------------------------------------

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        mount_name, _, endpoint = name.partition(":")
        if endpoint:
            for mount in self.wsgi_mounts:
                if mount.name == mount_name:
                    path = mount.url_path_for(endpoint, dict(path_params))
                    if path is not None:
                        return URLPath(path=path, protocol="http")
        return super().url_path_for(name, **path_params)


Side = Literal["legacy", "new"]
_Direct = tuple[WSGIMount, str, RouteEntry]


def _adding_header(send: Send, header: tuple[bytes, bytes]) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message["headers"] = [*message.get("headers", ()), header]
        await send(message)

    return sending


def _has_free_thread(route: TableRoute) -> bool:
    """Whether the legacy mount can take one more request without making anyone wait: for the noise sample."""
    target = route.target
    if type(target) is not WSGIMount:
        return False
    budget = target.budget
    return budget.admitted < budget.threads
