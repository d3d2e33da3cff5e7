"""What one request was, once its response is done: the record that the access log and metrics read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from turnout.routing.table import RouteEntry

ROUTE = "turnout.route"  # the scope key where the router leaves the matched `RouteEntry`
QUEUE_WAIT = "turnout.queue_wait"  # the scope key where the bridge leaves the seconds waited for a thread


@dataclass(frozen=True, slots=True)
class RequestRecord:
    """One finished request. `route` is `None` when no route matched (a 404 from turnout)."""

    method: str
    path: str
    query: str
    status: int
    bytes_sent: int
    duration: float
    queue_wait: float | None
    route: RouteEntry | None
    request_id: str
    client: str | None

    @property
    def template(self) -> str:
        """The route's pattern (never the raw path, which is unbounded), or `-` when none matched."""
        return self.route.pattern if self.route is not None else "-"

    @property
    def side(self) -> str:
        return self.route.side if self.route is not None else "-"

    @property
    def mount(self) -> str:
        return (self.route.owner or "-") if self.route is not None else "-"


Observer = Callable[[RequestRecord], None]
