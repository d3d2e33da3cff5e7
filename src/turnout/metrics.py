"""Prometheus metrics for both sides, labelled by route template, never by raw path.

Off by default. `Turnout(metrics_path="/metrics")` turns it on; the endpoint answers only
clients in `metrics_allow` (loopback by default) or with `Authorization: Bearer <metrics_token>`.

Families:
- `turnout_requests_total` and `turnout_request_duration_seconds`, by `route` (the template),
  `method`, `status` (`2xx`...), `side` and `mount`;
- per WSGI mount: `turnout_legacy_threads_busy`, `turnout_legacy_requests_queued`,
  `turnout_legacy_threads_stuck` (gauges) and `turnout_legacy_queue_wait_seconds` (histogram).

- per switch (a route both sides serve): `turnout_switch_new_share` (0 for legacy and shadow,
  the canary's share, 1 for new), `turnout_switch_rolled_back` (1 while an automatic rollback
  holds), `turnout_switch_rollbacks_total`, and `turnout_shadow_requests_total` by `outcome`
  (`matched`, `mismatched`, `dropped`, `skipped`).

Under `--workers N`, `turnout serve` sets `PROMETHEUS_MULTIPROC_DIR`, and every worker's figures
are summed at each scrape (prometheus_client's multiprocess mode).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from turnout.errors import error_response
from turnout.exceptions import ConfigError
from turnout.middleware.record import RequestRecord
from turnout.operator_access import OperatorAccess

if TYPE_CHECKING:
    from turnout.bridge.mount import WSGIMount
    from turnout.switch.board import Change, Outcome, Switch, Switchboard

_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
_LABELS = ("route", "method", "status", "side", "mount")
MULTIPROCESS = "PROMETHEUS_MULTIPROC_DIR"


class Metrics:
    """An observer of requests that keeps the metric families, and the endpoint that serves them."""

    def __init__(
        self,
        mounts: Sequence[WSGIMount],
        *,
        token: str | None = None,
        allow: Iterable[str] = ("127.0.0.1", "::1"),
    ) -> None:
        try:
            from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
        except ImportError:  # pragma: no cover - the dev extra has it
            raise ConfigError(
                "metrics need the prometheus_client package", fix="pip install 'turnout[metrics]'"
            ) from None

        self.mounts = mounts
        self.board: Switchboard | None = None
        self.access = OperatorAccess(token, allow)
        self.multiprocess = bool(os.environ.get(MULTIPROCESS))
        # In multiprocess mode the values live in files and a registry is made at each scrape.
        self.registry: Any = None if self.multiprocess else CollectorRegistry()
        registry = self.registry
        self.requests = Counter("turnout_requests_total", "Requests, by route template.", _LABELS, registry=registry)
        self.duration = Histogram(
            "turnout_request_duration_seconds", "Request duration, by route template.", _LABELS, registry=registry
        )
        self.queue_wait = Histogram(
            "turnout_legacy_queue_wait_seconds",
            "Time legacy requests waited for a thread.",
            ["mount"],
            registry=registry,
        )
        mode: dict[str, Any] = {"multiprocess_mode": "livesum"} if self.multiprocess else {}
        self.busy = Gauge(
            "turnout_legacy_threads_busy", "Legacy threads running a request.", ["mount"], registry=registry, **mode
        )
        self.queued = Gauge(
            "turnout_legacy_requests_queued",
            "Legacy requests waiting for a thread.",
            ["mount"],
            registry=registry,
            **mode,
        )
        self.stuck = Gauge(
            "turnout_legacy_threads_stuck",
            "Legacy threads still running past their timeout.",
            ["mount"],
            registry=registry,
            **mode,
        )

        latest: dict[str, Any] = {"multiprocess_mode": "livemax"} if self.multiprocess else {}
        self.new_share = Gauge(
            "turnout_switch_new_share",
            "Share of a route's users that its switch sends to the new side.",
            ["route"],
            registry=registry,
            **latest,
        )
        self.rolled_back = Gauge(
            "turnout_switch_rolled_back",
            "1 while a route is held on the legacy side by an automatic rollback.",
            ["route"],
            registry=registry,
            **latest,
        )
        self.rollbacks = Counter(
            "turnout_switch_rollbacks_total", "Automatic rollbacks, by route.", ["route"], registry=registry
        )
        self.shadows = Counter(
            "turnout_shadow_requests_total",
            "Shadowed requests, by route and outcome.",
            ["route", "outcome"],
            registry=registry,
        )

    def watch(self, board: Switchboard) -> None:
        """Keep the switch families up to date with `board`."""
        self.board = board
        board.observers.append(self)

    def changed(self, switch: Switch, change: Change) -> None:
        self._update_switch_gauges((switch,))
        if change.automatic:
            self.rollbacks.labels(switch.name).inc()

    def outcome(self, switch: Switch, outcome: Outcome) -> None:
        self.shadows.labels(switch.name, outcome).inc()

    def __call__(self, record: RequestRecord) -> None:
        method = record.method if record.method in _METHODS else "OTHER"
        labels = (record.template, method, f"{record.status // 100}xx", record.side, record.mount)
        self.requests.labels(*labels).inc()
        self.duration.labels(*labels).observe(record.duration)
        if record.queue_wait is not None and record.route is not None and record.route.side == "wsgi":
            self.queue_wait.labels(record.mount).observe(record.queue_wait)
        self._update_gauges()

    def _update_gauges(self) -> None:
        for mount in self.mounts:
            budget = mount.budget
            self.busy.labels(mount.name).set(budget.running - budget.stuck)
            self.queued.labels(mount.name).set(budget.waiting)
            self.stuck.labels(mount.name).set(budget.stuck)

    def _update_switch_gauges(self, switches: Iterable[Switch]) -> None:
        # States change seldom: set at each change and at each scrape, not at each request.
        for switch in switches:
            setting = switch.setting
            share = {"new": 1.0, "canary": setting.percent / 100}.get(setting.state, 0.0)
            self.new_share.labels(switch.name).set(share)
            self.rolled_back.labels(switch.name).set(0 if switch.rolled_back is None else 1)

    def allowed(self, request: Request) -> bool:
        """Whether `request` may read the metrics: from an allowed address, or with the token."""
        return self.access.has_token(request) or self.access.from_allowed_address(request)

    async def endpoint(self, request: Request) -> Response:
        """The metrics endpoint, in Prometheus' text format."""
        from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

        if not self.allowed(request):
            return error_response(request.scope, 403, "The metrics are not open to this client.")
        self._update_gauges()
        self._update_switch_gauges(self.board or ())
        registry = self.registry
        if registry is None:
            from prometheus_client import multiprocess

            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
