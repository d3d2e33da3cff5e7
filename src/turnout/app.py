"""`Turnout`: the Starlette application that puts both sides behind one routing table."""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Mount, NoMatchFound, Route, Router
from starlette.types import ASGIApp, ExceptionHandler, Lifespan, Receive, Scope, Send

from turnout._types import WSGIApp
from turnout.bridge.governor import Governor
from turnout.bridge.mount import LegacyLimits, WSGIMount
from turnout.errors import ErrorRenderer, http_exception_handler, server_error_handler
from turnout.lifespan import Lifespan as LifespanDriver
from turnout.metrics import Metrics
from turnout.middleware.access_log import AccessLog
from turnout.middleware.edge import SERVED_BY, EdgeMiddleware
from turnout.middleware.proxy_headers import DEFAULT_TRUSTED
from turnout.middleware.record import ROUTE
from turnout.routing.imported import defined_at, mount_route_specs
from turnout.routing.introspection import introspect_asgi
from turnout.routing.paths import BadPath, raw_route_path, split_path
from turnout.routing.pattern import parse_prefix, parse_starlette
from turnout.routing.table import Found, NotAllowed, RouteEntry, RouteSpec, RouteTable
from turnout.routing.warnings import log_table_warnings

logger = logging.getLogger("turnout")

F = TypeVar("F", bound=Callable[..., Any])
SHUTDOWN_GRACE = 30.0
POOL_DRAIN = 1.0
SEEN_PATHS = 10_000


class NativeRoute:
    """A new endpoint registered with `Turnout.route`, served through Starlette's `Route`."""

    def __init__(self, route: Route, served_by_header: bool) -> None:
        self.route = route
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
        self.source = None if isinstance(app, Turnout) else introspect_asgi(app)

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


def _caller() -> str | None:
    """`file:line` of the user's code that called into turnout."""
    frame = inspect.currentframe()
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename != __file__ and "contextlib" not in filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None  # pragma: no cover


class TableRouter(Router):
    """Starlette's `Router`, matching through the shared `RouteTable` instead of trying routes in turn."""

    def __init__(self, *, lifespan: Lifespan[Any] | None, served_by_header: bool, shutdown_grace: float) -> None:
        super().__init__(routes=[], redirect_slashes=False, lifespan=None)
        self._user_lifespan = lifespan
        self.lifespan_context = self._lifespan  # type: ignore[assignment]
        self.served_by_header = served_by_header
        self.shutdown_grace = shutdown_grace
        self.wsgi_mounts: list[WSGIMount] = []
        self.asgi_mounts: list[ASGIMount] = []
        self.native: list[NativeRoute] = []
        self._table: RouteTable | None = None
        self.served = 0  # requests routed, both sides: the governor throttles a mount only to make room for others
        # Paths seen before, by method and raw path: most traffic repeats a small set of paths.
        self._seen: dict[tuple[str, str], tuple[Found, list[str]]] = {}

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
                specs.append(RouteSpec(entry, parse_starlette(route.path), native))
            self._table = RouteTable(specs)
        return self._table

    def invalidate(self) -> None:
        self._table = None
        self._seen = {}

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
            await stack.enter_async_context(Governor(gates, served=lambda: self.served))
            for mount in self.wsgi_mounts:
                # The server has already given in-flight requests the grace period before the
                # lifespan ends: what still runs now is stuck, and its threads are daemons.
                stack.push_async_callback(mount.shutdown, min(self.shutdown_grace, POOL_DRAIN))
            if self._user_lifespan is not None:
                state = await stack.enter_async_context(self._user_lifespan(app))
                yield state
            else:
                yield None

    # -- dispatch ---------------------------------------------------------------------------

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self.lifespan(scope, receive, send)
            return
        if "router" not in scope:
            scope["router"] = self
        self.served += 1
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
            scope[ROUTE] = result.route.entry
            target = result.route.target
            if type(target) is WSGIMount:
                await target.handle(scope, receive, send, raw)
            elif type(target) is NativeRoute:
                if kind == "websocket":  # native routes are HTTP only; websockets go to ASGI mounts
                    await send({"type": "websocket.close", "code": 1000})
                    return
                scope["path_params"] = dict(result.params)
                scope["endpoint"] = target.route.endpoint
                scope["route"] = target.route
                if target.header is not None:
                    scope[SERVED_BY] = target.header
                await target.app(scope, receive, send)
            else:
                await self._to_asgi_mount(target, scope, receive, send, segments)
            return
        if kind == "websocket":
            await send({"type": "websocket.close", "code": 1000})
            return
        if result is None:
            raise HTTPException(404)
        assert type(result) is NotAllowed
        raise HTTPException(405, headers={"Allow": ", ".join(result.allow)})

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


class Turnout(Starlette):
    """A Starlette application that serves legacy WSGI apps and new async endpoints behind one routing table.

    ```python
    app = Turnout()
    app.mount_wsgi("/shop", flask_app, name="shop", threads=16)
    app.mount_asgi("/api", fastapi_app, name="api")

    @app.route("/shop/products/{id:int}", methods=["GET"], name="product_v2")
    async def product(request): ...
    ```
    The most specific route wins, whatever the order of registration; on an exact tie the new
    side wins and the legacy route is marked `replaced` in `app.table`.

    Options (keyword-only), beside Starlette's own:
    - `served_by_header`: add `X-Served-By` to responses (on);
    - `shutdown_grace`: seconds in-flight requests get at shutdown (30);
    - `trusted_proxies`: peers whose `X-Forwarded-*` headers count (loopback);
    - `error_renderer`: `renderer(scope, status, detail, headers) -> Response` for turnout's errors;
    - `access_log`: `"text"` or `"json"` for one line per request on the logger `turnout.access` (off);
    - `metrics_path`, `metrics_token`, `metrics_allow`: a Prometheus endpoint (off; see `turnout.metrics`).
    """

    router: TableRouter

    def __init__(
        self,
        debug: bool = False,
        routes: Sequence[BaseRoute] | None = None,
        middleware: Sequence[Middleware] | None = None,
        exception_handlers: Mapping[Any, ExceptionHandler] | None = None,
        lifespan: Lifespan[Any] | None = None,
        *,
        served_by_header: bool = True,
        shutdown_grace: float = SHUTDOWN_GRACE,
        trusted_proxies: Sequence[str] = DEFAULT_TRUSTED,
        error_renderer: ErrorRenderer | None = None,
        access_log: str | None = None,
        metrics_path: str | None = None,
        metrics_token: str | None = None,
        metrics_allow: Sequence[str] = DEFAULT_TRUSTED,
        max_body_size: int | None = None,
    ) -> None:
        handlers: dict[Any, ExceptionHandler] = {HTTPException: http_exception_handler, 500: server_error_handler}
        handlers.update(exception_handlers or {})
        super().__init__(debug=debug, middleware=middleware, exception_handlers=handlers, max_body_size=max_body_size)
        self.router = TableRouter(lifespan=lifespan, served_by_header=served_by_header, shutdown_grace=shutdown_grace)
        self.served_by_header = served_by_header
        self.trusted_proxies = tuple(trusted_proxies)
        self.error_renderer = error_renderer
        self.access_log = AccessLog(access_log) if access_log else None
        self.metrics: Metrics | None = None
        if metrics_path is not None:
            self.metrics = Metrics(self.router.wsgi_mounts, token=metrics_token, allow=metrics_allow)
            self.add_route(metrics_path, self.metrics.endpoint, methods=["GET"], name="turnout_metrics")
        for route in routes or []:
            if isinstance(route, Route):
                self._add_native(route)
            elif isinstance(route, Mount) and route.name is not None:
                self.mount_asgi(route.path or "/", route.app, name=route.name)
            else:
                raise TypeError(f"Turnout(routes=...) takes Route and named Mount objects, not {route!r}")

    def build_middleware_stack(self) -> ASGIApp:
        # The edge comes first, so that every response has the request id, a 500 page included.
        observers = [o for o in (self.access_log, self.metrics) if o is not None]
        return EdgeMiddleware(
            super().build_middleware_stack(),
            trusted_proxies=self.trusted_proxies,
            observers=observers,
            max_body_size=self.max_body_size,
        )

    # -- registering ------------------------------------------------------------------------

    def _names(self) -> set[str]:
        router = self.router
        return {m.name for m in router.wsgi_mounts} | {m.name for m in router.asgi_mounts}

    def _check_name(self, name: str) -> None:
        if name in self._names():
            raise ValueError(f"a mount named {name!r} already exists; give each mount its own name")

    def mount_wsgi(
        self,
        prefix: str,
        app: WSGIApp,
        *,
        name: str | None = None,
        threads: int | None = None,
        queue: int | None = None,
        queue_timeout: float | None = None,
        timeout: float | None = None,
        max_body_size: int | None = None,
    ) -> WSGIMount:
        """Mount a legacy WSGI app under `prefix` (`"/"` for a catch-all), with its own pool of threads.

        Routes of an app with a Werkzeug `url_map` (Flask) are imported into the table; any
        other app is served as an opaque prefix. The limits default to `LegacyLimits()`:
        `threads=10`, `queue=64`, `queue_timeout=5.0`, `timeout=30.0`, `max_body_size=1 GiB`.
        """
        name = name or (prefix.strip("/").replace("/", "_") or "root")
        self._check_name(name)
        given = {
            "threads": threads,
            "queue": queue,
            "queue_timeout": queue_timeout,
            "timeout": timeout,
            "max_body_size": max_body_size,
        }
        limits = LegacyLimits(**{k: v for k, v in given.items() if v is not None})  # type: ignore[arg-type]
        mount = WSGIMount(
            prefix, app, name=name, limits=limits, defined_at=_caller(), served_by_header=self.served_by_header
        )
        self.router.wsgi_mounts.append(mount)
        self.router.invalidate()
        return mount

    def mount_asgi(self, prefix: str, app: ASGIApp, *, name: str | None = None) -> None:
        """Mount a new ASGI app (Starlette, FastAPI) under `prefix`; it gets lifespan events from turnout."""
        name = name or (prefix.strip("/").replace("/", "_") or "root")
        self._check_name(name)
        mount = ASGIMount(prefix, app, name=name, defined_at=_caller(), served_by_header=self.served_by_header)
        self.router.asgi_mounts.append(mount)
        # Starlette's Mount lets `url_path_for("api:child")` reach the app's own routes.
        self.router.routes.append(Mount(mount.prefix if mount.prefix != "/" else "", app=app, name=name))
        self.router.invalidate()

    def _add_native(self, route: Route) -> None:
        parse_starlette(route.path)  # a bad pattern fails here, where it was written
        self.router.native.append(NativeRoute(route, self.served_by_header))
        self.router.routes.append(route)
        self.router.invalidate()

    def add_route(
        self,
        path: str,
        route: Callable[..., Any],
        methods: list[str] | None = None,
        name: str | None = None,
        include_in_schema: bool = True,
    ) -> None:
        """Add a new native endpoint, `async def endpoint(request) -> Response`, as Starlette's `add_route` does."""
        self._add_native(Route(path, route, methods=methods, name=name, include_in_schema=include_in_schema))

    def route(
        self, path: str, methods: list[str] | None = None, name: str | None = None, include_in_schema: bool = True
    ) -> Callable[[F], F]:
        """Decorator form of `add_route`: `@app.route("/users/{id:int}", methods=["GET"])`."""

        def decorator(func: F) -> F:
            self.add_route(path, func, methods=methods, name=name, include_in_schema=include_in_schema)
            return func

        return decorator

    # -- reading ----------------------------------------------------------------------------

    @property
    def table(self) -> RouteTable:
        """The shared routing table: every route of both sides."""
        return self.router.table

    @property
    def wsgi_mounts(self) -> tuple[WSGIMount, ...]:
        return tuple(self.router.wsgi_mounts)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        """Reverse a URL on either side: `"shop:product"` for a legacy endpoint, a route's name for a new one."""
        return self.router.url_path_for(name, **path_params)

    @classmethod
    def from_config(cls, path: str | Path) -> Turnout:
        """Build the app that `turnout.toml` at `path` declares; a mistake raises `ConfigError`."""
        from turnout.config import build_app, load_config

        return build_app(load_config(path), cls)


__all__ = ["NoMatchFound", "Turnout"]
