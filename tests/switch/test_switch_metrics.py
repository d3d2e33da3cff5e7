"""The switch families of the Prometheus endpoint: new share, shadow outcomes and rollbacks, per route."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.switch.pair_app import LEGACY, NEW, never_lagging, settle, shop_app
from turnout import Thresholds, Turnout
from turnout.switch.shadow import BODY_LIMIT
from turnout.testing import client

pytestmark = pytest.mark.anyio


async def scrape(http: httpx.AsyncClient, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """The samples called `name` on the metrics endpoint, by their sorted labels."""
    response = await http.get("/metrics")
    assert response.status_code == 200
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            if sample.name == name:
                found[tuple(sorted(sample.labels.items()))] = sample.value
    return found


def route(name: str, **labels: str) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({"route": name, **labels}.items()))


ITEM = route("item_v2")


async def test_the_new_share_follows_the_switch() -> None:
    app = shop_app(metrics_path="/metrics")
    async with client(app) as http:
        assert (await scrape(http, "turnout_switch_new_share"))[ITEM] == 1.0  # a pair starts at new
        for state, share in [("canary 10%", 0.1), ("canary 55.5%", 0.555), ("shadow", 0.0), ("legacy", 0.0)]:
            app.switches.set("item_v2", state, who="test")
            assert (await scrape(http, "turnout_switch_new_share"))[ITEM] == pytest.approx(share), state
        app.switches.set("item_v2", "new", who="test")
        assert (await http.get("/shop/items/1")).headers["x-served-by"] == NEW
        shares = await scrape(http, "turnout_switch_new_share")
    assert shares == {ITEM: 1.0}  # one series per switch, not per path, and none for routes that are not pairs


async def test_shadow_outcomes_are_counted_per_route() -> None:
    app = shop_app(metrics_path="/metrics")
    never_lagging(app)
    app.switches.set("item_v2", "shadow", who="test")
    async with client(app) as http:
        for id in range(1, 8):  # odd items differ in price: 1, 3, 5 and 7
            response = await http.get(f"/shop/items/{id}")
            assert response.headers["x-served-by"] == LEGACY
            await settle(app)
        shadows = await scrape(http, "turnout_shadow_requests_total")
        assert (await scrape(http, "turnout_switch_new_share"))[ITEM] == 0.0
    assert shadows[route("item_v2", outcome="mismatched")] == 4
    assert shadows[route("item_v2", outcome="matched")] == 3
    assert app.switches["item_v2"].outcomes == {"matched": 3, "mismatched": 4, "dropped": 0, "skipped": 0}


async def test_a_request_too_large_to_replay_is_counted_as_skipped() -> None:
    app = shop_app(metrics_path="/metrics")
    never_lagging(app)
    app.switches.set("item_v2", "shadow", who="test")
    async with client(app) as http:
        response = await http.request("GET", "/shop/items/2", content=b"x" * (BODY_LIMIT + 1))
        assert (response.status_code, response.headers["x-served-by"]) == (200, LEGACY)
        await settle(app)
        shadows = await scrape(http, "turnout_shadow_requests_total")
    assert shadows == {route("item_v2", outcome="skipped"): 1}
    assert app.switches["item_v2"].shadowed == 0  # the new side never saw it


async def test_an_automatic_rollback_is_counted_and_held() -> None:
    async def failing(request: Request) -> Response:
        return JSONResponse({"error": "database down"}, status_code=503)

    app: Turnout = shop_app(item=failing, metrics_path="/metrics")
    app.configure_switch("item_v2", "new", rollback=Thresholds(min_requests=1, p99_ratio=None))
    async with client(app) as http:
        assert await scrape(http, "turnout_switch_rollbacks_total") == {}
        first = await http.get("/shop/items/1")
        assert (first.status_code, first.headers["x-served-by"]) == (503, NEW)  # this one still reached the new side
        for _ in range(3):  # then the route is back on the legacy side, and stays there
            assert (await http.get("/shop/items/1")).headers["x-served-by"] == LEGACY
        rollbacks = await scrape(http, "turnout_switch_rollbacks_total")
        held = await scrape(http, "turnout_switch_rolled_back")
        share = await scrape(http, "turnout_switch_new_share")
    assert rollbacks == {ITEM: 1}
    assert held == {ITEM: 1}
    assert share == {ITEM: 0.0}
    assert app.switches.history[-1].automatic


async def test_a_manual_move_is_not_a_rollback() -> None:
    app = shop_app(metrics_path="/metrics")
    async with client(app) as http:
        app.switches.set("item_v2", "legacy", who="alice", why="price bug")
        assert (await http.get("/shop/items/1")).headers["x-served-by"] == LEGACY
        assert await scrape(http, "turnout_switch_rollbacks_total") == {}
        assert await scrape(http, "turnout_switch_rolled_back") == {ITEM: 0}
