"""`Turnout`: the Starlette application that puts both sides behind one routing table."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from starlette.applications import Starlette
from starlette.datastructures import URLPath
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import BaseRoute, Mount, NoMatchFound, Route
from starlette.types import ASGIApp, ExceptionHandler, Lifespan

from turnout._types import WSGIApp
from turnout.bridge.mount import LegacyLimits, WSGIMount
from turnout.errors import ErrorRenderer, http_exception_handler, server_error_handler
from turnout.exceptions import ConfigError, SwitchError
from turnout.metrics import Metrics
from turnout.middleware.access_log import AccessLog
from turnout.middleware.edge import EdgeMiddleware
from turnout.middleware.proxy_headers import DEFAULT_TRUSTED
from turnout.router import ASGIMount, NativeRoute, TableRouter
from turnout.routing.pattern import parse_starlette
from turnout.routing.table import RouteTable
from turnout.switch.admin import MIN_TOKEN, Admin
from turnout.switch.board import Switchboard
from turnout.switch.canary import Sticky
from turnout.switch.health import Thresholds
from turnout.switch.options import NOISE_SAMPLE, SwitchOptions
from turnout.switch.shadow import MAX_IN_FLIGHT, MAX_PER_SECOND
from turnout.switch.shadow import TIMEOUT as SHADOW_TIMEOUT
from turnout.switch.state import Setting

logger = logging.getLogger("turnout")

F = TypeVar("F", bound=Callable[..., Any])
SHUTDOWN_GRACE = 30.0


def _caller() -> str | None:
    """`file:line` of the user's code that called into turnout."""
    frame = inspect.currentframe()
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename != __file__ and "contextlib" not in filename:
            return f"{filename}:{frame.f_lineno}"
        frame = frame.f_back
    return None  # pragma: no cover


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
    - `metrics_path`, `metrics_token`, `metrics_allow`: a Prometheus endpoint (off; see `turnout.metrics`);
    - `admin_path`, `admin_token`, `admin_allow`: the admin API of the switches (off; see `turnout.switch.admin`);
    - `shadow_max_in_flight`, `shadow_max_per_second`, `shadow_timeout`: how many shadow calls may run
      at once (16), start each second (100), and for how long (10 s);
    - `gc_freeze`: after the first start-up in a process, move every object alive into the
      generation the garbage collector never walks (`gc.freeze()`), so that its full passes stay
      short under load (on; see `turnout._gc`).
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
        admin_path: str | None = None,
        admin_token: str | None = None,
        admin_allow: Sequence[str] = DEFAULT_TRUSTED,
        shadow_max_in_flight: int = MAX_IN_FLIGHT,
        shadow_max_per_second: float = MAX_PER_SECOND,
        shadow_timeout: float = SHADOW_TIMEOUT,
        gc_freeze: bool = True,
    ) -> None:
        handlers: dict[Any, ExceptionHandler] = {HTTPException: http_exception_handler, 500: server_error_handler}
        handlers.update(exception_handlers or {})
        super().__init__(debug=debug, middleware=middleware, exception_handlers=handlers, max_body_size=max_body_size)
        self.router = TableRouter(
            lifespan=lifespan, served_by_header=served_by_header, shutdown_grace=shutdown_grace, gc_freeze=gc_freeze
        )
        self.served_by_header = served_by_header
        self.trusted_proxies = tuple(trusted_proxies)
        self.error_renderer = error_renderer
        self.access_log = AccessLog(access_log) if access_log else None
        self.metrics: Metrics | None = None
        if metrics_path is not None:
            self.metrics = Metrics(self.router.wsgi_mounts, token=metrics_token, allow=metrics_allow)
            self._add_own(metrics_path, self.metrics.endpoint, ["GET"], "turnout_metrics")
            self.metrics.watch(self.router.switches)
        shadows = self.router.shadows
        assert shadow_max_in_flight >= 1 and shadow_max_per_second > 0 and shadow_timeout > 0
        shadows.max_in_flight, shadows.timeout = shadow_max_in_flight, shadow_timeout
        shadows.max_per_second = shadows._tokens = shadow_max_per_second
        self.admin: Admin | None = None
        if admin_path is not None:
            self._enable_admin(admin_path, admin_token, admin_allow)
        for route in routes or []:
            if isinstance(route, Route):
                self._add_native(route)
            elif isinstance(route, Mount) and route.name is not None:
                self.mount_asgi(route.path or "/", route.app, name=route.name)
            else:
                raise TypeError(f"Turnout(routes=...) takes Route and named Mount objects, not {route!r}")

    def _enable_admin(self, path: str, token: str | None, allow: Iterable[str]) -> None:
        if not token or len(token) < MIN_TOKEN:
            raise ConfigError(
                f"the admin API needs a token of at least {MIN_TOKEN} characters",
                key="admin_token",
                fix='make one with: python -c "import secrets; print(secrets.token_urlsafe(32))"',
            )
        try:
            admin = self.admin = Admin(self.router.switches, token=token, allow=allow)
        except ValueError as exc:
            raise ConfigError(
                f"admin_allow: {exc}", key="admin_allow", fix='give addresses or networks: ["127.0.0.1", "10.0.0.0/8"]'
            ) from None
        base = path.rstrip("/")
        self._add_own(f"{base}/switches", admin.switches, ["GET"], "turnout_admin_switches")
        self._add_own(f"{base}/switches/{{route:path}}", admin.switch, ["GET", "PUT"], "turnout_admin_switch")
        self._add_own(f"{base}/history", admin.history, ["GET"], "turnout_admin_history")

    def build_middleware_stack(self) -> ASGIApp:
        # The edge comes first, so that every response has the request id, a 500 page included.
        observers = [o for o in (self.access_log, self.metrics) if o is not None]
        # The edge may take legacy requests straight to their mount only when nothing sits in
        # between that would act on them: no middleware of the user's, no app-wide body limit
        # (Starlette's counts chunked bodies in `receive`), and no debug traceback pages.
        plain = not self.user_middleware and self.max_body_size is None and not self.debug
        stack = super().build_middleware_stack()
        # The short way's 500 page comes from the handler Starlette gave its outermost layer.
        error_handler = stack.handler if isinstance(stack, ServerErrorMiddleware) else None
        return EdgeMiddleware(
            stack,
            trusted_proxies=self.trusted_proxies,
            observers=observers,
            max_body_size=self.max_body_size,
            direct=self.router.direct if plain else None,
            error_handler=error_handler,
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

    def _add_native(self, route: Route, *, own: bool = False) -> None:
        parse_starlette(route.path)  # a bad pattern fails here, where it was written
        self.router.native.append(NativeRoute(route, self.served_by_header, own=own))
        self.router.routes.append(route)
        self.router.invalidate()

    def _add_own(self, path: str, endpoint: Callable[..., Any], methods: list[str], name: str) -> None:
        """One of turnout's own endpoints (metrics, admin API): in the table, but never a switch."""
        self._add_native(Route(path, endpoint, methods=methods, name=name), own=True)

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

    def configure_switch(
        self,
        route: str,
        state: str = "new",
        *,
        percent: float | None = None,
        sticky: str = "cookie",
        idempotent: bool = False,
        ignore_fields: Sequence[str] = (),
        ignore_headers: Sequence[str] = (),
        noise_sample: float = NOISE_SAMPLE,
        rollback: Thresholds | None = None,
    ) -> None:
        """Declare the switch of a route that both sides serve: its state at start-up, and its options.

        ```python
        app.configure_switch("product_v2", "shadow", ignore_fields=["generated_at"])
        app.configure_switch("shop:cart", "canary 10%", sticky="session:_user_id")
        ```
        `route` is the new route's name, its pattern, or the legacy `mount:endpoint` it pairs with.
        A route that is not served by both sides fails when the table is built (at start-up).
        See `SwitchOptions` for what each option does; `app.switches` changes states at run time.
        """
        try:
            options = SwitchOptions(
                setting=Setting.parse(state, percent),
                sticky=Sticky.parse(sticky),
                idempotent=idempotent,
                ignore_fields=tuple(ignore_fields),
                ignore_headers=tuple(ignore_headers),
                noise_sample=noise_sample,
                rollback=rollback if rollback is not None else Thresholds(),
            )
        except ValueError as exc:
            raise SwitchError(f"switch {route!r}: {exc}") from None
        self.router.switches.declare(route, options)
        self.router.invalidate()

    # -- reading ----------------------------------------------------------------------------

    @property
    def switches(self) -> Switchboard:
        """Every switch: a route that both sides serve, and which side serves it (see `Switchboard`)."""
        self.router.table  # noqa: B018 - the switches are made with the table
        return self.router.switches

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
