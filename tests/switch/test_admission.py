"""Shadow admission: decided before the legacy side runs, bounded in rate, and always given back."""

from __future__ import annotations

import pytest

from tests.switch.pairs import Shop, build, shadows_done, steady
from turnout.testing import client


@pytest.mark.anyio
async def test_shadows_beyond_the_rate_are_dropped_and_cost_the_request_nothing() -> None:
    shop = Shop()
    app = steady(build(shop, shadow_max_per_second=3))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        for i in range(10):
            response = await http.get(f"/shop/items/{i}")
            assert response.json()["side"] == "legacy"
        await shadows_done(app)
    outcomes = app.switches["item_v2"].outcomes
    # The bucket holds three: at most a fourth trickles in while the requests run.
    assert 3 <= len([c for c in shop.new_calls if c.method == "GET"]) <= 4
    assert outcomes["dropped"] == 10 - len(shop.new_calls)
    assert app.router.shadows.in_flight == 0


@pytest.mark.anyio
async def test_a_primary_that_fails_gives_its_place_back() -> None:
    shop = Shop()
    app = steady(build(shop, shadow_max_in_flight=1))
    app.configure_switch("item_v2", "shadow", noise_sample=0)

    async def broken(scope: object, receive: object, send: object) -> None:
        raise RuntimeError("the legacy mount fell over")

    async with client(app, raise_app_exceptions=False) as http:
        mount = app.wsgi_mounts[0]
        handle = mount.handle
        setattr(mount, "handle", lambda scope, receive, send, raw: broken(scope, receive, send))  # noqa: B010
        assert (await http.get("/shop/items/1")).status_code == 500
        setattr(mount, "handle", handle)  # noqa: B010
        assert app.router.shadows.in_flight == 0
        assert app.switches["item_v2"].outcomes["skipped"] == 1
        assert (await http.get("/shop/items/2")).json()["side"] == "legacy"
        await shadows_done(app)
    assert [c.path for c in shop.new_calls] == ["/shop/items/2"]


@pytest.mark.anyio
async def test_a_shadow_call_is_not_counted_as_a_request_the_governor_makes_room_for() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        for i in range(3):
            assert (await http.get(f"/shop/items/{i}")).json()["side"] == "legacy"
        await shadows_done(app)
        assert len(shop.new_calls) == 3
        assert app.router.served == 0  # else the governor would throttle the legacy side for them
