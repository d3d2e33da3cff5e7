"""Each state of a switch, on a real pair: a legacy Flask shop and new Starlette endpoints in one `Turnout`.

`legacy`, `new`, `canary N%` and `shadow` pick the side that answers; under `shadow` the new side
gets a copy of the request in the background, after the user's answer, and what differs is kept
in `switch.mismatches`. Writes are never shadowed unless the route says they are idempotent.
"""

from __future__ import annotations

import asyncio
import time

import anyio
import httpx
import pytest

from tests.switch.pairs import (
    LEGACY_PRICE,
    NO_LATENCY_ROLLBACK,
    SECRET,
    WRITES,
    Call,
    Shop,
    build,
    served_by,
    shadows_done,
    steady,
)
from turnout.exceptions import SwitchError
from turnout.lifespan import LifespanError
from turnout.sessions import FlaskCookieCodec
from turnout.switch.canary import COOKIE, in_canary
from turnout.switch.state import Setting
from turnout.testing import client, run_server

ITEM = "/shop/items/3"


def legacy_item(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert served_by(response) == "legacy"
    assert response.json() == {"id": 3, "name": "tea", "price": 10, "side": "legacy", "q": None, "body": ""}


def new_item(response: httpx.Response) -> None:
    assert response.status_code == 200
    assert served_by(response) == "new"
    assert response.json() == {"id": 3, "name": "tea", "price": 10, "side": "new", "q": None, "body": ""}


# -- which side answers ---------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_pair_is_on_new_by_default() -> None:
    shop = Shop()
    app = build(shop)
    assert app.switches["item_v2"].setting == Setting("new")
    async with client(app) as http:
        new_item(await http.get(ITEM))
        # A route that only the legacy side has is not switched: the legacy side serves it.
        index = await http.get("/shop/")
    assert index.text == "legacy index" and index.headers["x-served-by"] == "wsgi:shop"
    assert shop.legacy_calls == []
    assert app.switches["item_v2"].served == {"legacy": 0, "new": 1}


@pytest.mark.anyio
async def test_legacy_serves_every_method_from_the_legacy_side() -> None:
    shop = Shop()
    app = build(shop)
    app.configure_switch("item_v2", "legacy")
    async with client(app) as http:
        legacy_item(await http.get(ITEM))
        written = await http.put(ITEM, content=b"green")
    assert written.headers["x-served-by"] == "wsgi:shop" and written.json()["body"] == "green"
    assert shop.new_calls == []
    assert [c.method for c in shop.legacy_calls] == ["GET", "PUT"]


@pytest.mark.anyio
async def test_new_serves_every_method_from_the_new_side() -> None:
    shop = Shop()
    app = build(shop)
    app.configure_switch("item_v2", "new")
    async with client(app) as http:
        new_item(await http.get(ITEM))
        written = await http.put(ITEM, content=b"green")
    assert written.headers["x-served-by"] == "asgi:item_v2" and written.json()["body"] == "green"
    assert shop.legacy_calls == []


@pytest.mark.anyio
async def test_a_canary_serves_its_users_from_the_side_their_cookie_picks() -> None:
    shop = Shop()
    app = build(shop)
    app.configure_switch("item_v2", "canary 50%", rollback=NO_LATENCY_ROLLBACK)
    users = [f"user-{n}" for n in range(40)]
    sides: dict[str, str] = {}
    async with client(app) as http:
        for user in users:
            response = await http.get(ITEM, headers={"Cookie": f"{COOKIE}={user}"})
            sides[user] = served_by(response)
            (new_item if sides[user] == "new" else legacy_item)(response)
    assert sides == {user: "new" if in_canary("c:" + user, 50) else "legacy" for user in users}
    assert set(sides.values()) == {"legacy", "new"}


@pytest.mark.anyio
async def test_shadow_answers_from_the_legacy_side() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        legacy_item(await http.get(ITEM))
        await shadows_done(app)
    assert app.switches["item_v2"].served == {"legacy": 1, "new": 0}


@pytest.mark.anyio
async def test_a_state_set_at_run_time_applies_to_the_next_request() -> None:
    shop = Shop()
    app = build(shop)
    async with client(app) as http:
        new_item(await http.get(ITEM))
        change = app.switches.set("item_v2", "legacy", who="alice", why="a bug in the new price")
        legacy_item(await http.get(ITEM))
        app.switches.set("item_v2", "new", who="alice", why="fixed")
        new_item(await http.get(ITEM))
    assert (change.before, change.after, change.who, change.automatic) == ("new", "legacy", "alice", False)
    assert [c.after for c in app.switches.history] == ["legacy", "new"]


# -- naming a switch ------------------------------------------------------------------------------


def test_a_switch_is_found_by_name_pattern_and_legacy_endpoint() -> None:
    switches = build(Shop()).switches
    switch = switches["item_v2"]
    assert switches["/shop/items/{id:int}"] is switch
    assert switches["shop:item"] is switch
    assert switch.legacy_endpoints == ["shop:item"]
    assert sorted(s.name for s in switches) == ["item_v2", "stamp_v2", "visits_v2"]


@pytest.mark.anyio
@pytest.mark.parametrize("ref", ["/shop/items/{id:int}", "shop:item"])
async def test_a_switch_can_be_configured_and_set_by_pattern_or_legacy_endpoint(ref: str) -> None:
    app = build(Shop())
    app.configure_switch(ref, "legacy")
    async with client(app) as http:
        legacy_item(await http.get(ITEM))
        app.switches.set(ref, "new")
        new_item(await http.get(ITEM))


@pytest.mark.anyio
@pytest.mark.parametrize("ref", ["shop:index", "/shop/", "item_v3"])
async def test_configuring_a_route_that_is_not_a_pair_fails_at_start_up_listing_the_switches(ref: str) -> None:
    app = build(Shop())
    app.configure_switch(ref, "shadow")
    with pytest.raises(SwitchError) as caught:
        app.switches  # noqa: B018 - the switches are made with the table
    message = str(caught.value)
    assert repr(ref) in message
    assert "switches: item_v2, stamp_v2, visits_v2" in message
    with pytest.raises(LifespanError, match="switches: item_v2, stamp_v2, visits_v2"):
        async with client(app):
            pass


def test_an_unknown_switch_or_state_at_run_time_says_what_exists() -> None:
    switches = build(Shop()).switches
    with pytest.raises(SwitchError, match="switches: item_v2, stamp_v2, visits_v2"):
        switches.set("shop:index", "new")
    with pytest.raises(SwitchError, match="canary N%"):
        switches.set("item_v2", "sideways")
    assert switches["item_v2"].setting == Setting("new")


# -- shadow ---------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_shadow_replays_the_request_on_the_new_side_after_the_answer() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    # The new side answers only once the user has the legacy answer: were the user waiting for
    # the shadow, the request would never end.
    shop.new_gate = release = asyncio.Event()
    async with client(app) as http:
        with anyio.fail_after(2):
            response = await http.get(ITEM + "?q=blue%20tea")
        assert response.json()["side"] == "legacy" and response.json()["q"] == "blue tea"
        release.set()
        await shadows_done(app)
    switch = app.switches["item_v2"]
    assert shop.new_calls == [Call("GET", ITEM, "q=blue%20tea", b"")]
    assert switch.outcomes["mismatched"] == 1 and switch.shadowed == 1
    [mismatch] = switch.mismatches
    assert mismatch.request_id == response.headers["x-request-id"]
    assert (mismatch.method, mismatch.path) == ("GET", ITEM + "?q=blue%20tea")
    assert [(d.where, d.legacy, d.new) for d in mismatch.differences] == [("$.side", '"legacy"', '"new"')]
    assert mismatch.legacy.body == response.content
    assert mismatch.new.status == 200 and b'"side":"new"' in mismatch.new.body


@pytest.mark.anyio
async def test_shadow_records_every_difference_with_both_bodies() -> None:
    shop = Shop()
    shop.new_price = 12
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    responses = []
    async with client(app) as http:
        for n in (1, 2):
            responses.append(await http.get(f"/shop/items/{n}"))
            await shadows_done(app)  # one at a time: mismatches are kept in the order their shadows end
    switch = app.switches["item_v2"]
    assert switch.outcomes == {"matched": 0, "mismatched": 2, "dropped": 0, "skipped": 0}
    assert [m.request_id for m in switch.mismatches] == [r.headers["x-request-id"] for r in responses]
    first = switch.mismatches[0].to_dict()
    assert first["path"] == "/shop/items/1"
    assert [(d["where"], d["legacy"], d["new"]) for d in first["differences"]] == [
        ("$.price", str(LEGACY_PRICE), "12"),
        ("$.side", '"legacy"', '"new"'),
    ]
    assert '"price":10' in first["legacy"]["body"] and '"side":"legacy"' in first["legacy"]["body"]
    assert '"price":12' in first["new"]["body"] and '"side":"new"' in first["new"]["body"]


@pytest.mark.anyio
async def test_an_ignore_rule_removes_a_field_difference() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", ignore_fields=["side"], noise_sample=0)
    async with client(app) as http:
        await http.get(ITEM)
        await shadows_done(app)
        shop.new_price = 12  # a difference the rule does not cover is still reported
        await http.get(ITEM)
        await shadows_done(app)
    switch = app.switches["item_v2"]
    assert switch.outcomes["matched"] == 1 and switch.outcomes["mismatched"] == 1
    [mismatch] = switch.mismatches
    assert [d.where for d in mismatch.differences] == ["$.price"]


@pytest.mark.anyio
async def test_learned_noise_is_not_reported() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("stamp_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        for _ in range(3):
            await http.get("/shop/stamp")
            await shadows_done(app)
        shop.new_stamp_value = 2
        await http.get("/shop/stamp")
        await shadows_done(app)
    switch = app.switches["stamp_v2"]
    assert "$.generated_at" in switch.noise.fields
    assert switch.outcomes["matched"] == 3 and switch.outcomes["mismatched"] == 1
    [mismatch] = switch.mismatches
    assert [d.where for d in mismatch.differences] == ["$.value"]  # not the timestamp


@pytest.mark.anyio
@pytest.mark.parametrize("method", WRITES)
async def test_a_write_under_shadow_never_reaches_the_new_side(method: str) -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        response = await http.request(method, ITEM, content=b"" if method == "DELETE" else b"green")
        await asyncio.sleep(0.05)  # a shadow, had one been started, would have run by now
        await shadows_done(app)
    assert response.status_code == 200 and served_by(response) == "legacy"
    assert shop.new_calls == []
    assert [c.method for c in shop.legacy_calls] == [method]
    switch = app.switches["item_v2"]
    assert switch.shadowed == 0
    assert switch.outcomes == {"matched": 0, "mismatched": 0, "dropped": 0, "skipped": 0}


@pytest.mark.server
def test_an_idempotent_route_shadows_a_put_with_the_same_body() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", idempotent=True, ignore_fields=["side"], noise_sample=0)
    with run_server(app) as base:
        response = httpx.put(base + ITEM + "?q=1", content=b'{"colour": "green"}')
        deadline = time.monotonic() + 5
        while app.switches["item_v2"].outcomes["matched"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
    assert response.json()["body"] == '{"colour": "green"}' and served_by(response) == "legacy"
    assert shop.new_calls == [Call("PUT", ITEM, "q=1", b'{"colour": "green"}')]
    assert app.switches["item_v2"].outcomes == {"matched": 1, "mismatched": 0, "dropped": 0, "skipped": 0}


@pytest.mark.anyio
async def test_an_idempotent_put_is_shadowed_when_the_body_ends_with_an_empty_message() -> None:
    shop = Shop()
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", idempotent=True, ignore_fields=["side"], noise_sample=0)
    async with client(app) as http:  # ASGITransport sends the body, then {"body": b"", "more_body": False}
        response = await http.put(ITEM + "?q=1", content=b'{"colour": "green"}')
        await shadows_done(app)
    assert response.json()["body"] == '{"colour": "green"}'
    assert app.switches["item_v2"].outcomes["skipped"] == 0
    assert shop.new_calls == [Call("PUT", ITEM, "q=1", b'{"colour": "green"}')]


def set_session(response: httpx.Response) -> str:
    """The shared session cookie's new value that `response` sets."""
    headers = response.headers.get_list("set-cookie")
    [value] = [h.partition("=")[2].split(";")[0] for h in headers if h.startswith("session=")]
    return value


def session_data(cookie: str) -> dict[str, object]:
    loaded = FlaskCookieCodec([SECRET]).loads(cookie)
    assert loaded is not None
    return loaded[0]


@pytest.mark.anyio
async def test_a_shadow_writing_the_session_does_not_change_the_users_session() -> None:
    shop = Shop()
    app = steady(build(shop, sessions=True))
    app.configure_switch("visits_v2", "shadow", noise_sample=0)
    cookie = FlaskCookieCodec([SECRET]).dumps({"visits": 4})
    async with client(app) as http:
        first = await http.get("/shop/visits", headers={"Cookie": f"session={cookie}"})
        await shadows_done(app)
        second = await http.get("/shop/visits", headers={"Cookie": f"session={set_session(first)}"})
        await shadows_done(app)
    # The new side ran in the background, and wrote to the session it was given...
    assert len(shop.new_saw_sessions) == 2
    # ...but the user's session has only the legacy side's writes: one visit per request.
    assert (first.json(), second.json()) == ({"visits": 5}, {"visits": 6})
    assert session_data(set_session(first)) == {"visits": 5}
    assert session_data(set_session(second)) == {"visits": 6}


@pytest.mark.anyio
async def test_the_shadow_sees_the_session_the_request_brought() -> None:
    shop = Shop()
    app = steady(build(shop, sessions=True))
    app.configure_switch("visits_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        for _ in range(3):
            await http.get("/shop/visits")
            await shadows_done(app)
    # Both sides count visits the same way; replayed with the same session, they agree.
    assert [seen.get("visits") for seen in shop.new_saw_sessions] == [None, 1, 2]
    switch = app.switches["visits_v2"]
    assert switch.noise.fields == frozenset()  # the legacy side answers the same request the same way
    assert switch.outcomes["matched"] == 3


# -- shadow failures never reach the user ---------------------------------------------------------


@pytest.mark.anyio
async def test_a_slow_new_side_under_shadow_does_not_slow_the_user() -> None:
    shop = Shop()
    shop.new_delay = 2.0
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", noise_sample=0)
    async with client(app) as http:
        await http.get("/shop/")  # the legacy thread pool is warm
        started = time.perf_counter()
        response = await http.get(ITEM)
        elapsed = time.perf_counter() - started
        await asyncio.sleep(0.05)
        assert app.router.shadows.in_flight == 1  # still running in the background
    legacy_item(response)
    assert elapsed < 1.0
    assert shop.new_finished == 0  # the shutdown cancelled it


@pytest.mark.anyio
async def test_a_crashing_new_side_under_shadow_is_recorded_as_a_500() -> None:
    shop = Shop()
    shop.new_raises = True
    app = steady(build(shop))
    app.configure_switch("item_v2", "shadow", ignore_fields=["side"], noise_sample=0)
    async with client(app) as http:
        response = await http.get(ITEM)
        await shadows_done(app)
    legacy_item(response)
    [mismatch] = app.switches["item_v2"].mismatches
    assert mismatch.new.status == 500
    assert b"RuntimeError: the new item code is broken" in mismatch.new.body
    assert [(d.where, d.legacy, d.new) for d in mismatch.differences][0] == ("status", "200", "500")


@pytest.mark.anyio
async def test_a_shadow_over_its_timeout_is_recorded_as_a_504_and_ends() -> None:
    shop = Shop()
    shop.new_delay = 2.0
    app = steady(build(shop, shadow_timeout=0.2))
    assert app.router.shadows.timeout == 0.2
    app.configure_switch("item_v2", "shadow", ignore_fields=["side"], noise_sample=0)
    async with client(app) as http:
        response = await http.get(ITEM)
        started = time.perf_counter()
        await shadows_done(app, timeout=1.5)
        ended = time.perf_counter() - started
    legacy_item(response)
    assert ended < 1.0
    assert shop.new_calls and shop.new_finished == 0
    [mismatch] = app.switches["item_v2"].mismatches
    assert mismatch.new.status == 504
    assert [(d.where, d.legacy, d.new) for d in mismatch.differences][0] == ("status", "200", "504")


@pytest.mark.anyio
async def test_shadows_are_bounded_and_the_rest_dropped() -> None:
    shop = Shop()
    shop.new_delay = 0.5
    app = steady(build(shop, shadow_max_in_flight=1))
    app.configure_switch("item_v2", "shadow", ignore_fields=["side"], noise_sample=0)
    most = 0
    async with client(app) as http:
        responses = await asyncio.gather(*(http.get(f"/shop/items/{n}") for n in range(8)))
        with anyio.fail_after(5):
            while app.router.shadows.in_flight:
                most = max(most, app.router.shadows.in_flight)
                await asyncio.sleep(0.005)
    assert [r.status_code for r in responses] == [200] * 8
    assert all(served_by(r) == "legacy" for r in responses)
    outcomes = app.switches["item_v2"].outcomes
    assert outcomes["dropped"] >= 1
    assert outcomes["matched"] + outcomes["dropped"] == 8
    assert most <= 1 and shop.new_most_running == 1
    assert len(shop.new_calls) == outcomes["matched"]
